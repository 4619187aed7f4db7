import Foundation
import Testing

/// State v2 acceptance: three networks (different delegates) share the default state dir, as
/// podman's networks share one rootless netns. ADD, GC and DEL of each leave the others'
/// containers pinging. Real bridge/ptp + host-local + portmap/firewall/tuning, slirp4netns.
@Suite("rootless-netns: networks sharing one state dir", .serialized)
struct RootlessMultiNetworkTests {
    struct Network {
        var name: String
        var subnet: String
        var delegates: [[String: Any]]
    }

    static func ipam(_ subnet: String) -> [String: Any] {
        ["type": "host-local", "ranges": [[["subnet": subnet]]], "routes": [["dst": "0.0.0.0/0"]]]
    }

    static var networks: [Network] { [
        Network(name: "mnet1", subnet: "10.89.11.0/24", delegates: [
            ["type": "bridge", "bridge": "cni-mn1", "mtu": 65520, "isGateway": true, "ipMasq": true, "ipam": ipam("10.89.11.0/24")],
            ["type": "portmap", "capabilities": ["portMappings": true]],
            ["type": "firewall", "backend": "iptables"],
            ["type": "tuning"],
        ]),
        Network(name: "mnet2", subnet: "10.89.12.0/24", delegates: [
            ["type": "bridge", "bridge": "cni-mn2", "mtu": 65520, "isGateway": true, "ipam": ipam("10.89.12.0/24")],
        ]),
        Network(name: "mnet3", subnet: "10.89.13.0/24", delegates: [
            ["type": "ptp", "mtu": 65520, "ipMasq": true, "ipam": ipam("10.89.13.0/24")],
        ]),
    ] }

    static func conflist(_ n: Network) -> [String: Any] {
        // No stateDir: every network uses the default one, which they all share.
        ["cniVersion": "1.0.0", "name": n.name, "plugins": [[
            "type": "rootless-netns", "backend": "slirp4netns", "capabilities": ["portMappings": true],
            "delegates": n.delegates,
        ] as [String: Any]]]
    }

    @Test("ADD/GC/DEL of each of three networks on one state dir leave the others' containers pinging",
          .enabled(if: RootlessNetnsTests.enabled && Paths.referencePlugin("ptp") != nil,
                   "needs root, user namespaces, reference plugins (bridge, ptp, host-local), iptables, slirp4netns"))
    func threeNetworks() throws {
        var f = try RootlessNetnsTests.Fixture(userName: "rcni-multi")
        defer { f.finish() }
        let stateDir = f.user.runtimeDir + "/rootless-netns"
        var conflists: [String: String] = [:]
        for n in Self.networks {
            conflists[n.name] = try Conflists.write(Self.conflist(n), to: f.scratch, name: n.name + ".conflist")
        }
        try f.user.chown(f.scratch)
        // Two containers per network: (network, netns, address).
        var members: [(net: String, netns: String, ip: String, cid: String, gw: String)] = []
        func cni(_ net: String, _ verb: String, _ netns: String, _ cid: String) -> CommandResult {
            f.session.cnitool(["--conflist", conflists[net]!, "--cni-path", Products.cniPath, "--ifname", "eth0",
                               "--cache-dir", f.scratch + "/cache", "--timeout", "120", "--container-id", cid, verb, netns],
                              timeout: 180)
        }
        for n in Self.networks {
            for i in 0..<2 {
                let ns = try f.container(n.name + "-")
                let cid = "\(n.name)-c\(i)"
                let add = cni(n.name, "add", ns, cid)
                try #require(add.succeeded, "\(n.name): \(add)")
                let ip = try #require(RootlessNetnsTests.address(add), "\(add)")
                #expect(ip.hasPrefix(String(n.subnet.dropLast("0/24".count))), "\(n.name): \(ip)")
                let gw = ((add.json?["ips"] as? [[String: Any]])?.first?["gateway"] as? String) ?? "?"
                members.append((n.name, ns, ip, cid, gw))
            }
        }
        let st = f.status()
        #expect((st["attachments"] as? [Any])?.count == 6, "\(st)")
        #expect(RootlessNetnsTests.slirpProcesses(f.user).count == 1)

        func pingsWithin(_ net: String, _ where_: String) {
            let m = members.filter { $0.net == net }
            guard m.count == 2 else { return }
            let r = f.inContainer(m[0].netns, ["ping", "-c", "1", "-W", "3", m[1].ip])
            #expect(r.succeeded, "\(where_): \(net) \(m[0].ip) -> \(m[1].ip): \(r)")
        }
        for n in Self.networks { pingsWithin(n.name, "after the ADDs") }

        // GC of mnet1 listing both of its own: nothing of any network goes.
        let own1 = members.filter { $0.net == "mnet1" }.map { ["containerID": $0.cid, "ifname": "eth0"] }
        let gc1 = f.session.cnitool(["--conflist", conflists["mnet1"]!, "--cni-path", Products.cniPath,
                                     "--cache-dir", f.scratch + "/cache", "--valid-attachments", try Scratch.jsonText(own1), "gc"])
        #expect(gc1.succeeded, "\(gc1)")
        #expect((f.status()["attachments"] as? [Any])?.count == 6)
        for n in Self.networks { pingsWithin(n.name, "after GC of mnet1") }

        // GC of mnet2 keeping one: only mnet2's other container goes (its lease too).
        let m2 = members.filter { $0.net == "mnet2" }
        let keep2 = [["containerID": m2[0].cid, "ifname": "eth0"]]
        let gc2 = f.session.cnitool(["--conflist", conflists["mnet2"]!, "--cni-path", Products.cniPath,
                                     "--cache-dir", f.scratch + "/cache", "--valid-attachments", try Scratch.jsonText(keep2), "gc"])
        #expect(gc2.succeeded, "\(gc2)")
        members.removeAll { $0.netns == m2[1].netns && $0.net == "mnet2" }
        #expect((f.status()["attachments"] as? [Any])?.count == 5)
        let leases = f.session.rootlessNetns(["enter", "--", "ls", "/var/lib/cni/networks/mnet2"])
        #expect(!leases.stdout.contains(m2[1].ip), "lease of the GCed container left: \(leases)")
        #expect(leases.stdout.contains(m2[0].ip), "\(leases)")
        for n in ["mnet1", "mnet3"] { pingsWithin(n, "after GC of mnet2") }
        #expect(f.inContainer(m2[0].netns, ["ping", "-c", "1", "-W", "3", "10.89.12.1"]).succeeded)

        // DEL of one mnet3 container: its veth goes, the others keep working.
        let m3 = members.filter { $0.net == "mnet3" }
        #expect(cni("mnet3", "del", m3[0].netns, m3[0].cid).succeeded)
        members.removeAll { $0.netns == m3[0].netns }
        pingsWithin("mnet1", "after DEL in mnet3")
        #expect(f.inContainer(m3[1].netns, ["ping", "-c", "1", "-W", "3", m3[1].gw]).succeeded, "\(m3[1])")
        let links = f.session.rootlessNetns(["enter", "--", "ip", "-o", "link"])
        #expect(links.stdout.components(separatedBy: "\n").filter { $0.contains("veth") }.count == members.count,
                "veths in the shared namespace: \(links)")

        // The rest goes; the last DEL (whatever network) tears everything down.
        for m in members { #expect(cni(m.net, "del", m.netns, m.cid).succeeded, "\(m.net)") }
        #expect(RootlessNetnsTests.slirpProcesses(f.user).isEmpty)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: stateDir)) ?? []
        #expect(left.isEmpty || left == ["lock"], "state left: \(left)")
    }
}
