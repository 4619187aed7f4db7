import CNetlinkShim
import Glibc
@testable import Netlink

/// Hand-built kernel messages, little-endian like the x86/arm hosts these tests run on.
enum Msg {
    static let pid: UInt32 = 4242

    static func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    static func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    static func le32(_ v: Int32) -> [UInt8] { le32(UInt32(bitPattern: v)) }
    static func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    static func pad(_ b: [UInt8]) -> [UInt8] { b + [UInt8](repeating: 0, count: (4 - b.count % 4) % 4) }

    /// nlmsghdr (len, type, flags, seq, pid) + payload, padded to 4.
    static func nlmsg(type: Int32, flags: Int32 = NLM_F_MULTI, seq: UInt32, pid: UInt32 = pid,
                      _ payload: [UInt8]) -> [UInt8] {
        pad(le32(UInt32(16 + payload.count)) + le16(UInt16(type)) + le16(UInt16(flags)) + le32(seq) + le32(pid)
            + payload)
    }

    static func attr(_ type: Int, _ payload: [UInt8]) -> [UInt8] {
        pad(le16(UInt16(4 + payload.count)) + le16(UInt16(type)) + payload)
    }

    static func cString(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

    /// RTM_NEWLINK for an ethernet link: ifinfomsg + IFLA_IFNAME, IFLA_MTU, IFLA_ADDRESS, IFLA_STATS64.
    static func link(seq: UInt32, index: Int32, name: String, mtu: UInt32 = 1500,
                     mac: [UInt8] = [2, 0, 0, 0, 0, 1], rxPackets: UInt64 = 0, flags: Int32 = NLM_F_MULTI,
                     statsBytes: Int? = nil) -> [UInt8] {
        let ifi: [UInt8] = [UInt8(AF_UNSPEC), 0] + le16(UInt16(ARPHRD_ETHER)) + le32(index)
            + le32(UInt32(IFF_UP.rawValue | IFF_BROADCAST.rawValue)) + le32(UInt32(0))
        var stats = le64(rxPackets) + le64(2) + le64(3) + le64(4)  // rx/tx packets, rx/tx bytes
        stats += [UInt8](repeating: 0, count: MemoryLayout<rtnl_link_stats64>.size - stats.count)
        if let statsBytes { stats = Array(stats.prefix(statsBytes)) }
        return nlmsg(type: Int32(RTM_NEWLINK), flags: flags, seq: seq,
                     ifi + attr(Int(IFLA_IFNAME), cString(name)) + attr(Int(IFLA_MTU), le32(mtu))
                        + attr(Int(IFLA_ADDRESS), mac) + attr(Int(IFLA_OPERSTATE), [UInt8(IF_OPER_UP)])
                        + attr(Int(IFLA_STATS64), stats))
    }

    static func done(seq: UInt32, status: Int32 = 0, flags: Int32 = NLM_F_MULTI) -> [UInt8] {
        nlmsg(type: NLMSG_DONE, flags: flags, seq: seq, le32(status))
    }

    /// NLMSG_ERROR: -errno, then the (capped) original header; optional extended-ack text.
    static func error(seq: UInt32, errno code: Int32, request: [UInt8], extAck: String? = nil) -> [UInt8] {
        var flags = NLM_F_CAPPED
        var payload = le32(-code) + Array(request.prefix(16))
        if let extAck {
            flags |= NLM_F_ACK_TLVS
            payload += attr(Int(NLMSGERR_ATTR_MSG.rawValue), cString(extAck))
        }
        return nlmsg(type: NLMSG_ERROR, flags: flags, seq: seq, payload)
    }

    /// RTM_NEWROUTE: rtmsg + RTA_TABLE, optional RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PRIORITY.
    static func route(seq: UInt32, family: Int32, dst: [UInt8]? = nil, dstLen: UInt8 = 0, gateway: [UInt8]? = nil,
                      oif: UInt32 = 2, priority: UInt32? = nil, table: UInt32 = 254,
                      multipath: [UInt8]? = nil) -> [UInt8] {
        let rtm: [UInt8] = [UInt8(family), dstLen, 0, 0, UInt8(min(table, 255)), UInt8(RTPROT_BOOT),
                            UInt8(RT_SCOPE_UNIVERSE.rawValue), UInt8(RTN_UNICAST)] + le32(UInt32(0))
        var attrs = attr(Int(RTA_TABLE.rawValue), le32(table))
        if let dst { attrs += attr(Int(RTA_DST.rawValue), dst) }
        if let gateway { attrs += attr(Int(RTA_GATEWAY.rawValue), gateway) }
        attrs += attr(Int(RTA_OIF.rawValue), le32(oif))
        if let priority { attrs += attr(Int(RTA_PRIORITY.rawValue), le32(priority)) }
        if let multipath { attrs += attr(Int(RTA_MULTIPATH.rawValue), multipath) }
        return nlmsg(type: Int32(RTM_NEWROUTE), seq: seq, rtm + attrs)
    }
}
