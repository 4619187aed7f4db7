import CShim
import Glibc

let O_PATH = cshim_o_path()

/// Opening a directory by absolute path without trusting anyone but root and the caller.
extension DirectoryHandle {
    /// Why a path was refused.
    public enum OpenError: Error, CustomStringConvertible, Equatable, Sendable {
        case system(SystemError)
        /// `path` (the offending directory, canonical) may be changed by someone else.
        case unsafe(path: String, reason: String)

        public var description: String {
            switch self {
            case .system(let e): e.description
            case .unsafe(let path, let reason): "\(path): \(reason)"
            }
        }
    }

    /// Who may own the directories we pass through (sshd StrictModes): root and the caller. In
    /// a user namespace, root's files (and everyone else's) show as the overflow uid; those count
    /// as root's, since from inside the namespace they cannot be told apart.
    public struct Trust: Sendable, Equatable {
        public var caller: uid_t
        public var owners: Set<uid_t>

        public init(caller: uid_t, owners: Set<uid_t>) {
            self.caller = caller
            self.owners = owners
        }

        /// Root, the caller, and the overflow uid outside the initial user namespace.
        public static func current() -> Trust {
            var owners: Set<uid_t> = [0, geteuid()]
            if !Identity.inInitialUserNamespace {
                let text = (try? FS.readText("/proc/sys/kernel/overflowuid", limit: 64)) ?? ""
                owners.insert(uid_t(text.split(separator: "\n").first.flatMap { UInt32($0) } ?? 65534))
            }
            return Trust(caller: geteuid(), owners: owners)
        }

        /// A directory we pass through: a trusted owner, and nobody else may rename its entries
        /// (not group/world-writable, unless sticky).
        func checkAncestor(_ info: FileInfo, _ path: String) throws(OpenError) {
            if !owners.contains(info.uid) {
                throw .unsafe(path: path, reason: "an ancestor directory is owned by uid \(info.uid), neither root nor the caller (uid \(caller))")
            }
            if info.mode & 0o022 != 0 && info.mode & mode_t(S_ISVTX) == 0 {
                throw .unsafe(path: path, reason: "an ancestor directory is group- or world-writable without the sticky bit (mode \(String(info.mode, radix: 8)))")
            }
        }
    }

    /// What the last component must be.
    public enum Final: Sendable, Equatable {
        /// Owned by the caller, not group/world-writable, not a symlink (state and netns dirs).
        case privateDirectory(what: String)
        /// Any directory an ancestor could be (a runtime dir such as /tmp); symlinks are followed.
        case trustedDirectory
    }

