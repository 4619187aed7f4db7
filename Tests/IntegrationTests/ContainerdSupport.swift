import Foundation

/// Rootless containerd as its users run it: Debian's containerd 1.6 + runc inside
/// `rootlesskit --net=host --copy-up=/etc --copy-up=/run --copy-up=/var/lib --copy-up=/opt`, as an
/// unprivileged user. rootlesskit supplies the user + mount namespace and no network; the CNI
/// conflist in the copied-up /etc/cni/net.d brings the network (rootless-netns, or a plain bridge
/// that fails with EPERM). `ctr run --cni` reads /etc/cni/net.d and /opt/cni/bin (fixed paths),
/// hence the copy-up of /opt as well.
///
/// Everything lives in `scratch` (the image tarball, containerd's config and log, XDG_RUNTIME_DIR
/// with the shared namespace's state); containerd's root and state are in the copied-up /var/lib
/// and /run, so they vanish with the mount namespace. `stop()` kills every process of the
/// rootlesskit user namespace by pid (containerd, shims, containers, the slirp4netns helper).
final class RootlessContainerd: @unchecked Sendable {
    static let image = "localhost/rcni-busybox:test"
    static let tools = ["containerd", "containerd-shim-runc-v2", "ctr", "runc", "rootlesskit", "nsenter", "setpriv"]

    /// The packages are there and busybox is static (it runs in an image with nothing else).
    static let available: Bool = tools.allSatisfy { Command.which($0) != nil }
        && Command.run(["ldd", "/bin/busybox"], timeout: 10).description.contains("not a dynamic executable")

    /// runc flags: this VM has cgroup v1 without delegation to users (and no systemd user
    /// session), so rootless runc can use no cgroup at all: no cgroup path, no CPU shares.
    static let runcFlags = ["--cgroup", "", "--cpu-shares", "0", "--snapshotter", "native"]

    let user: TestUser
    let scratch: String
    var xdg: String { scratch + "/xdg" }
    private var rootlesskit: Process?
    private var containerd: Process?
    private(set) var holderPid: Int32 = 0

    struct Failure: Error, CustomStringConvertible { let description: String }

