#if canImport(Glibc)
import Glibc
#endif
import IP

extension IPAddress {
    /// AF_INET or AF_INET6: the family netlink messages and route dumps carry.
    public var family: Int32 { isIPv4 ? AF_INET : AF_INET6 }
}
