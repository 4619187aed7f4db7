import Testing
@testable import RootlessNetns

@Suite struct Slirp4netnsArgumentTests {
    func args(_ extra: String = "", features: Slirp4netnsBackend.Features = .init(sandbox: false, seccomp: false)) throws -> [String] {
        Slirp4netnsBackend.arguments(config: try parseConfig(extra), features: features,
                                     apiSocket: "/st/slirp4netns.sock", readyFD: 3, netnsPath: "/ns/rootless-netns-x")
    }

    @Test func defaults() throws {
        #expect(try args() == ["--configure", "--mtu=65520", "--cidr=10.0.2.0/24", "--disable-host-loopback",
                               "--api-socket", "/st/slirp4netns.sock", "-r", "3",
                               "--netns-type=path", "/ns/rootless-netns-x", "tap0"])
    }

    @Test func everything() throws {
        let a = try args(#""mtu":1500,"cidr":"10.9.0.0/16","enableIPv6":true,"allowHostLoopback":true,"#,
                         features: .init(sandbox: true, seccomp: true))
        #expect(a == ["--configure", "--mtu=1500", "--cidr=10.9.0.0/16", "--enable-ipv6",
                      "--enable-sandbox", "--enable-seccomp",
                      "--api-socket", "/st/slirp4netns.sock", "-r", "3",
                      "--netns-type=path", "/ns/rootless-netns-x", "tap0"])
    }

    @Test func flagsPerConfig() throws {
        #expect(!(try args(#""allowHostLoopback":true,"#)).contains("--disable-host-loopback"))
        #expect(!(try args()).contains("--enable-ipv6"))
        #expect(try args(#""enableIPv6":true,"#).contains("--enable-ipv6"))
        let sandboxOnly = try args(features: .init(sandbox: true, seccomp: false))
        #expect(sandboxOnly.contains("--enable-sandbox") && !sandboxOnly.contains("--enable-seccomp"))
        let seccompOnly = try args(features: .init(sandbox: false, seccomp: true))
        #expect(!seccompOnly.contains("--enable-sandbox") && seccompOnly.contains("--enable-seccomp"))
    }

    @Test func endsWithNetnsAndTap() throws {
        for a in [try args(), try args(#""enableIPv6":true,"#, features: .init(sandbox: true, seccomp: true))] {
            #expect(Array(a.suffix(3)) == ["--netns-type=path", "/ns/rootless-netns-x", "tap0"])
            #expect(a.first == "--configure")
        }
    }

    @Test func dnsServers() throws {
        let b = Slirp4netnsBackend(binary: "/usr/bin/slirp4netns")
        #expect(b.kind == .slirp4netns)
        #expect(b.dnsServers(try parseConfig()) == ["10.0.2.3"])
        #expect(b.dnsServers(try parseConfig(#""cidr":"10.1.2.0/24","enableIPv6":true,"#)) == ["10.1.2.3", "fd00::3"])
    }
}

@Suite struct PastaArgumentTests {
    func args(_ extra: String = "", _ f: PastaBackend.Features = .init(dnsForward: false, noMapGW: false, mapGuestAddr: false)) throws -> [String] {
        PastaBackend.arguments(config: try parseConfig(extra), features: f, netnsPath: "/ns/x", pidFile: "/st/helper.pid")
    }

    @Test func defaultsWithoutFeatures() throws {
        #expect(try args() == ["--config-net", "--netns", "/ns/x", "--pid", "/st/helper.pid", "--quiet",
                               "--mtu", "65520", "-t", "none", "-u", "none", "-T", "none", "-U", "none", "-4"])
    }

    @Test func noForwardsByDefault() throws {
        let a = try args()
        let joined = a.joined(separator: " ")
        #expect(joined.contains("-t none -u none -T none -U none"))
    }

    @Test func ipv4OnlyWithoutIPv6() throws {
        #expect(try args().contains("-4"))
        #expect(!(try args(#""enableIPv6":true,"#)).contains("-4"))
    }

    /// --no-map-gw: only when the binary supports it and host loopback is not allowed.
    @Test func noMapGW() throws {
        let supported = PastaBackend.Features(dnsForward: false, noMapGW: true, mapGuestAddr: false)
        #expect(try args("", supported).contains("--no-map-gw"))
        #expect(!(try args(#""allowHostLoopback":true,"#, supported)).contains("--no-map-gw"))
        #expect(!(try args()).contains("--no-map-gw"))
        #expect(!(try args(#""allowHostLoopback":true,"#)).contains("--no-map-gw"))
    }

    @Test func dnsForwardWhenSupported() throws {
        let f = PastaBackend.Features(dnsForward: true, noMapGW: true, mapGuestAddr: true)
        let a = try args(#""mtu":9000,"#, f)
        #expect(a.contains("--mtu") && a[a.firstIndex(of: "--mtu")! + 1] == "9000")
        let i = try #require(a.firstIndex(of: "--dns-forward"))
        #expect(a[i + 1] == PastaBackend.dnsForwardAddress)
        #expect(!(try args()).contains("--dns-forward"))
    }

    @Test func kind() {
        #expect(PastaBackend(binary: "/usr/bin/pasta").kind == .pasta)
    }
}
