import Glibc
import Testing
@testable import Netlink
import NetlinkTestSupport

/// Re-records `Fixtures/recorded-*.hex` from a real namespace. Run by `Fixtures/record.sh`, which
/// builds the namespace and sets NETLINK_RECORD_NETNS; skipped otherwise.
@Suite struct FixtureRecorder {
    static let netns = getenv("NETLINK_RECORD_NETNS").map { String(cString: $0) }

    @Test(.enabled(if: netns != nil, "set by Fixtures/record.sh only"))
    func recordFixtures() throws {
        let socket = try KernelNetlinkSocket(netnsPath: Self.netns)
        let verbs: [(String, (RouteNetlink) throws -> Void)] = [
            ("links", { _ = try $0.dumpLinks() }),
            ("addresses", { _ = try $0.dumpAddresses() }),
            ("routes", { _ = try $0.dumpRoutes() }),
        ]
        for (name, verb) in verbs {
            let recorder = RecordingNetlinkSocket(socket)
            try verb(RouteNetlink(socket: recorder, firstSequence: 1))
            let comment = [
                "Recorded by Tests/NetlinkTests/Fixtures/record.sh (see README.md there): kernel replies",
                "to RouteNetlink(firstSequence: 1).dump\(name.prefix(1).uppercased() + name.dropFirst())() in the namespace it builds.",
                "Requests sent (hex, in order): " + recorder.sent.map { $0.map(hexByte).joined() }.joined(separator: " "),
            ]
            try writeText(HexFixture.directory + "/recorded-\(name).hex",
                          HexFixture.render(comment: comment, portID: socket.portID, datagrams: recorder.received))
        }
    }
}
