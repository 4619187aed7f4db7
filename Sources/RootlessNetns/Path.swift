/// Lexical path helpers (Go's filepath.Clean/Dir semantics), no syscalls.
enum Path {
    static func clean(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var out: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if let last = out.last, last != ".." { out.removeLast() } else if !absolute { out.append(part) }
                continue
            }
            out.append(part)
        }
        let joined = out.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    static func dirname(_ path: String) -> String {
        let c = clean(path)
        guard let slash = c.lastIndex(of: "/") else { return "." }
        return slash == c.startIndex ? "/" : String(c[..<slash])
    }

    static func join(_ parts: String...) -> String { clean(parts.joined(separator: "/")) }

    /// `inner` re-rooted under `root`: join("/state", "/run/user/1") = "/state/run/user/1".
    static func under(_ root: String, _ inner: String) -> String { clean(root + "/" + inner) }

    static func isWithin(_ path: String, _ dir: String) -> Bool {
        let p = clean(path), d = clean(dir)
        return p == d || p.hasPrefix(d == "/" ? "/" : d + "/")
    }
}
