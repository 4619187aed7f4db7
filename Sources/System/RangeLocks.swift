import CShim
import Glibc

/// A lock file holding many independent locks, one per byte (open-file-description byte-range
/// locks, `fcntl(2)` F_OFD_SETLK): held by this open file description, inherited by children
/// given its fd, released when the last fd closes (a crashed holder releases everything).
public final class RangeLocks {
    private let fd: OwnedFD
    public let path: String

    /// Opens (O_CREAT|O_CLOEXEC|O_NOFOLLOW, 0600) `path`; nothing is locked yet.
    public init(path: String) throws(SystemError) {
        fd = try Sys.open(path, O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600, op: "open lock")
        self.path = path
    }

    /// The same for `name` in `dir` (`openat(2)`, never through a symlink, a regular file only).
    public init(in dir: DirectoryHandle, _ name: String) throws(SystemError) {
        fd = try dir.openLockFile(name)
        path = dir.path(of: name)
    }

    /// The fd, for children that must keep these locks held while they run.
    public var fileDescriptor: Int32 { fd.raw }

    /// Takes byte `index` (shared or exclusive), blocking up to `timeoutMs` (ETIMEDOUT; woken
    /// the moment the holder lets go, see `cshim_lock_wait`); `whileWaiting` runs about once a
    /// second while it is busy.
    public func lock(_ index: Int64, shared: Bool, timeoutMs: Int,
                     whileWaiting: (() -> Void)? = nil) throws(SystemError) {
        let deadline = Sys.nowMs() + max(0, timeoutMs)
        var nextCallback = Sys.nowMs() + 1000
        while true {
            if try tryLock(index, shared: shared) { return }
            let now = Sys.nowMs()
            if now >= deadline { throw SystemError(op: "lock", path: "\(path) [\(index)]", errno: ETIMEDOUT) }
            if let whileWaiting, now >= nextCallback {
                whileWaiting()
                nextCallback = now + 1000
            }
            let left = deadline - now
            let chunk = whileWaiting == nil ? left : min(left, max(1, nextCallback - now))
            if cshim_lock_wait(fd.raw, Int32((shared ? CSHIM_LOCKWAIT_BYTE_SHARED : CSHIM_LOCKWAIT_BYTE_EXCLUSIVE).rawValue), index,
                               Int32(clamping: chunk)) == 0 { return }
            let err = Glibc.errno
            // EDEADLK (a lock cycle the kernel sees): back off and try again, as polling did.
            if err == EDEADLK { Sys.sleepMs(min(10, max(1, left))); continue }
            if err != EINTR && err != EAGAIN && err != EACCES {
                throw SystemError(op: "lock", path: "\(path) [\(index)]", errno: err)
            }
        }
    }

    /// Takes byte `index` if free now; false if someone else holds it.
    public func tryLock(_ index: Int64, shared: Bool) throws(SystemError) -> Bool {
        let kind = shared ? CSHIM_LOCK_SHARED : CSHIM_LOCK_EXCLUSIVE
        if cshim_ofd_lock(fd.raw, index, 1, Int32(kind.rawValue), 0) == 0 { return true }
        let err = Glibc.errno
        if err == EAGAIN || err == EACCES || err == EINTR { return false }
        throw SystemError(op: "lock", path: "\(path) [\(index)]", errno: err)
    }

    public func unlock(_ index: Int64) {
        _ = cshim_ofd_lock(fd.raw, index, 1, Int32(CSHIM_LOCK_UNLOCK.rawValue), 0)
    }
}
