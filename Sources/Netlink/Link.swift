import CNetlinkShim
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
        guard Int(cshim_nlmsg_payload_len(nlh)) >= headerSize, let payload = cshim_nlmsg_payload(nlh) else {
            throw .malformed(request: "RTM_GETLINK dump", detail: "RTM_NEWLINK shorter than ifinfomsg")
        }
        let ifi = payload.loadUnaligned(as: ifinfomsg.self)
        let tb = attributeTable(nlh, offset: headerSize, max: Int(__IFLA_MAX) - 1)
        guard let nameAttr = tb[Int(IFLA_IFNAME)], let name = attributeString(nameAttr) else {
            throw .malformed(request: "RTM_GETLINK dump", detail: "link \(ifi.ifi_index) without IFLA_IFNAME")
        }
        self.init(index: ifi.ifi_index, name: name, hardwareType: ifi.ifi_type,
                  flags: ifi.ifi_flags)
        if let attr = tb[Int(IFLA_ADDRESS)] { hardwareAddress = attributeBytes(attr) }
        if let attr = tb[Int(IFLA_MTU)], cshim_nlattr_payload_len(attr) >= 4 {
            mtu = attributeU32(attr)
        }
        if let attr = tb[Int(IFLA_OPERSTATE)], cshim_nlattr_payload_len(attr) >= 1 {
            operState = OperState(rawValue: attributeU8(attr))
        }
        if let attr = tb[Int(IFLA_MASTER)], cshim_nlattr_payload_len(attr) >= 4 {
            masterIndex = Int32(bitPattern: attributeU32(attr))
        }
        if let info = tb[Int(IFLA_LINKINFO)] {
            let nested = nestedAttributeTable(info, max: Int(__IFLA_INFO_MAX) - 1)
            if let attr = nested[Int(IFLA_INFO_KIND)] { kind = attributeString(attr) }
        }
        if let attr = tb[Int(IFLA_STATS64)] {
            statistics = LinkStatistics(attr)
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
    Array(attributePayload(attr))
}

func attributePayload(_ attr: UnsafePointer<nlattr>) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: cshim_nlattr_payload(attr), count: Int(cshim_nlattr_payload_len(attr)))
}

/// A NUL-terminated string attribute, read no further than its payload (a missing NUL is tolerated).
func attributeString(_ attr: UnsafePointer<nlattr>) -> String? {
    let payload = attributePayload(attr)
    guard payload.baseAddress != nil else { return nil }
    let end = payload.firstIndex(of: 0) ?? payload.count
    return String(decoding: UnsafeRawBufferPointer(rebasing: payload[..<end]), as: UTF8.self)
}

/// Fixed-size attributes, host byte order; callers check the payload length first (0 if short).
func attributeU32(_ attr: UnsafePointer<nlattr>) -> UInt32 {
    let payload = attributePayload(attr)
    return payload.count >= 4 ? payload.loadUnaligned(as: UInt32.self) : 0
}

func attributeU8(_ attr: UnsafePointer<nlattr>) -> UInt8 {
    let payload = attributePayload(attr)
    return payload.count >= 1 ? payload[0] : 0
}

func formatHardwareAddress(_ bytes: [UInt8]) -> String {
    let digits: [Character] = Array("0123456789abcdef")
    return bytes.map { String([digits[Int($0 >> 4)], digits[Int($0 & 0xf)]]) }.joined(separator: ":")
}
