import CNI
import Glibc
import System
import Testing
@testable import RootlessNetns

@Suite struct ContextTests {
    func context(_ env: [String: String], pass: Bool = false, stateDir: String? = "/tmp/rlu-ctx-state") throws -> Context {
        var config = RootlessConfig.defaults(stateDir: stateDir)
        config.passEnvironment = pass
        var env = env
        if env["XDG_RUNTIME_DIR"] == nil { env["XDG_RUNTIME_DIR"] = "/run/user/1000" }
        return try Context(config: config, hostEnv: env)
    }

    @Test func pathGetsSbinAppended() throws {
        #expect(try context(["PATH": "/usr/local/bin:/usr/bin:/bin"]).delegatePATH
                == "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
    }

    @Test func pathNotDuplicated() throws {
        #expect(try context(["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]).delegatePATH == "/usr/sbin:/usr/bin:/sbin:/bin")
        #expect(try context(["PATH": "/usr/bin:/sbin"]).delegatePATH == "/usr/bin:/sbin:/usr/sbin")
        #expect(try context(["PATH": "/usr/sbin:/bin"]).delegatePATH == "/usr/sbin:/bin:/sbin")
    }

    @Test func pathDefaultWhenUnset() throws {
        let p = try context([:]).delegatePATH
        #expect(p.split(separator: ":").contains("/usr/bin"))
        #expect(p.hasSuffix(":/usr/sbin:/sbin"))
    }

    @Test func baseEnvOnlyPathAndRuntimeDir() throws {
        let host = ["PATH": "/usr/bin", "XDG_RUNTIME_DIR": "/run/user/1000", "HOME": "/home/u",
                    "CNI_COMMAND": "ADD", "CNI_PATH": "/opt/cni/bin", "LD_PRELOAD": "/evil.so"]
        let env = try context(host).delegateBaseEnv
        #expect(env == ["PATH": "/usr/bin:/usr/sbin:/sbin", "XDG_RUNTIME_DIR": "/run/user/1000"])
    }

    @Test func passEnvironmentCopiesAllButCNI() throws {
        let host = ["PATH": "/usr/bin", "XDG_RUNTIME_DIR": "/run/user/1000/", "HOME": "/home/u",
                    "CNI_COMMAND": "ADD", "CNI_CONTAINERID": "x", "CNI_ARGS": "IgnoreUnknown=1"]
        let env = try context(host, pass: true).delegateBaseEnv
        #expect(env["HOME"] == "/home/u")
        #expect(env["PATH"] == "/usr/bin:/usr/sbin:/sbin")
        #expect(env["XDG_RUNTIME_DIR"] == "/run/user/1000")   // cleaned
        #expect(!env.keys.contains { $0.hasPrefix("CNI_") })
    }

    @Test func runtimeDirCleanedAndEmptyIgnored() throws {
        #expect(try context(["XDG_RUNTIME_DIR": "/run/user//1000/"]).runtimeDir == "/run/user/1000")
        // Running as root in the initial user namespace, an empty XDG_RUNTIME_DIR is simply absent.
        if !Context.isRootless() {
            let ctx = try Context(config: .defaults(stateDir: nil), hostEnv: ["XDG_RUNTIME_DIR": ""])
            #expect(ctx.runtimeDir == nil)
            #expect(ctx.delegateBaseEnv["XDG_RUNTIME_DIR"] == nil)
        }
    }

    @Test func netnsPathNamedAfterStateDir() throws {
        let ctx = try context([:], stateDir: "/tmp/x")
        #expect(ctx.state.root == "/tmp/x")
        #expect(ctx.netnsPath == ctx.netnsDir + "/rootless-netns-2e56aa36f538b33b48f3")
    }

    /// As real root: /run/netns and /run/rootless-netns; mode decides `shared`.
    @Test(.enabled(if: geteuid() == 0 && Identity.inInitialUserNamespace))
    func rootDefaults() throws {
        var config = RootlessConfig.defaults(stateDir: nil)
        config.mode = .auto
        let auto = try Context(config: config, hostEnv: [:])
        #expect(!auto.shared)
        #expect(auto.netnsDir == "/run/netns")
        #expect(auto.state.root == "/run/rootless-netns")
        #expect(auto.netnsPath == "/run/netns/rootless-netns-c4a620854845ce2bcdc2")
        config.mode = .always
        #expect(try Context(config: config, hostEnv: [:]).shared)
        config.mode = .never
        #expect(try !Context(config: config, hostEnv: [:]).shared)
    }

