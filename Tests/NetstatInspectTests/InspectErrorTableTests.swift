import CNI
import Glibc
import Netlink
import System
import Testing
@testable import NetstatInspect

/// netstat-inspect's one table of CNI codes (`InspectError.cniError`): every case and its code.
@Suite struct InspectErrorTableTests {
    static let gone = NetlinkError.namespace(SystemError(op: "open netns", path: "/n", errno: ENOENT))
    static let samples: [(InspectError, Int, String)] = [
        (.usage("bad flag"), 4, "bad flag"),
        (.netlink(.notNetworkNamespace(path: "/f")), 8, "/f is not a network namespace"),
        (.netlinkIn(netns: "/n", .notNetworkNamespace(path: "/f")), 8, "/f is not a network namespace"),
        (.netlink(gone), 8, "open netns /n: No such file or directory"),
        (.netlinkIn(netns: "/n", gone), 8, "open netns /n: No such file or directory"),
        (.netlink(.socket(operation: "bind", errno: EPERM)), 5, "netlink: netlink bind: Operation not permitted"),
        (.netlinkIn(netns: "/n", .socket(operation: "bind", errno: EPERM)), 5,
         "netlink in /n: netlink bind: Operation not permitted"),
        (.netnsUnreachable(path: "/n", reason: "owned by another user namespace", advice: "run inside"), 8,
         "/n: owned by another user namespace"),
        (.interfaceNotFound(name: "eth9", netns: "/n"), 7, "interface eth9 not found in netns /n"),
        (.cache("no cache"), 5, "no cache"),
        (.io("read stdin"), 5, "read stdin"),
        (.noPrevResult(command: "ADD"), 7, "netstat-inspect must be chained after another plugin"),
        (.prevResultInterfaceMissing(name: "eth0", netns: "/n"), 7, "prevResult interface eth0 not found"),
        (.checkMismatch(netns: "/n", problems: ["mtu"]), 999, "netns /n does not match prevResult"),
    ]

    /// Fails to compile when a case is missing above.
    static func covered(_ e: InspectError) -> Bool {
        switch e {
        case .usage, .netlink, .netlinkIn, .netnsUnreachable, .interfaceNotFound, .cache, .io, .noPrevResult,
             .prevResultInterfaceMissing, .checkMismatch:
            true
        }
    }

    @Test func everyCaseHasItsCode() {
        for (error, code, msg) in Self.samples {
            #expect(Self.covered(error))
            #expect(PluginMain.cniError(from: error).code == code, "\(error)")
            #expect(error.cniError.msg == msg)
        }
    }
}
