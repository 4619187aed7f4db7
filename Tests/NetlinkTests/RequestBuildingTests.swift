import Testing
@testable import Netlink
import NetlinkTestSupport

/// Requests as libmnl builds them, checked byte for byte (x86-64/aarch64: little-endian).
@Suite struct RequestBuildingTests {
    @Test func linkDumpRequest() throws {
        let expected = try parseHex("""
            20 00 00 00  12 00  01 03  01 00 00 00  00 00 00 00
            00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
            """.split(separator: "\n").joined(separator: " "))
        // nlmsghdr: len 32, type RTM_GETLINK (18), flags NLM_F_REQUEST|NLM_F_DUMP (0x301), seq 1, pid 0
        // ifinfomsg: family AF_UNSPEC, pad, type 0, index 0, flags 0, change 0 (strict checking wants zeros)
        #expect(Requests.getLinks(sequence: 1) == expected)
    }

    @Test func addressDumpRequest() throws {
        // nlmsghdr: len 24, type RTM_GETADDR (22), flags 0x301, seq 2, pid 0
        // ifaddrmsg: family AF_INET6 (10), prefixlen 0, flags 0, scope 0, index 0
        let expected = try parseHex("18000000 1600 0103 02000000 00000000  0a 00 00 00 00000000")
        #expect(Requests.getAddresses(family: 10, sequence: 2) == expected)
    }

    @Test func routeDumpRequestFiltersMainTable() throws {
        // nlmsghdr: len 36, type RTM_GETROUTE (26), flags 0x301, seq 4, pid 0
        // rtmsg: family AF_INET, dst_len 0, src_len 0, tos 0, table RT_TABLE_MAIN (254), protocol 0,
        //        scope 0, type 0, flags 0
        // rtattr: len 8, type RTA_TABLE (15), value 254
        let expected = try parseHex("24000000 1a00 0103 04000000 00000000  02 00 00 00 fe 00 00 00 00000000"
                                    + "  0800 0f00 fe000000")
        #expect(Requests.getRoutes(family: 2, table: 254, sequence: 4) == expected)
    }

    @Test func sequenceNumbersIncreasePerRequest() throws {
        let socket = RecordedNetlinkSocket(portID: Msg.pid, replies: [Msg.done(seq: 7), Msg.done(seq: 8)])
        let netlink = RouteNetlink(socket: socket, firstSequence: 7)
        _ = try netlink.dumpLinks()
        _ = try netlink.dumpLinks()
        #expect(socket.sent.map { $0[8] } == [7, 8])
        #expect(netlink.nextSequence == 9)
    }
}
