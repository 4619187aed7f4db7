import CShim
import Glibc

/// Facts about the current process: who it runs as, where, with which environment.
public enum Identity {
    /// `geteuid(2)`.
    public static var euid: uid_t { geteuid() }

    /// True in the initial user namespace: /proc/self/uid_map is the identity map
    /// `0 0 4294967295`. False in a rootless session (`unshare --user --map-root-user`).
    public static var inInitialUserNamespace: Bool {
        guard let text = try? FS.readText("/proc/self/uid_map") else { return false }
        let lines = text.split(separator: "\n")
        guard lines.count == 1 else { return false }
        return lines[0].split(separator: " ", omittingEmptySubsequences: true) == ["0", "0", "4294967295"]
    }

    /// The process environment (from `environ`); for duplicate names the first wins, as getenv(3).
    public static func environment() -> [String: String] {
        var env: [String: String] = [:]
        guard var p = cshim_environ() else { return env }
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") {
                let key = String(s[..<eq])
                if env[key] == nil { env[key] = String(s[s.index(after: eq)...]) }
            }
            p += 1
        }
        return env
    }

    /// `getpid(2)`.
    public static var pid: Int32 { getpid() }

    /// `getcwd(3)`; nil when it fails (the directory was removed).
    public static func currentDirectory() -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buf, buf.count) != nil else { return nil }
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The getcwd(2) system call; nil when it fails (the directory was removed) or the cwd is
    /// not reachable from this mount namespace's root (the kernel's "(unreachable)/..."), where
    /// getcwd(3) would walk ".." reading every ancestor directory (a plugin run by a runtime that
    /// joined a rootless session from /tmp read /tmp's thousands of entries on every ADD and DEL).
    public static func reachableCurrentDirectory() -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard cshim_getcwd_syscall(&buf, UInt(buf.count)) > 0, buf[0] == 0x2F else { return nil }
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// This executable (`/proc/self/exe`), for re-running ourselves as a helper.
    public static func executablePath() throws(SystemError) -> String { try FS.readlink("/proc/self/exe") }

    /// `exit(3)`: the executables end here with their status.
    public static func exit(_ status: Int32) -> Never { Glibc.exit(status) }
}
