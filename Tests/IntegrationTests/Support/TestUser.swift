import Foundation

/// A throwaway unprivileged user for rootless tests (root only).
///
///     let user = try TestUser.ensure()          // "rcni-test", made if missing
///     let r = user.run(["id", "-u"])             // runs as the user, HOME/XDG set
///
/// The user is kept for the rest of the run (creating it is the slow part) and removed when
/// scripts/test ends (`recordCreated`); its /run/user/UID is created 0700 and owned by it,
/// like logind would.
struct TestUser: Sendable {
    let name: String
    let uid: UInt32
    let gid: UInt32
    let home: String
    /// /run/user/UID.
    var runtimeDir: String { "/run/user/\(uid)" }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Look the user up, creating it (`useradd --create-home --user-group`)
    /// if missing; idempotent and safe when two tests race to create it.
    static func ensure(_ name: String = "rcni-test") throws -> TestUser {
        if let u = lookup(name) { return try u.prepared() }
        var r = Command.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/sh", name],
                            timeout: 30)
        // 10 = /etc/passwd locked: another test is adding its user; retry.
        for _ in 0..<20 where r.status == 10 {
            usleep(250_000)
            if let u = lookup(name) { return try u.prepared() }
            r = Command.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/sh", name], timeout: 30)
        }
        // 9 = "username already in use": someone else made it meanwhile.
        guard r.succeeded || r.status == 9 else { throw Failure(description: "useradd failed: \(r)") }
        if r.succeeded { recordCreated(name) }
        guard let u = lookup(name) else { throw Failure(description: "user \(name) missing after useradd") }
        return try u.prepared()
    }

    /// Names the users this run created, one per line, in `$RCNI_TEST_CREATED_USERS` (set by
    /// scripts/test, which removes them when the run ends). O_APPEND: lines of racing tests
    /// do not interleave.
    static func recordCreated(_ name: String) {
        guard let file = ProcessInfo.processInfo.environment["RCNI_TEST_CREATED_USERS"], !file.isEmpty else { return }
        let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let line = Array((name + "\n").utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// `base` plus a short hash of this checkout's build directory ("rcni-rel-3fa2"): test runs
    /// of different checkouts on one machine get different users, so one run's stray cleanup
    /// (which kills the user's helpers and session) never hits another's.
    static func perCheckout(_ base: String) -> String {
        let h = Products.binDir.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }
        return base + "-" + String(h & 0xffff, radix: 16)
    }

    /// The user's passwd entry, or nil.
    static func lookup(_ name: String) -> TestUser? {
        guard let pw = getpwnam(name) else { return nil }
        return TestUser(name: name, uid: pw.pointee.pw_uid, gid: pw.pointee.pw_gid,
                        home: String(cString: pw.pointee.pw_dir))
    }

    /// Run `argv` as this user (setpriv, supplementary groups of the user)
    /// with HOME, USER, LOGNAME, XDG_RUNTIME_DIR set; cwd "/" unless given.
    func run(_ argv: [String], timeout: TimeInterval = 60, environment: [String: String] = [:],
             input: String? = nil, cwd: String = "/") -> CommandResult {
        var env = ["HOME": home, "USER": name, "LOGNAME": name, "XDG_RUNTIME_DIR": runtimeDir]
        for (k, v) in environment { env[k] = v }
        return Command.run(["setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "--"] + argv,
                           timeout: timeout, environment: env, input: input, cwd: cwd)
    }

    /// Give the user `path` (chown -R), e.g. a scratch directory.
    func chown(_ path: String) throws {
        let r = Command.run(["chown", "-R", "\(uid):\(gid)", path], timeout: 30)
        guard r.succeeded else { throw Failure(description: "chown failed: \(r)") }
    }

    /// Can the user read and execute `path` (every parent directory included)?
    func canExecute(_ path: String) -> Bool {
        run(["test", "-x", path, "-a", "-r", path], timeout: 15).succeeded
    }

    private func prepared() throws -> TestUser {
        let fm = FileManager.default
        if !fm.fileExists(atPath: runtimeDir) {
            try? fm.createDirectory(atPath: "/run/user", withIntermediateDirectories: true,
                                    attributes: [.posixPermissions: 0o755])
            try? fm.createDirectory(atPath: runtimeDir, withIntermediateDirectories: false,
                                    attributes: [.posixPermissions: 0o700])
            guard Foundation.chown(runtimeDir, uid, gid) == 0 || fm.fileExists(atPath: runtimeDir) else {
                throw Failure(description: "cannot create \(runtimeDir)")
            }
            _ = Foundation.chown(runtimeDir, uid, gid)
        }
        return self
    }
}
