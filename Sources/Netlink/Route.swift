import CNetlinkShim
import IP
#if canImport(Glibc)
import Glibc
#endif

/// One route from an RTM_NEWROUTE message.
public struct Route: Sendable, Equatable {
    public var family: Int32
    /// RTA_TABLE when present (ids above 255), else rtm_table.
    public var table: UInt32
    /// RTN_* (unicast, local, broadcast, unreachable, ...).
    public var type: UInt8
    public var scope: UInt8
    public var protocolID: UInt8
    /// nil for a default route (destination length 0).
    public var destination: IPNetwork?
    public var gateway: IPAddress?
    public var outputInterface: Int32?
    public var preferredSource: IPAddress?
    /// RTA_PRIORITY, the metric.
    public var priority: UInt32?
    /// Next hops of a multipath route (RTA_MULTIPATH): (interface index, gateway).
    public var nextHops: [(interfaceIndex: Int32, gateway: IPAddress?)]

    public init(family: Int32, table: UInt32 = UInt32(RT_TABLE_MAIN.rawValue), type: UInt8 = UInt8(RTN_UNICAST),
                scope: UInt8 = UInt8(RT_SCOPE_UNIVERSE.rawValue), protocolID: UInt8 = 0,
                destination: IPNetwork? = nil, gateway: IPAddress? = nil, outputInterface: Int32? = nil,
                preferredSource: IPAddress? = nil, priority: UInt32? = nil,
                nextHops: [(interfaceIndex: Int32, gateway: IPAddress?)] = []) {
        self.family = family
        self.table = table
        self.type = type
        self.scope = scope
        self.protocolID = protocolID
        self.destination = destination
        self.gateway = gateway
        self.outputInterface = outputInterface
        self.preferredSource = preferredSource
        self.priority = priority
        self.nextHops = nextHops
    }

    /// A unicast route to everything (0.0.0.0/0 or ::/0).
    public var isDefault: Bool { destination == nil && type == UInt8(RTN_UNICAST) }

    /// The gateways of this route: RTA_GATEWAY, or those of its next hops.
    public var gateways: [IPAddress] {
        if let gateway { return [gateway] }
        return nextHops.compactMap(\.gateway)
    }

    /// "default" or "10.88.0.0/16".
    public var destinationText: String { destination?.text(.inetNtop) ?? "default" }

    public static func == (a: Route, b: Route) -> Bool {
        a.family == b.family && a.table == b.table && a.type == b.type && a.scope == b.scope
            && a.protocolID == b.protocolID && a.destination == b.destination && a.gateway == b.gateway
            && a.outputInterface == b.outputInterface && a.preferredSource == b.preferredSource
            && a.priority == b.priority
            && a.nextHops.map(\.interfaceIndex) == b.nextHops.map(\.interfaceIndex)
            && a.nextHops.map(\.gateway) == b.nextHops.map(\.gateway)
    }

    init?(message nlh: UnsafePointer<nlmsghdr>, request: String) throws(NetlinkError) {
        let headerSize = MemoryLayout<rtmsg>.size
        guard Int(cshim_nlmsg_payload_len(nlh)) >= headerSize, let payload = cshim_nlmsg_payload(nlh) else {
            throw .malformed(request: request, detail: "RTM_NEWROUTE shorter than rtmsg")
        }
        let rtm = payload.loadUnaligned(as: rtmsg.self)
        guard Int32(rtm.rtm_family) == AF_INET || Int32(rtm.rtm_family) == AF_INET6 else { return nil }
        let tb = attributeTable(nlh, offset: headerSize, max: Int(__RTA_MAX.rawValue) - 1)
        func address(_ type: rtattr_type_t) -> IPAddress? {
            tb[Int(type.rawValue)].flatMap { IPAddress(bytes: attributeBytes($0)) }
        }
        func u32(_ type: rtattr_type_t) -> UInt32? {
            guard let a = tb[Int(type.rawValue)], cshim_nlattr_payload_len(a) >= 4 else { return nil }
            return attributeU32(a)
        }
        var destination: IPNetwork?
        if rtm.rtm_dst_len > 0 {
            guard let dst = address(RTA_DST), let p = IPNetwork(address: dst, prefixLength: Int(rtm.rtm_dst_len)) else {
                throw .malformed(request: request, detail: "route with prefix length \(rtm.rtm_dst_len) and no RTA_DST")
            }
            destination = p
        }
        self.init(family: Int32(rtm.rtm_family), table: u32(RTA_TABLE) ?? UInt32(rtm.rtm_table),
                  type: rtm.rtm_type, scope: rtm.rtm_scope, protocolID: rtm.rtm_protocol,
                  destination: destination, gateway: address(RTA_GATEWAY),
                  outputInterface: u32(RTA_OIF).map { Int32(bitPattern: $0) },
                  preferredSource: address(RTA_PREFSRC), priority: u32(RTA_PRIORITY))
        if let mp = tb[Int(RTA_MULTIPATH.rawValue)] { nextHops = Route.parseNextHops(mp) }
    }

    /// RTA_MULTIPATH is a packed list of `rtnexthop`, each followed by its own attributes.
    static func parseNextHops(_ attr: UnsafePointer<nlattr>) -> [(interfaceIndex: Int32, gateway: IPAddress?)] {
        let bytes = attributeBytes(attr)
        var hops: [(interfaceIndex: Int32, gateway: IPAddress?)] = []
        let hopHeader = MemoryLayout<rtnexthop>.size
        var offset = 0
        bytes.withUnsafeBytes { raw in
            while offset + hopHeader <= raw.count {
                let hop = raw.loadUnaligned(fromByteOffset: offset, as: rtnexthop.self)
                let length = Int(hop.rtnh_len)
                guard length >= hopHeader, offset + length <= raw.count else { return }
                var gateway: IPAddress?
                var a = offset + hopHeader
                while a + 4 <= offset + length {
                    let alen = Int(raw.loadUnaligned(fromByteOffset: a, as: UInt16.self))
                    let atype = raw.loadUnaligned(fromByteOffset: a + 2, as: UInt16.self)
                    guard alen >= 4, a + alen <= offset + length else { break }
                    if UInt32(atype) == RTA_GATEWAY.rawValue {
                        gateway = IPAddress(bytes: Array(raw[(a + 4)..<(a + alen)]))
                    }
                    a += (alen + Int(RTA_ALIGNTO) - 1) & ~(Int(RTA_ALIGNTO) - 1)
                }
                hops.append((Int32(hop.rtnh_ifindex), gateway))
                offset += (length + Int(RTNH_ALIGNTO) - 1) & ~(Int(RTNH_ALIGNTO) - 1)
            }
        }
        return hops
    }
}

/// Routing table ids that callers above this module need (from rtnetlink.h).
public enum RouteTable {
    public static let main = UInt32(RT_TABLE_MAIN.rawValue)
}
