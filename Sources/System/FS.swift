import Glibc

/// Filesystem operations. Every fd is O_CLOEXEC; every failure is a `SystemError` naming the path.
public enum FS {
    /// Reads a whole regular file (`open(2)` O_NONBLOCK, so a FIFO put in its place fails
    /// instead of hanging us; anything but a regular file is EINVAL), refusing files larger
    /// than `limit` (EFBIG).
    public static func readFile(_ path: String, limit: Int = 16 << 20) throws(SystemError) -> [UInt8] {
        let fd = try Sys.open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY)
        try requireRegular(fd.raw, path: path)
        return try readAll(fd.raw, path: path, limit: limit)
    }

    /// EINVAL ("not a regular file") unless `fd` is a regular file.
    static func requireRegular(_ fd: Int32, path: String) throws(SystemError) {
        var st = Glibc.stat()
        if fstat(fd, &st) != 0 { throw SystemError.last("fstat", path) }
        if st.st_mode & S_IFMT != S_IFREG { throw SystemError(op: "read: not a regular file", path: path, errno: EINVAL) }
    }

    static func readAll(_ fd: Int32, path: String, limit: Int) throws(SystemError) -> [UInt8] {
        var out: [UInt8] = []
        // A buffer the size of the file (+1), not 64 KiB: each is allocated zeroed, and every
        // ADD reads a small file per attachment.
        var st = Glibc.stat()
        let size = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? Int(st.st_size) : -1
        let max = size >= 0 ? Swift.min(65536, Swift.max(size + 1, 256)) : 65536
        while true {
            let chunk = try Sys.readSome(fd, max: max, op: "read", path: path)
            if chunk.isEmpty { return out }
            out += chunk
            if out.count > limit { throw SystemError(op: "read", path: path, errno: EFBIG) }
        }
    }

    /// Reads a whole file as UTF-8 (invalid sequences repaired).
    public static func readText(_ path: String, limit: Int = 16 << 20) throws(SystemError) -> String {
        String(decoding: try readFile(path, limit: limit), as: UTF8.self)
    }

    /// Writes `bytes` to `path.tmp-PID` (O_CREAT|O_EXCL|O_NOFOLLOW, `mode` exactly via `fchmod(2)`),
    /// then `rename(2)`s it over `path`, so readers see the old or the new content, never a mix.
    public static func writeFileAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws(SystemError) {
        let tmp = "\(path).tmp-\(getpid())"
        _ = unlink(tmp)  // a leftover of a crashed run with our pid
        do throws(SystemError) {
            let fd = try Sys.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode, op: "create")
            if fchmod(fd.raw, mode) != 0 { throw SystemError.last("chmod", tmp) }
            try Sys.writeAll(fd.raw, bytes, op: "write", path: tmp)
            try fd.close()
            if rename(tmp, path) != 0 { throw SystemError.last("rename \(tmp) to", path) }
        } catch {
            _ = unlink(tmp)
            throw error
        }
    }

    /// Writes `bytes` at the start of an existing file, in place (same inode: e.g. a lock file
    /// whose open descriptions must stay the same); no create, no truncate.
    public static func overwriteStart(_ path: String, _ bytes: [UInt8]) throws(SystemError) {
        let fd = try Sys.open(path, O_WRONLY | O_NOFOLLOW)
        try Sys.writeAll(fd.raw, bytes, op: "write", path: path)
    }

    /// Creates an empty file if missing (a bind-mount target); an existing file is left as is.
    public static func createEmptyFile(_ path: String, mode: mode_t = 0o600) throws(SystemError) {
        _ = try Sys.open(path, O_RDONLY | O_CREAT | O_NOFOLLOW, mode: mode, op: "create")
    }

    /// `mkdir -p`: creates missing directories with exactly `mode` (`chmod(2)` after `mkdir(2)`, so
    /// the umask does not matter). Existing directories are left as they are.
    public static func mkdirAll(_ path: String, mode: mode_t) throws(SystemError) {
        if let info = try stat(path) {
            if info.type == .directory { return }
            throw SystemError(op: "mkdir", path: path, errno: ENOTDIR)
        }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += prefix.isEmpty || prefix.hasSuffix("/") ? String(part) : "/" + part
            if mkdir(prefix, mode) == 0 {
                if chmod(prefix, mode) != 0 { throw SystemError.last("chmod", prefix) }
                continue
            }
            let err = Glibc.errno
            if err == EEXIST, let info = try stat(prefix), info.type == .directory { continue }
            throw SystemError(op: "mkdir", path: prefix, errno: err == EEXIST ? ENOTDIR : err)
        }
    }

    /// Removes a file, symlink or empty directory (`unlink(2)` / `rmdir(2)`); missing is fine.
    public static func remove(_ path: String) throws(SystemError) {
        if unlink(path) == 0 { return }
        var err = Glibc.errno
        if err == EISDIR || err == EPERM, let info = try lstat(path), info.type == .directory {
            if rmdir(path) == 0 { return }
            err = Glibc.errno
        }
        if err == ENOENT { return }
        throw SystemError(op: "remove", path: path, errno: err)
    }

    /// Names in a directory (no `.`/`..`), sorted.
    public static func listDirectory(_ path: String) throws(SystemError) -> [String] {
        let fd = try Sys.open(path, O_RDONLY | O_DIRECTORY, op: "open directory")
        return try DirReader.names(taking: fd, path: path)
    }

    /// `lstat(2)` (as `fstatat(2)` AT_SYMLINK_NOFOLLOW): nil if the path does not exist.
    public static func lstat(_ path: String) throws(SystemError) -> FileInfo? {
        var st = Glibc.stat()
        if fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 { return FileInfo(st) }
        if Glibc.errno == ENOENT || Glibc.errno == ENOTDIR { return nil }
        throw SystemError.last("lstat", path)
    }

    /// `stat(2)` (as `fstatat(2)`, following symlinks): nil if the path (or the symlink's target) does not exist.
    public static func stat(_ path: String) throws(SystemError) -> FileInfo? {
        var st = Glibc.stat()
        if fstatat(AT_FDCWD, path, &st, 0) == 0 { return FileInfo(st) }
        if Glibc.errno == ENOENT || Glibc.errno == ENOTDIR { return nil }
        throw SystemError.last("stat", path)
    }

    /// `readlink(2)`.
    public static func readlink(_ path: String) throws(SystemError) -> String {
        var size = 256
        while true {
            var buf = [CChar](repeating: 0, count: size)
            let n = Glibc.readlink(path, &buf, size)
            if n < 0 { throw SystemError.last("readlink", path) }
            if n < size {
                return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            size *= 4
            if size > 1 << 20 { throw SystemError(op: "readlink", path: path, errno: ENAMETOOLONG) }
        }
    }

    /// True if `stat(2)` succeeds (follows symlinks).
    public static func exists(_ path: String) -> Bool {
        var st = Glibc.stat()
        return fstatat(AT_FDCWD, path, &st, 0) == 0
    }

    /// A regular file we may execute (`access(2)` X_OK).
    public static func isExecutable(_ path: String) -> Bool {
        guard let info = try? stat(path), info.type == .regular else { return false }
        return access(path, X_OK) == 0
    }

    /// The first executable `dir/name` of `dirs` (absolute ones only: an empty or relative PATH
    /// entry means the current directory, never searched here).
    public static func findExecutable(_ name: String, in dirs: [String]) -> String? {
        dirs.lazy.filter { $0.hasPrefix("/") }.map { $0 + "/" + name }.first(where: isExecutable)
    }
}

/// `fdopendir(3)`/`readdir(3)` over an fd we own.
enum DirReader {
    static func names(taking fd: consuming OwnedFD, path: String) throws(SystemError) -> [String] {
        let raw = fd.take()
        guard let dir = fdopendir(raw) else {
            let e = SystemError.last("fdopendir", path)
            _ = close(raw)
            throw e
        }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            Glibc.errno = 0
            guard let ent = readdir(dir) else {
                if Glibc.errno != 0 { throw SystemError.last("readdir", path) }
                break
            }
            let name = withUnsafePointer(to: &ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
