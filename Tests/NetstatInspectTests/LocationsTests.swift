import CNI
import Netlink
import System
import Testing
@testable import NetstatInspect

@Suite struct LocationsTests {
    static let root = Locations(isHostRoot: true, runtimeDir: "/run/user/0")
    static let user = Locations(isHostRoot: false, runtimeDir: "/run/user/1000")

    @Test func netnsNames() {
        let none: (String) -> Bool = { _ in false }
        #expect(Self.root.netnsPath("ctr1", exists: none) == "/run/netns/ctr1")
        #expect(Self.user.netnsPath("ctr1", exists: none) == "/run/user/1000/netns/ctr1")
        #expect(Self.user.netnsPath("ctr1", exists: { $0 == "/run/netns/ctr1" }) == "/run/netns/ctr1")
        #expect(Self.user.netnsPath("./ctr1", exists: none) == "./ctr1")
        #expect(Self.root.netnsPath("/proc/1/ns/net", exists: none) == "/proc/1/ns/net")
    }

    @Test func cacheDefaults() {
        #expect(Self.root.cacheDirs == ["/var/lib/cni"])
        #expect(Self.user.cacheDirs == ["/run/user/1000/cni", "/var/lib/cni"])
        #expect(Locations.current(environment: ["XDG_RUNTIME_DIR": "/tmp/xdg"]).runtimeDir == "/tmp/xdg")
    }

    /// The name given to --netns reaches netlink as the resolved path.
    @Test func runResolvesNames() {
        var opened: [String] = []
        let ctx = RunContext(locations: Self.user, stat: { _ in nil })
        _ = NetstatInspect.run(["stats", "--netns", "ctr1"], openNetlink: { (path: String) throws(NetlinkError) in
            opened.append(path)
            throw NetlinkError.notNetworkNamespace(path: path)
        }, context: ctx)
        #expect(opened == ["/run/user/1000/netns/ctr1"])
    }

    /// Regression: outside the session's mount namespace the netns path is the empty file the
    /// bind mount sits on; this used to say "is not a network namespace".
    @Test func namespaceOfAnotherMountNamespaceSaysWhatToDo() {
        let empty = PathInfo(isEmptyRegularFile: true)
        let ctx = RunContext(locations: Self.user, stat: { $0 == "/run/user/1000/netns/ctr1" ? empty : nil },
                             sessionPid: { 4321 })
        let out = NetstatInspect.run(["inspect", "--netns", "/run/user/1000/netns/ctr1"],
                                     openNetlink: { (path: String) throws(NetlinkError) in
                                         throw NetlinkError.notNetworkNamespace(path: path)
                                     }, context: ctx)
        #expect(out.exitCode == 1)
        #expect(!out.stderr.contains("is not a network namespace"), "\(out.stderr)")
        #expect(out.stderr.contains("bind-mounted in another one, such as a rootless session's"))
        #expect(out.stderr.contains("nsenter --user --mount --preserve-credentials -t 4321 netstat-inspect"))
        let missing = NetstatInspect.run(["inspect", "--netns", "/run/user/1000/netns/gone"],
                                         openNetlink: { (path: String) throws(NetlinkError) in
                                             throw NetlinkError.namespace(SystemError(op: "open netns", path: path, errno: 2))
                                         }, context: ctx)
        #expect(missing.stderr.contains("/run/user/1000/netns/gone: no such file here. If it is a rootless session's"))
    }

    /// Regression: namespace files stat as empty regular files too; /proc/self/ns/uts must not
    /// be taken for a bind-mount target (it is "not a network namespace").
    @Test func namespaceFilesAreNotEmptyFiles() throws {
        #expect(PathInfo.of("/proc/self/ns/uts") == PathInfo(isEmptyRegularFile: false))
        #expect(PathInfo.of("/proc/self/ns/net") == PathInfo(isEmptyRegularFile: false))
        let path = "/tmp/nsi-empty-\(Identity.euid)-\(UInt32.random(in: 0...UInt32.max))"
        try FS.createEmptyFile(path)
        defer { try? FS.remove(path) }
        #expect(PathInfo.of(path) == PathInfo(isEmptyRegularFile: true))
        #expect(PathInfo.of(path + "-missing") == nil)
    }

