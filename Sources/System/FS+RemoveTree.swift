import CShim
import Glibc

extension FS {
    /// `rm -rf path` that never follows symlinks (`openat(2)` O_NOFOLLOW, `fstatat(2)`
    /// AT_SYMLINK_NOFOLLOW, `unlinkat(2)`) and never crosses a mount point: an entry on another
    /// mount (mount id from `statx(2)` STATX_MNT_ID, else `st_dev`) is left in place and reported
    /// as EBUSY after everything else was removed. A missing path is fine.
    public static func removeTree(_ path: String) throws(SystemError) {
        try removeTree(at: AT_FDCWD, name: path, path: path)
    }

    /// The same for `name` relative to the directory `dirfd` (`path` is for messages).
    static func removeTree(at dirfd: Int32, name: String, path: String) throws(SystemError) {
        var st = Glibc.stat()
        if fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
            if Glibc.errno == ENOENT { return }
            throw SystemError.last("lstat", path)
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            if unlinkat(dirfd, name, 0) != 0 && Glibc.errno != ENOENT { throw SystemError.last("unlink", path) }
            return
        }
        let fd = try Sys.retry("open directory", path) { openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        let owned = OwnedFD(adopting: fd)
        let key = MountKey.of(dirfd: dirfd, name: name, dev: UInt64(st.st_dev))
        var firstError: SystemError?
        removeContents(of: owned.raw, path: path, mount: key, firstError: &firstError)
        if let firstError { throw firstError }
        if unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && Glibc.errno != ENOENT { throw SystemError.last("rmdir", path) }
    }

    private static func removeContents(of dirfd: Int32, path: String, mount: MountKey, firstError: inout SystemError?) {
        func note(_ e: SystemError) { if firstError == nil { firstError = e } }
        let names: [String]
        do throws(SystemError) {
            let dup = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)
            if dup < 0 { throw SystemError.last("dup", path) }
            names = try DirReader.names(taking: OwnedFD(adopting: dup), path: path)
        } catch { return note(error) }
        for name in names {
            let child = path.hasSuffix("/") ? path + name : path + "/" + name
            var st = Glibc.stat()
            if fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
                if Glibc.errno != ENOENT { note(SystemError.last("lstat", child)) }
                continue
            }
            if MountKey.of(dirfd: dirfd, name: name, dev: UInt64(st.st_dev)) != mount {
                note(SystemError(op: "remove tree: mount point", path: child, errno: EBUSY))
                continue
            }
            if st.st_mode & S_IFMT == S_IFDIR {
                let sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if sub < 0 {
                    note(SystemError.last("open directory", child))
                    continue
                }
                let owned = OwnedFD(adopting: sub)
                removeContents(of: owned.raw, path: child, mount: mount, firstError: &firstError)
                if unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && Glibc.errno != ENOENT {
                    note(SystemError.last("rmdir", child))
                }
            } else if unlinkat(dirfd, name, 0) != 0 && Glibc.errno != ENOENT {
                note(SystemError.last("unlink", child))
            }
        }
    }
}

/// Which mount an entry is on: the statx(2) mount id when the kernel has one, else st_dev
/// (which misses bind mounts within one filesystem, hence the preference).
enum MountKey: Equatable {
    case mountID(UInt64)
    case device(UInt64)

    static func of(dirfd: Int32, name: String, dev: UInt64) -> MountKey {
        var id: UInt64 = 0
        if cshim_mount_id_at(dirfd, name, &id) == 0 { return .mountID(id) }
        return .device(dev)
    }
}