    init(user: TestUser) throws {
        self.user = user
        scratch = try Scratch.makeDirectory("rcni-ctd-")
        do {
            for d in ["xdg", "rk", "out"] { try FileManager.default.createDirectory(atPath: scratch + "/" + d, withIntermediateDirectories: true) }
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: xdg)
            try Scratch.write(Self.containerdConfig, to: scratch + "/containerd.toml")
            let img = Command.run(["/usr/bin/python3", "-c", Self.imageScript, "/bin/busybox", scratch + "/image.tar", Self.image], timeout: 60)
            guard img.succeeded else { throw Failure(description: "building the image tarball: \(img)") }
            try user.chown(scratch)
        } catch {
            Scratch.removeDirectory(scratch)
            throw error
        }
    }

    /// Starts rootlesskit (holding `sleep`) and containerd in it; imports the image.
    func start(cniPlugins: [String: String], conflist: String) throws {
        rootlesskit = try spawnAsUser(Self.unblocked + ["rootlesskit", "--net=host", "--copy-up=/etc", "--copy-up=/run",
                                       "--copy-up=/var/lib", "--copy-up=/opt", "--state-dir=\(scratch)/rk/state",
                                       "--", "sleep", "600"], log: scratch + "/rootlesskit.log")
        let pidFile = scratch + "/rk/state/child_pid"
        let deadline = Date().addingTimeInterval(20)
        while holderPid == 0 && Date() < deadline {
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                holderPid = pid
            } else { usleep(50_000) }
        }
        guard holderPid > 0 else { throw Failure(description: "rootlesskit did not start: \(log("rootlesskit.log"))") }

        // The copied-up /etc and /opt are the user's (root in its namespace) to write.
        var setup = "set -e; mkdir -p /etc/cni/net.d /opt/cni/bin\n"
        for (name, path) in cniPlugins.sorted(by: { $0.key < $1.key }) { setup += "ln -sf '\(path)' /opt/cni/bin/\(name)\n" }
        setup += "cat > /etc/cni/net.d/10-test.conflist\n"
        let r = inside(["sh", "-c", setup], input: conflist)
        guard r.succeeded else { throw Failure(description: "populating /etc/cni, /opt/cni: \(r)") }

        containerd = try spawnAsUser(nsenter + ["containerd", "--config", scratch + "/containerd.toml"], log: scratch + "/containerd.log")
        let up = Date().addingTimeInterval(30)
        while !inside(["test", "-S", "/run/containerd/containerd.sock"], timeout: 10).succeeded {
            guard Date() < up, containerd?.isRunning == true else { throw Failure(description: "containerd did not start: \(log("containerd.log"))") }
            usleep(100_000)
        }
        let imp = ctr(["image", "import", scratch + "/image.tar"], timeout: 60)
        guard imp.succeeded else { throw Failure(description: "ctr image import: \(imp)") }
    }

    /// The test process's threads block most signals and posix_spawn passes the mask on; Go
    /// (containerd, its shims) hands its initial mask to every child, so container processes would
    /// start with SIGALRM blocked (busybox ping and nc -w hang). Every command starts unblocked.
    static let unblocked = ["/usr/bin/python3", "-c",
                            "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execvp(sys.argv[1], sys.argv[1:])"]

    var nsenter: [String] { Self.unblocked + ["nsenter", "-U", "--preserve-credentials", "-m", "-t", "\(holderPid)", "--"] }

    /// Runs argv in rootlesskit's user + mount namespace, as the user (root there).
    func inside(_ argv: [String], timeout: TimeInterval = 60, input: String? = nil) -> CommandResult {
        user.run(nsenter + argv, timeout: timeout, environment: ["XDG_RUNTIME_DIR": xdg], input: input)
    }

    func ctr(_ args: [String], timeout: TimeInterval = 60) -> CommandResult { inside(["ctr"] + args, timeout: timeout) }

    /// `ctr run --rm --cni` in the foreground: ctr sends ADD before the task starts and DEL
    /// (go-cni Remove, netns path "") after it exits, then deletes the container.
    func runArgs(_ id: String, _ command: [String]) -> [String] {
        ["ctr", "run", "--rm", "--cni"] + Self.runcFlags
            + ["--mount", "type=bind,src=\(scratch)/out,dst=/out,options=rbind:rw", Self.image, id] + command
    }

    func run(_ id: String, _ command: [String], timeout: TimeInterval = 90) -> CommandResult {
        inside(runArgs(id, command), timeout: timeout)
    }

    /// The same, left running (a container that others reach); stopped by `ctr task kill`.
    func runInBackground(_ id: String, _ command: [String]) throws -> Process {
        try spawnAsUser(nsenter + runArgs(id, command), log: scratch + "/\(id).log")
    }

    /// Leaves nothing behind: containers, the shared namespace, every process of the namespace.
    func stop() {
        if holderPid > 0 {
            let tasks = ctr(["task", "ls", "-q"], timeout: 20).stdout.split(separator: "\n").map(String.init)
            for t in tasks { _ = ctr(["task", "kill", "-s", "SIGKILL", t], timeout: 20) }
            for t in tasks { _ = ctr(["task", "delete", "-f", t], timeout: 20) }
            for c in ctr(["container", "ls", "-q"], timeout: 20).stdout.split(separator: "\n") {
                _ = ctr(["container", "delete", String(c)], timeout: 20)
            }
            _ = inside([Products.rootlessNetns, "cleanup"], timeout: 60)
            killNamespace()
        }
        for p in [containerd, rootlesskit].compactMap({ $0 }) where p.isRunning { p.terminate() }
        for p in [containerd, rootlesskit].compactMap({ $0 }) {
            let deadline = Date().addingTimeInterval(10)
            while p.isRunning && Date() < deadline { usleep(20_000) }
        }
        Scratch.removeDirectory(scratch)
    }

    /// SIGKILL every live process whose user namespace is rootlesskit's (by pid; never by name).
    private func killNamespace() {
        guard let ns = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(holderPid)/ns/user") else { return }
        for _ in 0..<3 {
            let members = Self.processes(inUserNamespace: ns)
            if members.isEmpty { return }
            for pid in members { kill(pid, SIGKILL) }
            usleep(200_000)
        }
    }

    /// Live (not zombie) processes in the user namespace `ns` (`user:[inode]`).
    static func processes(inUserNamespace ns: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/user")) == ns,
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            return !stat[stat.index(after: close)...].hasPrefix(" Z")
        }
    }

    func log(_ name: String) -> String { (try? String(contentsOfFile: scratch + "/" + name, encoding: .utf8)) ?? "" }

    /// A long-running process as the user, under `timeout`, output to `log`.
    private func spawnAsUser(_ argv: [String], log: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        p.arguments = ["--kill-after=5", "300s", "setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)", "--init-groups", "--"] + argv
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CNI_") }
        env["PATH"] = Command.searchPath(env["PATH"])
        env["HOME"] = user.home
        env["USER"] = user.name
        env["XDG_RUNTIME_DIR"] = xdg
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = out
        p.standardError = out
        p.currentDirectoryURL = URL(fileURLWithPath: "/")
        try p.run()
        try? out.close()
        return p
    }

    /// containerd's root and state are the defaults, in rootlesskit's private copies of /var/lib
    /// and /run; CRI is off (ctr needs none of it).
    static let containerdConfig = """
        version = 2
        root = "/var/lib/containerd"
        state = "/run/containerd"
        disabled_plugins = ["io.containerd.grpc.v1.cri"]
        [grpc]
          address = "/run/containerd/containerd.sock"
        [plugins."io.containerd.internal.v1.opt"]
          path = "/var/lib/containerd/opt"
        """

    /// An OCI image layout tarball (what `ctr image import` reads) with one layer: the static
    /// busybox and the applets the tests use. Built here: the tests never pull.
    static let imageScript = #"""
    import hashlib, io, json, sys, tarfile
    busybox, out, name = sys.argv[1:4]
    def entry(path, **kw):
        ti = tarfile.TarInfo(path); ti.uid = ti.gid = 0; ti.uname = ti.gname = "root"; ti.mtime = 0
        for k, v in kw.items(): setattr(ti, k, v)
        return ti
    def tarball(fill):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t: fill(t)
        return buf.getvalue()
    def layer(t):
        for d in ["bin", "etc", "tmp", "proc", "sys", "dev", "out"]:
            t.addfile(entry(d, type=tarfile.DIRTYPE, mode=0o755))
        data = open(busybox, "rb").read()
        t.addfile(entry("bin/busybox", size=len(data), mode=0o755), io.BytesIO(data))
        for a in ["sh", "ip", "ping", "nc", "sleep", "cat", "echo", "true", "hostname"]:
            t.addfile(entry("bin/" + a, type=tarfile.SYMTYPE, linkname="busybox", mode=0o777))
    digest = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()
    layer_tar = tarball(layer)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [digest(layer_tar)]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(layer_tar), "size": len(layer_tar)}]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest(manifest), "size": len(manifest), "annotations": {"io.containerd.image.name": name}}]}).encode()
    def image(t):
        files = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)]
        files += [("blobs/sha256/" + digest(b)[7:], b) for b in (layer_tar, config, manifest)]
        for path, data in files: t.addfile(entry(path, size=len(data), mode=0o644), io.BytesIO(data))
    open(out, "wb").write(tarball(image))
    """#
}
