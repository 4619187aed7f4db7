import CShim
import Glibc

/// An exclusive `flock(2)` on a lock file, held until the value goes away (or `release()`).
///
/// flock locks belong to the open file description, so two `Lock`s on one path exclude each other
/// even within one process, and a crashed holder releases the lock automatically.
public struct Lock: ~Copyable {
    private let fd: OwnedFD
    public let path: String

    private init(fd: consuming OwnedFD, path: String) {
        self.fd = fd
        self.path = path
    }

    /// Opens (O_CREAT|O_CLOEXEC|O_NOFOLLOW, 0600) and locks `path` with LOCK_EX. Without a timeout
    /// it waits as long as needed; with one it blocks (woken the moment the holder lets go; see
    /// `cshim_lock_wait`) and throws ETIMEDOUT (`lock PATH: Connection timed out`) when it expires.
    ///
    /// `whileWaiting` runs about once a second while the lock is busy (e.g. to enforce the
    /// deadline of a holder whose owner died).
    public static func exclusive(_ path: String, timeoutMs: Int? = nil,
                                 whileWaiting: (() -> Void)? = nil) throws(SystemError) -> Lock {
        let fd = try Sys.open(path, O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600, op: "open lock")
        return try lock(fd, path: path, timeoutMs: timeoutMs, whileWaiting: whileWaiting)
    }

    /// The same for `name` in `dir` (`openat(2)`, never through a symlink, a regular file only).
    public static func exclusive(in dir: DirectoryHandle, _ name: String, timeoutMs: Int? = nil) throws(SystemError) -> Lock {
        try lock(try dir.openLockFile(name), path: dir.path(of: name), timeoutMs: timeoutMs, whileWaiting: nil)
    }

    private static func lock(_ fd: consuming OwnedFD, path: String, timeoutMs: Int?,
                             whileWaiting: (() -> Void)?) throws(SystemError) -> Lock {
        guard let timeoutMs else {
            _ = try Sys.retry("lock", path) { flock(fd.raw, LOCK_EX) }
            return Lock(fd: fd, path: path)
        }
        let deadline = Sys.nowMs() + max(0, timeoutMs)
        var nextCallback = Sys.nowMs() + 1000
        while true {
            if flock(fd.raw, LOCK_EX | LOCK_NB) == 0 { return Lock(fd: fd, path: path) }
            let err = Glibc.errno
            if err != EWOULDBLOCK && err != EINTR { throw SystemError(op: "lock", path: path, errno: err) }
            let now = Sys.nowMs()
            let left = deadline - now
            if left <= 0 { throw SystemError(op: "lock", path: path, errno: ETIMEDOUT) }
            if let whileWaiting, now >= nextCallback {
                whileWaiting()
                nextCallback = now + 1000
            }
            let chunk = whileWaiting == nil ? left : min(left, max(1, nextCallback - now))
            let kind = Int32(CSHIM_LOCKWAIT_FLOCK.rawValue)
            if cshim_lock_wait(fd.raw, kind, 0, Int32(clamping: chunk)) == 0 { return Lock(fd: fd, path: path) }
            let waitErr = Glibc.errno
            if waitErr != EINTR && waitErr != EWOULDBLOCK { throw SystemError(op: "lock", path: path, errno: waitErr) }
        }
    }

    /// Releases now (closing the fd drops the lock).
    public consuming func release() {}
}
