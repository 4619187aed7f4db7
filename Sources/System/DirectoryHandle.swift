import Glibc

/// An open directory that everything under it goes through (`openat(2)`, `unlinkat(2)`,
/// `mkdirat(2)`, `renameat(2)`, `fstatat(2)`), so once it is verified, nobody who can write an
/// ancestor can redirect us elsewhere by swapping a path component for a symlink.
///
/// Names passed to the methods are single components (no "/"), except `makeDirectories`.
/// Every fd is O_CLOEXEC and at least `minFD`, so a child's dup2 onto 0...9 never clobbers it
/// while it still mounts through `procPath`.
public final class DirectoryHandle {
    public let fd: OwnedFD
    /// The canonical path it was opened at (no symlinks, no "." or ".."), for messages and for
    /// strings that must be given to other processes.
    public let path: String
    public let info: FileInfo

    static let minFD: Int32 = 10

    init(adopting raw: Int32, path: String) throws(SystemError) {
        var st = Glibc.stat()
        let high = fcntl(raw, F_DUPFD_CLOEXEC, Self.minFD)
        let err = Glibc.errno
        _ = Glibc.close(raw)
        if high < 0 { throw SystemError(op: "dup", path: path, errno: err) }
        fd = OwnedFD(adopting: high)
        self.path = path
        if fstat(high, &st) != 0 { throw SystemError.last("fstat", path) }
        info = FileInfo(st)
    }

    /// `/proc/self/fd/N`: this very directory whatever happens to its path, for this process and
    /// for a forked child before it execs (the fd is close-on-exec).
    public var procPath: String { "/proc/self/fd/\(fd.raw)" }

    /// `path/name`, for messages and for processes that need a string.
    public func path(of name: String) -> String { path == "/" ? "/" + name : path + "/" + name }

    /// Whether `path` still leads to this directory (same st_dev/st_ino), i.e. a string path
    /// built from it is worth handing to another process right now.
    public var isStillAtPath: Bool {
        var st = Glibc.stat()
        return fstatat(AT_FDCWD, path, &st, 0) == 0 && UInt64(st.st_dev) == info.dev && UInt64(st.st_ino) == info.ino
    }

    private func checkName(_ name: String, _ op: String) throws(SystemError) {
        if name.isEmpty || name == "." || name == ".." || name.utf8.contains(UInt8(ascii: "/")) || name.utf8.contains(0) {
            throw SystemError(op: "\(op): not a single path component", path: path(of: name), errno: EINVAL)
        }
    }

    // MARK: - Entries

    /// `fstatat(2)` AT_SYMLINK_NOFOLLOW; nil when missing.
    public func lstat(_ name: String) throws(SystemError) -> FileInfo? {
        try checkName(name, "lstat")
        var st = Glibc.stat()
        if fstatat(fd.raw, name, &st, AT_SYMLINK_NOFOLLOW) == 0 { return FileInfo(st) }
        if Glibc.errno == ENOENT { return nil }
        throw SystemError.last("lstat", path(of: name))
    }