    /// Opens absolute `path` component by component from "/" (`openat(2)` O_PATH|O_NOFOLLOW),
    /// resolving symlinks itself (`readlinkat(2)`; at most 40) so that every directory passed
    /// through is checked with `trust` before it is used, and returns the handle of the last one,
    /// whose canonical path is `path` of the result. With `create`, missing components are
    /// made with `mkdirat(2)` (exactly `mode`) and opened without following anything.
    public static func open(_ path: String, final: Final, create: Bool = false, mode: mode_t = 0o700,
                            trust: Trust = .current()) throws(OpenError) -> DirectoryHandle {
        guard path.hasPrefix("/"), !path.utf8.contains(0) else {
            throw .system(SystemError(op: "open directory: not an absolute path", path: path, errno: EINVAL))
        }
        var walk = Walk(trust: trust)
        defer { walk.closeAll() }
        try walk.start()
        var pending = Array(path.split(separator: "/", omittingEmptySubsequences: true).map(String.init).reversed())
        var links = 0
        while let name = pending.popLast() {
            if name == "." { continue }
            if name == ".." { walk.up(); continue }
            let isLast = pending.isEmpty
            let created = create && walk.makeIfMissing(name, mode: mode)
            var st = Glibc.stat()
            let raw = openat(walk.top, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)
            if raw < 0 { throw .system(SystemError.last("open", walk.path(of: name))) }
            if fstat(raw, &st) != 0 {
                let e = SystemError.last("fstat", walk.path(of: name))
                _ = Glibc.close(raw)
                throw .system(e)
            }
            let info = FileInfo(st)
            if info.type == .symlink {
                defer { _ = Glibc.close(raw) }
                if created { throw .unsafe(path: walk.path(of: name), reason: "was replaced by a symlink while being created") }
                if isLast, case .privateDirectory(let what) = final {
                    throw .unsafe(path: walk.path(of: name), reason: "\(what) is a symlink")
                }
                links += 1
                if links > 40 { throw .system(SystemError(op: "open directory", path: path, errno: ELOOP)) }
                let target = try readLink(raw, walk.path(of: name))
                if target.hasPrefix("/") { walk.toRoot() }
                pending += target.split(separator: "/", omittingEmptySubsequences: true).map(String.init).reversed()
                continue
            }
            walk.push(raw, name: name)
            if info.type != .directory {
                let what = if isLast, case .privateDirectory(let w) = final { w } else { "a path component" }
                throw .unsafe(path: walk.path, reason: "\(what) is not a directory")
            }
            if created, fchmodat(walk.parent, name, mode, 0) != 0 {
                throw .system(SystemError.last("chmod", walk.path))
            }
            if isLast, case .privateDirectory(let what) = final {
                try checkPrivate(info, walk.path, what: what, trust: trust, created: created, mode: mode)
            } else {
                try trust.checkAncestor(info, walk.path)
            }
        }
        // The handle itself must be readable (listing, fsync): reopen the last one O_RDONLY.
        let raw = openat(walk.top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if raw < 0 { throw .system(SystemError.last("open directory", walk.path)) }
        let handle: DirectoryHandle
        do { handle = try DirectoryHandle(adopting: raw, path: walk.path) } catch { throw .system(error) }
        return handle
    }

    private static func checkPrivate(_ info: FileInfo, _ path: String, what: String, trust: Trust,
                                      created: Bool, mode: mode_t) throws(OpenError) {
        if info.uid != trust.caller {
            throw .unsafe(path: path, reason: "\(what) is owned by uid \(info.uid), not by the caller (uid \(trust.caller))")
        }
        let m = created ? mode : info.mode
        if m & 0o022 != 0 {
            throw .unsafe(path: path, reason: "\(what) is group- or world-writable (mode \(String(m & 0o7777, radix: 8)))")
        }
    }

    /// `readlinkat(fd, "")` of a symlink opened O_PATH|O_NOFOLLOW.
    static func readLink(_ fd: Int32, _ path: String) throws(OpenError) -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlinkat(fd, "", &buf, buf.count)
        if n < 0 { throw .system(SystemError.last("readlink", path)) }
        if n >= buf.count { throw .system(SystemError(op: "readlink", path: path, errno: ENAMETOOLONG)) }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The directories passed so far: one O_PATH fd per canonical component ("/" first).
    private struct Walk {
        let trust: Trust
        var fds: [Int32] = []
        var names: [String] = []

        var top: Int32 { fds[fds.count - 1] }
        var parent: Int32 { fds[fds.count - 2] }
        var path: String { "/" + names.joined(separator: "/") }
        func path(of name: String) -> String { names.isEmpty ? "/" + name : path + "/" + name }

        mutating func start() throws(OpenError) {
            let raw = Glibc.open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)
            if raw < 0 { throw .system(SystemError.last("open", "/")) }
            fds = [raw]
            var st = Glibc.stat()
            if fstat(raw, &st) != 0 { throw .system(SystemError.last("fstat", "/")) }
            try trust.checkAncestor(FileInfo(st), "/")
        }

        mutating func push(_ fd: Int32, name: String) {
            fds.append(fd)
            names.append(name)
        }

        /// ".." of a canonical path is its parent (never above "/").
        mutating func up() {
            guard fds.count > 1 else { return }
            _ = Glibc.close(fds.removeLast())
            names.removeLast()
        }

        mutating func toRoot() {
            while fds.count > 1 { up() }
        }

        /// `mkdirat(2)`; true if it made the directory (false: it existed, or the error shows
        /// up when opening it).
        func makeIfMissing(_ name: String, mode: mode_t) -> Bool {
            mkdirat(top, name, mode) == 0
        }

        mutating func closeAll() {
            for fd in fds { _ = Glibc.close(fd) }
            fds = []
        }
    }
}
