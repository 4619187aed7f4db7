import Glibc

/// Phase timestamps for profiling (`RCNI_PHASE_LOG=FILE`): each `mark` appends one line
/// "PID MONOTONIC_NS LABEL" with O_APPEND (one write, so lines of concurrent processes never
/// interleave). Off, and free, when the variable is unset.
public enum PhaseTrace {
    nonisolated(unsafe) private static var fd: Int32 = -2

    public static func mark(_ label: String) {
        if fd == -2 {
            if let p = getenv("RCNI_PHASE_LOG") {
                fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            } else {
                fd = -1
            }
        }
        guard fd >= 0 else { return }
        let line = Array("\(getpid()) \(Clock.monotonicNs()) \(label)\n".utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