    /// Names in the directory (no `.`/`..`), sorted.
    public func list() throws(SystemError) -> [String] {
        let dup = openat(fd.raw, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dup < 0 { throw SystemError.last("open directory", path) }
        return try DirReader.names(taking: OwnedFD(adopting: dup), path: path)
    }

    /// The subdirectory `name`, never through a symlink; created (exactly `mode`) if `create`
    /// and missing. It must be a directory owned by the caller.
    public func openDirectory(_ name: String, create: Bool = false, mode: mode_t = 0o700) throws(SystemError) -> DirectoryHandle {
        try checkName(name, "open directory")
        if create && mkdirat(fd.raw, name, mode) == 0 {
            let sub = try openSub(name)
            if fchmod(sub.fd.raw, mode) != 0 { throw SystemError.last("chmod", sub.path) }
            return sub
        }
        if create && Glibc.errno != EEXIST { throw SystemError.last("mkdir", path(of: name)) }
        return try openSub(name)
    }

    private func openSub(_ name: String) throws(SystemError) -> DirectoryHandle {
        let raw = try Sys.retry("open directory", path(of: name)) {
            openat(fd.raw, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        }
        let sub = try DirectoryHandle(adopting: raw, path: path(of: name))
        if sub.info.uid != geteuid() {
            throw SystemError(op: "open directory: owned by uid \(sub.info.uid), not the caller", path: sub.path, errno: EPERM)
        }
        return sub
    }

    /// `mkdir -p` of a relative path below this directory: every component is opened with
    /// O_NOFOLLOW, missing ones are created with exactly `mode`. Returns the last one.
    @discardableResult
    public func makeDirectories(_ relative: String, mode: mode_t = 0o700) throws(SystemError) -> DirectoryHandle {
        var current = self
        for part in relative.split(separator: "/", omittingEmptySubsequences: true) {
            current = try current.openDirectory(String(part), create: true, mode: mode)
        }
        return current
    }

    /// Removes a file, symlink or empty directory; missing is fine.
    public func remove(_ name: String) throws(SystemError) {
        try checkName(name, "remove")
        if unlinkat(fd.raw, name, 0) == 0 { return }
        var err = Glibc.errno
        if err == EISDIR || err == EPERM {
            if unlinkat(fd.raw, name, AT_REMOVEDIR) == 0 { return }
            err = Glibc.errno == ENOTDIR ? err : Glibc.errno
        }
        if err == ENOENT { return }
        throw SystemError(op: "remove", path: path(of: name), errno: err)
    }

    /// `rm -rf name` below this directory, never following symlinks nor crossing mounts (see
    /// `FS.removeTree`); missing is fine.
    public func removeTree(_ name: String) throws(SystemError) {
        try checkName(name, "remove tree")
        try FS.removeTree(at: fd.raw, name: name, path: path(of: name))
    }

    // MARK: - Files

    /// Opens `name` for reading: never through a symlink, never blocking (a FIFO put in place of
    /// a record must not hang us), and only if it is a regular file.
    public func openRegularFile(_ name: String) throws(SystemError) -> OwnedFD {
        try checkName(name, "open")
        let raw = try Sys.retry("open", path(of: name)) {
            openat(fd.raw, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        }
        let file = OwnedFD(adopting: raw)
        try FS.requireRegular(file.raw, path: path(of: name))
        return file
    }

    /// The whole regular file `name` (see `openRegularFile`), refusing more than `limit` bytes.
    public func readFile(_ name: String, limit: Int = 16 << 20) throws(SystemError) -> [UInt8] {
        let file = try openRegularFile(name)
        return try FS.readAll(file.raw, path: path(of: name), limit: limit)
    }

    /// Writes `name` atomically and durably: `NAME.tmp-PID` (O_CREAT|O_EXCL|O_NOFOLLOW, exactly
    /// `mode`), `fsync(2)`, `renameat(2)` over `name`, `fsync(2)` of the directory. Readers see
    /// the old or the new content; after a crash, one of them is on disk. `durable: false` skips
    /// both fsyncs (still atomic for every reader, and after a process crash): for caches that
    /// are checked before use, where each flush would cost a journal commit.
    public func writeFileAtomically(_ name: String, _ bytes: [UInt8], mode: mode_t = 0o600,
                                    durable: Bool = true) throws(SystemError) {
        try checkName(name, "write")
        let tmp = "\(name).tmp-\(getpid())"
        _ = unlinkat(fd.raw, tmp, 0)  // a leftover of a crashed run with our pid
        do throws(SystemError) {
            let raw = try Sys.retry("create", path(of: tmp)) {
                openat(fd.raw, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            }
            let file = OwnedFD(adopting: raw)
            if fchmod(file.raw, mode) != 0 { throw SystemError.last("chmod", path(of: tmp)) }
            try Sys.writeAll(file.raw, bytes, op: "write", path: path(of: tmp))
            if durable, fsync(file.raw) != 0 { throw SystemError.last("fsync", path(of: tmp)) }
            try file.close()
            if renameat(fd.raw, tmp, fd.raw, name) != 0 { throw SystemError.last("rename \(path(of: tmp)) to", path(of: name)) }
        } catch {
            _ = unlinkat(fd.raw, tmp, 0)
            throw error
        }
        if durable { try sync() }
    }

    /// Creates an empty file if missing (never through a symlink); an existing one is left as is.
    public func createFile(_ name: String, mode: mode_t = 0o600) throws(SystemError) {
        try checkName(name, "create")
        let raw = try Sys.retry("create", path(of: name)) {
            openat(fd.raw, name, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode)
        }
        _ = Glibc.close(raw)
    }

    /// Opens (creating, 0600) `name` for locking; never through a symlink, only a regular file.
    func openLockFile(_ name: String) throws(SystemError) -> OwnedFD {
        try checkName(name, "open lock")
        let raw = try Sys.retry("open lock", path(of: name)) {
            openat(fd.raw, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
        }
        let file = OwnedFD(adopting: raw)
        try FS.requireRegular(file.raw, path: path(of: name))
        return file
    }

    /// `fsync(2)` of the directory itself (makes renames and unlinks in it durable).
    /// EINVAL/EROFS (filesystems that cannot sync directories) count as done.
    public func sync() throws(SystemError) {
        if fsync(fd.raw) != 0 && Glibc.errno != EINVAL && Glibc.errno != EROFS && Glibc.errno != EBADF {
            throw SystemError.last("fsync", path)
        }
    }
}
