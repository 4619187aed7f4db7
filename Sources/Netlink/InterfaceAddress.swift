import CNetlinkShim
import IP
#if canImport(Glibc)
import Glibc
#endif

/// One address from an RTM_NEWADDR message.
public struct InterfaceAddress: Sendable, Equatable {
    public var interfaceIndex: Int32
    /// IFA_LOCAL when present (the local end on point-to-point links), else IFA_ADDRESS.
    public var address: IPAddress
    public var prefixLength: Int
    /// RT_SCOPE_* (universe 0, site 200, link 253, host 254, nowhere 255).
    public var scope: UInt8
    /// IFA_F_* flags; IFA_FLAGS (32-bit) wins over the 8-bit header field.
    public var flags: UInt32
    public var label: String?

    public init(interfaceIndex: Int32, address: IPAddress, prefixLength: Int,
                scope: UInt8 = UInt8(RT_SCOPE_UNIVERSE.rawValue), flags: UInt32 = 0, label: String? = nil) {
        self.interfaceIndex = interfaceIndex
        self.address = address
        self.prefixLength = prefixLength
        self.scope = scope
        self.flags = flags
        self.label = label
    }

    public var prefix: IPNetwork? { IPNetwork(address: address, prefixLength: prefixLength) }
    /// "10.88.0.2/24", as `ip address` prints it.
    public var cidr: String { "\(address.text(.inetNtop))/\(prefixLength)" }

    /// The name `ip addr` prints for the scope.
    public var scopeName: String {
        switch UInt32(scope) {
        case RT_SCOPE_UNIVERSE.rawValue: "global"
        case RT_SCOPE_SITE.rawValue: "site"
        case RT_SCOPE_LINK.rawValue: "link"
        case RT_SCOPE_HOST.rawValue: "host"
        case RT_SCOPE_NOWHERE.rawValue: "nowhere"
        default: "\(scope)"
        }
    }

    public var flagNames: [String] {
        let known: [(Int32, String)] = [
            (IFA_F_SECONDARY, address.isIPv4 ? "secondary" : "temporary"), (IFA_F_NODAD, "nodad"),
            (IFA_F_OPTIMISTIC, "optimistic"), (IFA_F_DADFAILED, "dadfailed"), (IFA_F_HOMEADDRESS, "home"),
            (IFA_F_DEPRECATED, "deprecated"), (IFA_F_TENTATIVE, "tentative"), (IFA_F_PERMANENT, "permanent"),
            (IFA_F_MANAGETEMPADDR, "mngtmpaddr"), (IFA_F_NOPREFIXROUTE, "noprefixroute"),
            (IFA_F_MCAUTOJOIN, "autojoin"), (IFA_F_STABLE_PRIVACY, "stable-privacy"),
        ]
        return known.filter { flags & UInt32($0.0) != 0 }.map(\.1)
    }

    init?(message nlh: UnsafePointer<nlmsghdr>, request: String) throws(NetlinkError) {
        let headerSize = MemoryLayout<ifaddrmsg>.size
        guard Int(cshim_nlmsg_payload_len(nlh)) >= headerSize, let payload = cshim_nlmsg_payload(nlh) else {
            throw .malformed(request: request, detail: "RTM_NEWADDR shorter than ifaddrmsg")
        }
        let ifa = payload.loadUnaligned(as: ifaddrmsg.self)
        let tb = attributeTable(nlh, offset: headerSize, max: Int(__IFA_MAX) - 1)
        let attr = tb[Int(IFA_LOCAL)] ?? tb[Int(IFA_ADDRESS)]
        // Families other than v4/v6 (none are asked for) carry no IP address: skip, don't fail.
        guard let attr, let address = IPAddress(bytes: attributeBytes(attr)) else { return nil }
        var flags = UInt32(ifa.ifa_flags)
        if let f = tb[Int(IFA_FLAGS)], cshim_nlattr_payload_len(f) >= 4 { flags = attributeU32(f) }
        var label: String?
        if let l = tb[Int(IFA_LABEL)] { label = attributeString(l) }
        self.init(interfaceIndex: Int32(bitPattern: ifa.ifa_index), address: address,
                  prefixLength: Int(ifa.ifa_prefixlen), scope: ifa.ifa_scope, flags: flags, label: label)
    }
}