    /// A missing runtime dir is reported (with the linger hint) only when the shared netns is used.
    @Test func requireRuntimeDir() throws {
        var config = RootlessConfig.defaults(stateDir: "/tmp/rlu-unused")
        config.mode = .always
        let missing = try Context(config: config, hostEnv: ["XDG_RUNTIME_DIR": "/tmp/rlu-no-such-runtime-dir"])
        let e = cniError { try missing.requireRuntimeDir() }
        #expect(e?.code == 5)
        #expect(e?.details.contains("loginctl enable-linger") == true)
        config.mode = .never
        let direct = try Context(config: config, hostEnv: ["XDG_RUNTIME_DIR": "/tmp/rlu-no-such-runtime-dir"])
        try direct.requireRuntimeDir()
        config.mode = .always
        try Context(config: config, hostEnv: ["XDG_RUNTIME_DIR": "/tmp"]).requireRuntimeDir()
    }
}

@Suite struct ErrorMappingTests {
    @Test(arguments: [
        (RootlessError.unsafePath("/s", "is a symlink"), 7),
        (.system(SystemError(op: "open", path: "/x", errno: EACCES)), 5),
        (.runtimeDirMissing("/run/user/1000"), 5),
        (.helperNotFound("no slirp4netns"), 50),
        (.helperFailed("slirp4netns exited", log: "boom"), 50),
        (.helperDead(pid: 42), 51),
        (.netnsMissing("/run/user/1000/netns/x"), 51),
        (.notAttached(containerID: "c", ifName: "eth0"), 3),
        (.lockTimeout("/s/lock"), 11),
        (.portMapping("bad"), 7),
        (.portForward("refused"), 5),
        (.corruptState("x"), 5),
        (.internalError("x"), 999),
        (.cni(CNIError(rawCode: 42, msg: "delegate said so")), 42),
    ])
    func codes(error: RootlessError, code: Int) {
        #expect(error.cniError.code == code, "\(error)")
        #expect(!error.cniError.msg.isEmpty)
        #expect(PluginMain.cniError(from: error).code == code)
    }

    @Test func runtimeDirMissingMentionsLinger() {
        let e = RootlessError.runtimeDirMissing("/run/user/1000").cniError
        #expect(e.msg.contains("/run/user/1000"))
        #expect(e.details.contains("loginctl enable-linger"))
    }

    @Test func helperFailedQuotesLog() {
        let e = RootlessError.helperFailed("slirp4netns exited before it was ready", log: "WARNING: cannot open /dev/net/tun").cniError
        #expect(e.msg.contains("slirp4netns"))
        #expect(e.details.contains("cannot open /dev/net/tun"))
        #expect(RootlessError.helperFailed("x", log: "").cniError.details == "")
    }

    @Test func messagesNameTheSubject() {
        #expect(RootlessError.unsafePath("/s", "is a symlink").cniError.msg.contains("/s"))
        #expect(RootlessError.helperDead(pid: 42).cniError.msg.contains("42"))
        #expect(RootlessError.netnsMissing("/n/x").cniError.msg.contains("/n/x"))
        let na = RootlessError.notAttached(containerID: "cid1", ifName: "eth7").cniError.msg
        #expect(na.contains("cid1") && na.contains("eth7"))
        #expect(RootlessError.lockTimeout("/s/lock").cniError.msg.contains("/s/lock"))
        #expect(RootlessError.portMapping("dup").cniError.msg.contains("portMappings"))
        let sys = RootlessError.system(SystemError(op: "open", path: "/x/y", errno: EACCES)).cniError.msg
        #expect(sys.contains("/x/y"))
        #expect(RootlessError.helperDead(pid: 1).description == RootlessError.helperDead(pid: 1).cniError.description)
    }
}
