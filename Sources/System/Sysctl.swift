import Glibc

/// Kernel parameters under /proc/sys, for the namespace this process is in (/proc/sys/net shows
/// the network namespace of whoever opens it).
public enum Sysctl {
    /// Writes `value` to `key` (`net.ipv6.conf.all.accept_dad` → /proc/sys/net/ipv6/conf/all/accept_dad).
    /// A key that is empty or contains "/" is refused (EINVAL): it could climb out of /proc/sys.
    public static func write(_ key: String, _ value: String) throws(SystemError) {
        guard !key.isEmpty, !key.contains("/") else { throw SystemError(op: "sysctl", path: key, errno: EINVAL) }
        let path = path(of: key)
        let fd = try Sys.open(path, O_WRONLY)
        let bytes = Array(value.utf8)
        // One write: a sysctl takes its value from a single write(2).
        let n = bytes.withUnsafeBytes { Glibc.write(fd.raw, $0.baseAddress, $0.count) }
        if n != bytes.count { throw SystemError.last("write", path) }
    }

    /// The /proc/sys file of `key` (dots become slashes).
    public static func path(of key: String) -> String { "/proc/sys/" + String(key.map { $0 == "." ? "/" : $0 }) }
}
