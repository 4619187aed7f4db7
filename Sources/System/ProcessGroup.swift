import Glibc

extension Processes {
    /// SIGKILLs the process group led by `expected` (a child spawned with its own group), only
    /// if its leader is still `expected` (checked while holding a pidfd, see `signalIfMatches`).
    /// Returns false if the leader is gone or someone else.
    public static func killGroup(ledBy expected: ProcessIdentity) throws(SystemError) -> Bool {
        guard try signalIfMatches(expected.pid, expected: expected, signal: SIGKILL) else { return false }
        // The leader's descendants in its group (a delegate's iptables); the group id cannot be
        // reused while its leader is an unreaped zombie or alive.
        _ = kill(-expected.pid, SIGKILL)
        return true
    }

    /// This process.
    public static func current() -> ProcessIdentity? { identity(of: getpid()) }
}
