import CMnl
#if canImport(Glibc)
import Glibc
#endif

/// Request messages, built with libmnl into a byte array (what goes to `NetlinkSocket.send`).
enum Requests {
    /// A dump request: `nlmsghdr` (REQUEST|DUMP, our sequence, port 0 = the kernel) followed by the
    /// family header `header`, then whatever attributes `attributes` puts.
    static func dump<Header: BitwiseCopyable>(
        type: Int32, sequence: UInt32, header: Header,
        attributes: (UnsafeMutablePointer<nlmsghdr>) -> Void = { _ in }
    ) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 512)
        let length = buffer.withUnsafeMutableBytes { raw -> Int in
            guard let nlh = mnl_nlmsg_put_header(raw.baseAddress) else { return 0 }
            nlh.pointee.nlmsg_type = UInt16(type)
            nlh.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_DUMP)
            nlh.pointee.nlmsg_seq = sequence
            if let extra = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<Header>.size) {
                withUnsafeBytes(of: header) { h in
                    if let src = h.baseAddress { extra.copyMemory(from: src, byteCount: h.count) }
                }
            }
            attributes(nlh)
            return Int(nlh.pointee.nlmsg_len)
        }
        return Array(buffer[..<length])
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
        return dump(type: Int32(RTM_GETROUTE), sequence: sequence, header: rtm) { nlh in
            mnl_attr_put_u32(nlh, UInt16(RTA_TABLE.rawValue), table)
        }
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
