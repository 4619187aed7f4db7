import CNetlinkShim
import Glibc
import Testing
@testable import Netlink
import NetlinkTestSupport

/// The dump loop against hand-built kernel replies: multi-part, errors, interrupted dumps.
@Suite struct DumpProtocolTests {
    func netlink(_ replies: [[UInt8]], attempts: Int = 5) -> (RouteNetlink, RecordedNetlinkSocket) {
        let socket = RecordedNetlinkSocket(portID: Msg.pid, replies: replies)
        return (RouteNetlink(socket: socket, firstSequence: 1, maxDumpAttempts: attempts), socket)
    }

    @Test func multiPartDumpAcrossDatagrams() throws {
        let (nl, socket) = netlink([
            Msg.link(seq: 1, index: 1, name: "lo") + Msg.link(seq: 1, index: 2, name: "eth0", mtu: 9000,
                                                               mac: [0xaa, 0xbb, 0xcc, 0, 1, 2], rxPackets: 77),
            Msg.link(seq: 1, index: 3, name: "eth1"),
            Msg.done(seq: 1),
        ])
        let links = try nl.dumpLinks()
        #expect(links.map(\.name) == ["lo", "eth0", "eth1"])
        #expect(links[1].index == 2)
        #expect(links[1].mtu == 9000)
        #expect(links[1].macAddress == "aa:bb:cc:00:01:02")
        #expect(links[1].operState == .up)
        #expect(links[1].statistics?.rxPackets == 77)
        #expect(links[1].statistics?.txPackets == 2)
        #expect(links[1].statistics?.rxBytes == 3)
        #expect(links[1].statistics?.txBytes == 4)
        #expect(links[1].flagNames == ["UP", "BROADCAST"])
        #expect(socket.remainingReplies == 0)
    }

    @Test func manyInterfacesInManyDatagrams() throws {
        var replies: [[UInt8]] = []
        var datagram: [UInt8] = []
        for i in 1...1500 {
            datagram += Msg.link(seq: 1, index: Int32(i), name: "d\(i)")
            if datagram.count > 30_000 { replies.append(datagram); datagram = [] }
        }
        replies.append(datagram + Msg.done(seq: 1))
        let (nl, _) = netlink(replies)
        let links = try nl.dumpLinks()
        #expect(links.count == 1500)
        #expect(links.last?.name == "d1500")
        #expect(replies.count > 10)
    }

    @Test func kernelErrorCarriesErrnoAndRequest() {
        let request = Requests.getLinks(sequence: 1)
        let (nl, _) = netlink([Msg.error(seq: 1, errno: EPERM, request: request)])
        #expect(throws: NetlinkError.kernel(errno: EPERM, request: "RTM_GETLINK dump")) { try nl.dumpLinks() }
    }

    @Test func kernelErrorCarriesExtendedAck() {
        let request = Requests.getLinks(sequence: 1)
        let (nl, _) = netlink([Msg.error(seq: 1, errno: EINVAL, request: request, extAck: "Invalid header")])
        let expected = NetlinkError.kernel(errno: EINVAL, request: "RTM_GETLINK dump", message: "Invalid header")
        #expect(throws: expected) { try nl.dumpLinks() }
        #expect(expected.description == "RTM_GETLINK dump: kernel error: Invalid argument (Invalid header)")
    }

    @Test func doneWithNegativeStatusIsAnError() {
        let (nl, _) = netlink([Msg.link(seq: 1, index: 1, name: "lo") + Msg.done(seq: 1, status: -ENOBUFS)])
        #expect(throws: NetlinkError.kernel(errno: ENOBUFS, request: "RTM_GETLINK dump")) { try nl.dumpLinks() }
    }

    @Test func interruptedDumpIsRetried() throws {
        let intr = NLM_F_MULTI | NLM_F_DUMP_INTR
        let (nl, socket) = netlink([
            Msg.link(seq: 1, index: 1, name: "stale", flags: intr),
            Msg.done(seq: 1, flags: intr),
            Msg.link(seq: 2, index: 1, name: "lo") + Msg.link(seq: 2, index: 2, name: "eth0") + Msg.done(seq: 2),
        ])
        let links = try nl.dumpLinks()
        #expect(links.map(\.name) == ["lo", "eth0"])
        #expect(socket.sent.count == 2)
        #expect(socket.sent.map { $0[8] } == [1, 2])
    }

