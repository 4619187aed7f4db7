/// Who a pid is, so a pid file can never make us signal an unrelated process that reused the pid:
/// the start time (clock ticks since boot, /proc/PID/stat field 22) and the executable.
public struct ProcessIdentity: Equatable, Sendable, CustomStringConvertible {
    public var pid: Int32
    public var startTime: UInt64
    /// readlink /proc/PID/exe, without the ` (deleted)` suffix the kernel adds after an upgrade
    /// replaced the binary.
    public var exe: String

    public init(pid: Int32, startTime: UInt64, exe: String) {
        self.pid = pid
        self.startTime = startTime
        self.exe = ProcessIdentity.normalize(exe: exe)
    }

    static func normalize(exe: String) -> String {
        exe.hasSuffix(" (deleted)") ? String(exe.dropLast(" (deleted)".count)) : exe
    }

    /// `pid starttime exe` (one line; exe may contain spaces, it is the rest of the line).
    public var encoded: String { "\(pid) \(startTime) \(exe)" }

    public var description: String { encoded }

    /// Parses `encoded` (surrounding whitespace and a trailing newline are fine); nil if malformed.
    public init?(encoded text: String) {
        var s = Substring(text)
        while let c = s.last, c == "\n" || c == " " || c == "\r" { s = s.dropLast() }
        while let c = s.first, c == " " { s = s.dropFirst() }
        let parts = s.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let pid = Int32(parts[0]), pid > 0, let start = UInt64(parts[1]),
              parts[2].hasPrefix("/") else { return nil }
        self.init(pid: pid, startTime: start, exe: String(parts[2]))
    }
}
