import CNetlinkShim
#if canImport(Glibc)
import Glibc
#endif

/// Request messages, built into a byte array (what goes to `NetlinkSocket.send`).
enum Requests {
    /// A dump request: `nlmsghdr` (REQUEST|DUMP, our sequence, port 0 = the kernel) followed by the
    /// family header `header` (padded to 4), then the attributes in `attributes` (type, payload).
    static func dump<Header: BitwiseCopyable>(
        type: Int32, sequence: UInt32, header: Header, attributes: [(UInt16, [UInt8])] = []
    ) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: MemoryLayout<nlmsghdr>.size)
        withUnsafeBytes(of: header) { out += $0 }
        pad(&out)
        for (type, payload) in attributes {
            var a = nlattr()
            a.nla_len = UInt16(MemoryLayout<nlattr>.size + payload.count)
            a.nla_type = type
            withUnsafeBytes(of: a) { out += $0 }
            out += payload
            pad(&out)
        }
        var nlh = nlmsghdr()
        nlh.nlmsg_len = UInt32(out.count)
        nlh.nlmsg_type = UInt16(type)
        nlh.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_DUMP)
        nlh.nlmsg_seq = sequence
        nlh.nlmsg_pid = 0
        withUnsafeBytes(of: nlh) { h in out.withUnsafeMutableBytes { $0.copyMemory(from: h) } }
        return out
    }

    /// Zeros up to the next 4-byte boundary (NLMSG_ALIGNTO = NLA_ALIGNTO = 4).
    static func pad(_ bytes: inout [UInt8]) {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    /// RTM_GETLINK dump of every link. Strict checking wants the ifinfomsg all zero.
    static func getLinks(sequence: UInt32) -> [UInt8] {
        var ifi = ifinfomsg()
        ifi.ifi_family = UInt8(AF_UNSPEC)
        return dump(type: Int32(RTM_GETLINK), sequence: sequence, header: ifi)
    }

    /// RTM_GETADDR dump of one family (AF_INET or AF_INET6).
    static func getAddresses(family: Int32, sequence: UInt32) -> [UInt8] {
        var ifa = ifaddrmsg()
        ifa.ifa_family = UInt8(family)
        return dump(type: Int32(RTM_GETADDR), sequence: sequence, header: ifa)
    }

    /// RTM_GETROUTE dump of one family, filtered by the kernel to `table` (strict checking makes
    /// rtm_table a filter; the RTA_TABLE attribute carries ids above 255).
    static func getRoutes(family: Int32, table: UInt32, sequence: UInt32) -> [UInt8] {
        var rtm = rtmsg()
        rtm.rtm_family = UInt8(family)
        rtm.rtm_table = table < 256 ? UInt8(table) : UInt8(RT_TABLE_UNSPEC.rawValue)
        return dump(type: Int32(RTM_GETROUTE), sequence: sequence, header: rtm,
                    attributes: [(UInt16(RTA_TABLE.rawValue), withUnsafeBytes(of: table, Array.init))])
    }
}

extension RouteNetlink {
    /// Every link in the namespace: name, index, MAC, MTU, flags, operstate, stats64.
    public func dumpLinks() throws(NetlinkError) -> [Link] {
        try dump("RTM_GETLINK dump", replyType: Int32(RTM_NEWLINK),
                 build: { Requests.getLinks(sequence: $0) },
                 parse: { (nlh) throws(NetlinkError) in try Link(message: nlh) })
    }

    /// IPv4 then IPv6 addresses of every interface.
    public func dumpAddresses() throws(NetlinkError) -> [InterfaceAddress] {
        var all: [InterfaceAddress] = []
        for (family, name) in [(AF_INET, "RTM_GETADDR dump (IPv4)"), (AF_INET6, "RTM_GETADDR dump (IPv6)")] {
            all += try dump(name, replyType: Int32(RTM_NEWADDR),
                            build: { Requests.getAddresses(family: family, sequence: $0) },
                            parse: { (nlh) throws(NetlinkError) in try InterfaceAddress(message: nlh, request: name) })
        }
        return all
    }

    /// IPv4 then IPv6 routes of one table (the main table by default). Routes of other tables
    /// are dropped here too, in case the kernel did not filter.
    public func dumpRoutes(table: UInt32 = UInt32(RT_TABLE_MAIN.rawValue)) throws(NetlinkError) -> [Route] {
        var all: [Route] = []
        for (family, name) in [(AF_INET, "RTM_GETROUTE dump (IPv4)"), (AF_INET6, "RTM_GETROUTE dump (IPv6)")] {
            do {
                all += try dump(name, replyType: Int32(RTM_NEWROUTE),
                                build: { Requests.getRoutes(family: family, table: table, sequence: $0) },
                                parse: { (nlh) throws(NetlinkError) in try Route(message: nlh, request: name) })
            } catch .kernel(let code, _, _) where code == ENOENT {
                // A filtered dump of a table that has no routes yet: "FIB table does not exist".
                continue
            }
        }
        return all.filter { $0.table == table }
    }
}