    @Test func interruptedEveryTimeGivesUp() {
        let intr = NLM_F_MULTI | NLM_F_DUMP_INTR
        let (nl, socket) = netlink((1...3).map { Msg.done(seq: UInt32($0), flags: intr) }, attempts: 3)
        #expect(throws: NetlinkError.dumpInterrupted(request: "RTM_GETLINK dump", attempts: 3)) { try nl.dumpLinks() }
        #expect(socket.sent.count == 3)
    }

    @Test func wrongSequenceIsRejected() {
        let (nl, _) = netlink([Msg.link(seq: 9, index: 1, name: "lo") + Msg.done(seq: 9)])
        #expect(throws: NetlinkError.sequenceMismatch(request: "RTM_GETLINK dump", expected: 1, got: 9)) {
            try nl.dumpLinks()
        }
    }

    @Test func replyForAnotherPortIsRejected() {
        let other = Msg.nlmsg(type: NLMSG_DONE, seq: 1, pid: 1, Msg.le32(Int32(0)))
        let (nl, _) = netlink([other])
        #expect(throws: NetlinkError.self) { try nl.dumpLinks() }
    }

    @Test func truncatedMessageIsMalformed() {
        let cut = Array(Msg.link(seq: 1, index: 1, name: "lo").dropLast(8))
        let (nl, _) = netlink([cut])
        #expect {
            try nl.dumpLinks()
        } throws: { error in
            guard case .malformed(let request, _) = error as? NetlinkError else { return false }
            return request == "RTM_GETLINK dump"
        }
    }

    @Test func missingReplyFailsInsteadOfHanging() {
        let (nl, _) = netlink([Msg.link(seq: 1, index: 1, name: "lo")])
        #expect(throws: NetlinkError.receive(request: "RTM_GETLINK dump", errno: EAGAIN)) { try nl.dumpLinks() }
    }

    @Test func olderKernelShortStats64IsZeroFilled() throws {
        // A 4.x kernel's rtnl_link_stats64 ends before rx_nohandler/rx_otherhost_dropped.
        let (nl, _) = netlink([Msg.link(seq: 1, index: 1, name: "eth0", rxPackets: 5, statsBytes: 23 * 8)
                               + Msg.done(seq: 1)])
        let stats = try #require(try nl.dumpLinks().first?.statistics)
        #expect(stats.rxPackets == 5)
        #expect(stats.counters.count == 25)
        #expect(stats.stats.rx_nohandler == 0)
    }

    @Test func routesPerFamilyWithDefaults() throws {
        // RTA_MULTIPATH: rtnexthop (len 16, flags, hops, ifindex 3) + RTA_GATEWAY 10.0.0.254
        let hop = Msg.le16(16) + [0, 0] + Msg.le32(Int32(3)) + Msg.attr(Int(RTA_GATEWAY.rawValue), [10, 0, 0, 254])
        let (nl, socket) = netlink([
            Msg.route(seq: 1, family: AF_INET, gateway: [10, 77, 0, 1])
                + Msg.route(seq: 1, family: AF_INET, dst: [10, 77, 0, 0], dstLen: 24)
                + Msg.route(seq: 1, family: AF_INET, dst: [192, 168, 9, 0], dstLen: 24, multipath: hop)
                + Msg.done(seq: 1),
            Msg.done(seq: 2, status: -ENOENT),  // IPv6 main table empty: the kernel's ENOENT
        ])
        let routes = try nl.dumpRoutes()
        #expect(routes.count == 3)
        #expect(routes[0].isDefault)
        #expect(routes[0].gateway?.description == "10.77.0.1")
        #expect(routes[0].outputInterface == 2)
        #expect(routes[1].destination?.description == "10.77.0.0/24")
        #expect(routes[1].gateway == nil)
        #expect(routes[2].nextHops.map(\.interfaceIndex) == [3])
        #expect(routes[2].gateways.map(\.description) == ["10.0.0.254"])
        #expect(socket.sent.count == 2)
    }

    @Test func routesOfOtherTablesAreDropped() throws {
        let (nl, _) = netlink([
            Msg.route(seq: 1, family: AF_INET, gateway: [10, 0, 0, 1], table: 1000) + Msg.done(seq: 1),
            Msg.done(seq: 2),
        ])
        #expect(try nl.dumpRoutes().isEmpty)
    }
}
