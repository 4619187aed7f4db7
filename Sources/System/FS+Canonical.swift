import Glibc

extension FS {
    /// `realpath(3)` of the longest existing prefix of absolute `path`, the rest appended as
    /// written (the path need not exist yet). Two spellings of one directory (a symlinked
    /// XDG_RUNTIME_DIR, /var/run vs /run) give the same string. Unresolvable prefixes (EACCES,
    /// ELOOP) stay as written.
    public static func canonicalPath(_ path: String) -> String {
        guard path.hasPrefix("/") else { return path }
        var parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var rest: [String] = []
        while true {
            let prefix = "/" + parts.joined(separator: "/")
            if let resolved = realpath(prefix, nil) {
                defer { free(resolved) }
                let base = String(cString: resolved)
                if rest.isEmpty { return base }
                return (base == "/" ? "" : base) + "/" + rest.reversed().joined(separator: "/")
            }
            let err = Glibc.errno
            guard err == ENOENT || err == ENOTDIR, let last = parts.popLast() else { return path }
            rest.append(last)
        }
    }
}
