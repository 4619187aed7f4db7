import CMnl
#if canImport(Glibc)
import Glibc
#endif

/// One network interface from an RTM_NEWLINK message.
public struct Link: Sendable, Equatable {
    public var index: Int32
    public var name: String
    /// ARPHRD_* type (ARPHRD_ETHER, ARPHRD_LOOPBACK, ...).
    public var hardwareType: UInt16
    /// IFF_* flags (`ifi_flags`).
    public var flags: UInt32
    /// IFLA_ADDRESS: the hardware address, empty when the link has none.
    public var hardwareAddress: [UInt8]
    public var mtu: UInt32?
    public var operState: OperState
    /// IFLA_INFO_KIND ("veth", "bridge", "dummy"), nil for devices without rtnl_link_ops.
    public var kind: String?
    /// IFLA_MASTER: index of the bridge/bond this link is enslaved to.
    public var masterIndex: Int32?
    /// IFLA_STATS64, nil if the kernel left it out.
    public var statistics: LinkStatistics?

    public var isLoopback: Bool { flags & UInt32(IFF_LOOPBACK.rawValue) != 0 }
    public var isUp: Bool { flags & UInt32(IFF_UP.rawValue) != 0 }

    /// "aa:bb:cc:dd:ee:ff"; nil when there is no hardware address.
    public var macAddress: String? {
        hardwareAddress.isEmpty ? nil : formatHardwareAddress(hardwareAddress)
    }

    /// Names of the set IFF_* flags, in `ip link`'s order.
    public var flagNames: [String] {
        let known: [(UInt32, String)] = [
            (UInt32(IFF_UP.rawValue), "UP"), (UInt32(IFF_BROADCAST.rawValue), "BROADCAST"),
            (UInt32(IFF_LOOPBACK.rawValue), "LOOPBACK"), (UInt32(IFF_POINTOPOINT.rawValue), "POINTOPOINT"),
            (UInt32(IFF_NOARP.rawValue), "NOARP"), (UInt32(IFF_PROMISC.rawValue), "PROMISC"),
            (UInt32(IFF_ALLMULTI.rawValue), "ALLMULTI"), (UInt32(IFF_MULTICAST.rawValue), "MULTICAST"),
            (UInt32(IFF_RUNNING.rawValue), "RUNNING"), (UInt32(IFF_LOWER_UP.rawValue), "LOWER_UP"),
            (UInt32(IFF_DORMANT.rawValue), "DORMANT"),
        ]
        return known.filter { flags & $0.0 != 0 }.map(\.1)
    }

    public init(index: Int32, name: String, hardwareType: UInt16 = UInt16(ARPHRD_ETHER), flags: UInt32 = 0,
                hardwareAddress: [UInt8] = [], mtu: UInt32? = nil, operState: OperState = .unknown,
                kind: String? = nil, masterIndex: Int32? = nil, statistics: LinkStatistics? = nil) {
        self.index = index
        self.name = name
        self.hardwareType = hardwareType
        self.flags = flags
        self.hardwareAddress = hardwareAddress
        self.mtu = mtu
        self.operState = operState
        self.kind = kind
        self.masterIndex = masterIndex
        self.statistics = statistics
    }

    /// Decodes an RTM_NEWLINK message.
    init(message nlh: UnsafePointer<nlmsghdr>) throws(NetlinkError) {
        let headerSize = MemoryLayout<ifinfomsg>.size
        guard Int(mnl_nlmsg_get_payload_len(nlh)) >= headerSize, let payload = mnl_nlmsg_get_payload(nlh) else {
            throw .malformed(request: "RTM_GETLINK dump", detail: "RTM_NEWLINK shorter than ifinfomsg")
        }
        let ifi = payload.loadUnaligned(as: ifinfomsg.self)
        let tb = attributeTable(nlh, offset: headerSize, max: Int(__IFLA_MAX) - 1)
        guard let nameAttr = tb[Int(IFLA_IFNAME)], let cName = mnl_attr_get_str(nameAttr) else {
            throw .malformed(request: "RTM_GETLINK dump", detail: "link \(ifi.ifi_index) without IFLA_IFNAME")
        }
        self.init(index: ifi.ifi_index, name: String(cString: cName), hardwareType: ifi.ifi_type,
                  flags: ifi.ifi_flags)
        if let attr = tb[Int(IFLA_ADDRESS)] { hardwareAddress = attributeBytes(attr) }
        if let attr = tb[Int(IFLA_MTU)], mnl_attr_get_payload_len(attr) >= 4 {
            mtu = mnl_attr_get_u32(attr)
        }
        if let attr = tb[Int(IFLA_OPERSTATE)], mnl_attr_get_payload_len(attr) >= 1 {
            operState = OperState(rawValue: mnl_attr_get_u8(attr))
        }
        if let attr = tb[Int(IFLA_MASTER)], mnl_attr_get_payload_len(attr) >= 4 {
            masterIndex = Int32(bitPattern: mnl_attr_get_u32(attr))
        }
        if let info = tb[Int(IFLA_LINKINFO)] {
            let nested = nestedAttributeTable(info, max: Int(__IFLA_INFO_MAX) - 1)
            if let attr = nested[Int(IFLA_INFO_KIND)], let k = mnl_attr_get_str(attr) {
                kind = String(cString: k)
            }
        }
        if let attr = tb[Int(IFLA_STATS64)] {
            statistics = LinkStatistics(attributeBytes(attr))
        }
    }
}

/// RFC 2863 operational state (IFLA_OPERSTATE, IF_OPER_*).
public struct OperState: RawRepresentable, Sendable, Equatable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let unknown = OperState(rawValue: UInt8(IF_OPER_UNKNOWN))
    public static let down = OperState(rawValue: UInt8(IF_OPER_DOWN))
    public static let up = OperState(rawValue: UInt8(IF_OPER_UP))

    /// The name `ip link` prints ("UP", "DOWN", "LOWERLAYERDOWN", ...).
    public var description: String {
        switch Int(rawValue) {
        case IF_OPER_UNKNOWN: "UNKNOWN"
        case IF_OPER_NOTPRESENT: "NOTPRESENT"
        case IF_OPER_DOWN: "DOWN"
        case IF_OPER_LOWERLAYERDOWN: "LOWERLAYERDOWN"
        case IF_OPER_TESTING: "TESTING"
        case IF_OPER_DORMANT: "DORMANT"
        case IF_OPER_UP: "UP"
        default: "\(rawValue)"
        }
    }
}

/// The payload bytes of an attribute.
func attributeBytes(_ attr: UnsafePointer<nlattr>) -> [UInt8] {
    let length = Int(mnl_attr_get_payload_len(attr))
    guard length > 0, let payload = mnl_attr_get_payload(attr) else { return [] }
    return Array(UnsafeRawBufferPointer(start: payload, count: length))
}

func formatHardwareAddress(_ bytes: [UInt8]) -> String {
    let digits: [Character] = Array("0123456789abcdef")
    return bytes.map { String([digits[Int($0 >> 4)], digits[Int($0 & 0xf)]]) }.joined(separator: ":")
}
