import CShim
import Glibc

/// Processes we did not necessarily start (a helper recorded in a pid file).
public enum Processes {
    /// Identity from /proc/PID/stat (start time, field 22, parsed after the last `)` because the
    /// command name may contain spaces and parentheses) and `readlink(2)` /proc/PID/exe.
    /// nil if the process is gone, a zombie, or its exe is unreadable (another user's process).
    public static func identity(of pid: pid_t) -> ProcessIdentity? {
        guard let stat = statFields(pid), stat.count > 19, stat[0] != "Z", stat[0] != "X",
              let start = UInt64(stat[19]),
              let exe = try? FS.readlink("/proc/\(pid)/exe") else { return nil }
        return ProcessIdentity(pid: pid, startTime: start, exe: exe)
    }

    /// Fields 3... of /proc/PID/stat (index 0 is the state letter).
    static func statFields(_ pid: pid_t) -> [Substring]? {
        guard pid > 0, let text = try? FS.readText("/proc/\(pid)/stat", limit: 4096),
              let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    /// True if the process exists and is not a zombie.
    public static func isAlive(_ pid: pid_t) -> Bool {
        guard let f = statFields(pid), let state = f.first else { return false }
        return state != "Z" && state != "X"
    }

    /// Sends `signal` only if `pid` is still `expected`: `pidfd_open(2)` first, verify the identity
    /// while holding the pidfd (so the pid cannot be recycled in between), then
    /// `pidfd_send_signal(2)`. Without pidfd syscalls (ENOSYS) it verifies and uses `kill(2)`.
    /// Returns false (and signals nothing) if the process is gone or is someone else.
    public static func signalIfMatches(_ pid: pid_t, expected: ProcessIdentity, signal: Int32) throws(SystemError) -> Bool {
        guard pid > 0, pid == expected.pid else { return false }
        let raw = cshim_pidfd_open(pid)
        if raw < 0 {
            let err = Glibc.errno
            if err == ESRCH { return false }
            guard err == ENOSYS else { throw SystemError(op: "pidfd_open", path: String(pid), errno: err) }
            guard identity(of: pid) == expected else { return false }
            if kill(pid, signal) == 0 { return true }
            if Glibc.errno == ESRCH { return false }
            throw SystemError.last("kill -\(signal)", String(pid))
        }
        let pidfd = OwnedFD(adopting: raw)
        guard identity(of: pid) == expected else { return false }
        if cshim_pidfd_send_signal(pidfd.raw, signal) == 0 { return true }
        if Glibc.errno == ESRCH { return false }
        throw SystemError.last("pidfd_send_signal \(signal)", String(pid))
    }

    /// SIGTERM, wait up to `graceMs` for it to go (polling its pidfd, else /proc), then SIGKILL.
    /// Does nothing if the process is gone or is not `expected`. Reaps it if it is our child.
    public static func terminate(_ pid: pid_t, expected: ProcessIdentity, graceMs: Int) throws(SystemError) {
        let raw = cshim_pidfd_open(pid)
        let pidfd: OwnedFD? = raw >= 0 ? OwnedFD(adopting: raw) : nil
        guard try signalIfMatches(pid, expected: expected, signal: SIGTERM) else { return }
        if !waitGone(pid, expected: expected, pidfd: pidfd.raw, timeoutMs: graceMs) {
            _ = try signalIfMatches(pid, expected: expected, signal: SIGKILL)
            _ = waitGone(pid, expected: expected, pidfd: pidfd.raw, timeoutMs: 2000)
        }
    }

    /// Waits until `pid` is gone, a zombie (reaped if it is our child) or someone else.
    private static func waitGone(_ pid: pid_t, expected: ProcessIdentity, pidfd: Int32?, timeoutMs: Int) -> Bool {
        let deadline = Sys.nowMs() + max(0, timeoutMs)
        while true {
            _ = waitpid(pid, nil, WNOHANG)  // our child: reap it; ECHILD otherwise
            if !isAlive(pid) { return true }
            if let now = identity(of: pid), now != expected { return true }  // pid reused
            let left = deadline - Sys.nowMs()
            if left <= 0 { return false }
            if let pidfd {
                _ = try? Sys.pollOne(pidfd, events: Int16(POLLIN), timeoutMs: min(left, 100))
            } else {
                Sys.sleepMs(min(left, 10))
            }
        }
    }
}