    /// A real file that is not a namespace still says so.
    @Test func plainFileIsNotANamespace() {
        let ctx = RunContext(locations: Self.user, stat: { _ in PathInfo(isEmptyRegularFile: false) })
        let out = NetstatInspect.run(["inspect", "--netns", "/etc/passwd"], openNetlink: { (path: String) throws(NetlinkError) in
            throw NetlinkError.notNetworkNamespace(path: path)
        }, context: ctx)
        #expect(out.stderr == "netstat-inspect: /etc/passwd is not a network namespace\n")
    }

    @Test func versionAndHelp() {
        let fail: (String) throws(NetlinkError) -> RouteNetlink = { (p: String) throws(NetlinkError) in
            throw NetlinkError.notNetworkNamespace(path: p)
        }
        let v = NetstatInspect.run(["--version"], openNetlink: fail)
        #expect(v.exitCode == 0 && v.stdout.hasPrefix("netstat-inspect "))
        let h = NetstatInspect.run(["--help"], openNetlink: fail)
        #expect(h.exitCode == 0 && h.stdout.contains("examples:") && h.stdout.contains("--watch"))
        let bad = NetstatInspect.run(["stats", "--netns", "x", "--watch", "fast"], openNetlink: fail)
        #expect(bad.exitCode == 2 && bad.stderr.hasPrefix("netstat-inspect: --watch needs seconds"))
    }

    /// Default caches: the first one holding the container wins; none: every place searched is named.
    @Test func containerSearchesDefaultCaches() {
        let ctx = RunContext(locations: Self.user, stat: { _ in nil })
        let out = NetstatInspect.run(["inspect", "--container", "abc"], openNetlink: { (p: String) throws(NetlinkError) in
            throw NetlinkError.notNetworkNamespace(path: p)
        }, context: ctx)
        #expect(out.stderr == "netstat-inspect: no CNI result cached for container abc in /run/user/1000/cni/results, "
                    + "/var/lib/cni/results (give --cache-dir DIR)\n")
    }
}

/// The one table of CNI codes (issue 11 item 4).
@Suite struct ErrorTableTests {
    @Test func codes() {
        let cases: [(InspectError, CNIErrorCode)] = [
            (.usage("x"), .invalidEnvironment),
            (.netlink(.notNetworkNamespace(path: "/n")), .invalidNetns),
            (.netlinkIn(netns: "/n", .namespace(SystemError(op: "open netns", path: "/n", errno: 2))), .invalidNetns),
            (.netlinkIn(netns: "/n", .receive(request: "r", errno: 5)), .ioFailure),
            (.netnsUnreachable(path: "/n", reason: "r", advice: "a"), .invalidNetns),
            (.interfaceNotFound(name: "e", netns: "/n"), .invalidNetworkConfig),
            (.cache("c"), .ioFailure), (.io("stdin"), .ioFailure),
            (.noPrevResult(command: "ADD"), .invalidNetworkConfig),
            (.prevResultInterfaceMissing(name: "eth0", netns: "/n"), .invalidNetworkConfig),
            (.checkMismatch(netns: "/n", problems: ["p"]), .internal),
        ]
        for (error, code) in cases { #expect(error.cniError.code == code.rawValue, "\(error)") }
        #expect(InspectError.netlinkIn(netns: "/n", .receive(request: "r", errno: 5)).cniError.msg
                    == "netlink in /n: r: receive: Input/output error")
    }

    /// Regression: a failed stdin read in plugin mode was not CNIErrorConvertible and came out as 999.
    @Test func stdinFailureIsAnIOFailure() throws {
        let out = PluginMain.dispatch(NetstatPlugin(), env: ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c",
                                                             "CNI_NETNS": "/n", "CNI_IFNAME": "eth0", "CNI_PATH": "/x"]) {
            throw InspectError.io("read stdin: Input/output error")
        }
        #expect(out.exitCode == 1)
        #expect(out.stdout.contains("\"code\":5"), "\(out.stdout)")
    }
}
