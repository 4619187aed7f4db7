import System
import Testing
@testable import RootlessNetns

@Suite struct EnterPlanTests {
    let state = StateDir(root: "/run/user/1000/rootless-netns")
    let root = "/run/user/1000/rootless-netns"

    func plan(mirrors: [String] = ["/run/user/1000"], resolv: String = "/etc/resolv.conf",
              varTarget: String = "/var/lib/cni", systemd: Bool = true) -> EnterPlan {
        EnterPlan(state: state, netnsPath: "/run/user/1000/netns/rootless-netns-0123456789abcdef0123",
                  mirrors: mirrors, resolvTarget: resolv, varTarget: varTarget, hasRunSystemd: systemd)
    }

    @Test func podmanOrderWithPlainResolvConf() {
        #expect(plan().mountOps == [
            .mkdirAll("\(root)/run/user/1000", mode: 0o700),
            .bind(source: "/run/user/1000", target: "\(root)/run/user/1000", recursive: true),
            .mkdirAll("\(root)/run/systemd", mode: 0o700),
            .bind(source: "/run/systemd", target: "\(root)/run/systemd", recursive: true),
            .bind(source: "\(root)/resolv.conf", target: "/etc/resolv.conf", recursive: false),
            .bind(source: "\(root)/var/lib/cni", target: "/var/lib/cni", recursive: false),
            .bind(source: "\(root)/run", target: "/run", recursive: true),
        ])
    }

    @Test func withoutRunSystemd() {
        let ops = plan(systemd: false).mountOps
        #expect(!ops.contains { "\($0)".contains("/run/systemd") })
        #expect(ops == [
            .mkdirAll("\(root)/run/user/1000", mode: 0o700),
            .bind(source: "/run/user/1000", target: "\(root)/run/user/1000", recursive: true),
            .bind(source: "\(root)/resolv.conf", target: "/etc/resolv.conf", recursive: false),
            .bind(source: "\(root)/var/lib/cni", target: "/var/lib/cni", recursive: false),
            .bind(source: "\(root)/run", target: "/run", recursive: true),
        ])
    }

    /// systemd-resolved stub: tmpfs over the mirrored resolve dir (#10929), then the file is
    /// created there and our resolv.conf bound onto it.
    @Test func systemdResolvedTarget() {
        let ops = plan(resolv: "/run/systemd/resolve/stub-resolv.conf").mountOps
        #expect(ops == [
            .mkdirAll("\(root)/run/user/1000", mode: 0o700),
            .bind(source: "/run/user/1000", target: "\(root)/run/user/1000", recursive: true),
            .mkdirAll("\(root)/run/systemd", mode: 0o700),
            .bind(source: "/run/systemd", target: "\(root)/run/systemd", recursive: true),
            .mkdirAll("\(root)/run/systemd/resolve", mode: 0o700),
            .tmpfs(target: "\(root)/run/systemd/resolve", flags: [.noExec, .noSuid, .noDev]),
            .mkdirAll("\(root)/run/systemd/resolve", mode: 0o700),
            .createFile("\(root)/run/systemd/resolve/stub-resolv.conf", mode: 0o600),
            .bind(source: "\(root)/resolv.conf", target: "\(root)/run/systemd/resolve/stub-resolv.conf", recursive: false),
            .bind(source: "\(root)/var/lib/cni", target: "/var/lib/cni", recursive: false),
            .bind(source: "\(root)/run", target: "/run", recursive: true),
        ])
    }

    @Test func otherTargetUnderRunHasNoTmpfs() {
        let ops = plan(resolv: "/run/resolvconf/resolv.conf").mountOps
        #expect(!ops.contains { if case .tmpfs = $0 { true } else { false } })
        let tail = Array(ops.suffix(5))
        #expect(tail == [
            .mkdirAll("\(root)/run/resolvconf", mode: 0o700),
            .createFile("\(root)/run/resolvconf/resolv.conf", mode: 0o600),
            .bind(source: "\(root)/resolv.conf", target: "\(root)/run/resolvconf/resolv.conf", recursive: false),
            .bind(source: "\(root)/var/lib/cni", target: "/var/lib/cni", recursive: false),
            .bind(source: "\(root)/run", target: "/run", recursive: true),
        ])
    }

    /// A target outside /run (e.g. /sysconf/resolv.conf) is bound in place, never created.
    @Test func targetOutsideRunBoundInPlace() {
        let ops = plan(resolv: "/sysconf/resolv.conf").mountOps
        #expect(ops.contains(.bind(source: "\(root)/resolv.conf", target: "/sysconf/resolv.conf", recursive: false)))
        #expect(!ops.contains { if case .createFile = $0 { true } else { false } })
    }

    @Test func varTargetParent() {
        let ops = plan(varTarget: "/var/lib").mountOps
        #expect(ops[ops.count - 2] == .bind(source: "\(root)/var/lib", target: "/var/lib", recursive: false))
        let ops2 = plan(varTarget: "/var").mountOps
        #expect(ops2[ops2.count - 2] == .bind(source: "\(root)/var", target: "/var", recursive: false))
    }

    @Test func lastOpBindsRunRecursively() {
        for p in [plan(), plan(mirrors: [], systemd: false), plan(resolv: "/run/systemd/resolve/resolv.conf")] {
            #expect(p.mountOps.last == .bind(source: "\(root)/run", target: "/run", recursive: true))
        }
    }

    /// The runtime dir mirror comes first and /run last; every bind source other than the
    /// host dirs lives in the state dir.
    @Test func orderInvariants() {
        let ops = plan(mirrors: ["/run/user/1000", "/run/netns"], resolv: "/run/systemd/resolve/stub-resolv.conf").mountOps
        let binds = ops.compactMap { op -> (String, String)? in
            if case .bind(let s, let t, _, _) = op { return (s, t) } else { return nil }
        }
        #expect(binds.first?.0 == "/run/user/1000")
        #expect(binds[1] == ("/run/netns", "\(root)/run/netns"))
        #expect(binds.last?.1 == "/run")
        let tmpfsIndex = ops.firstIndex { if case .tmpfs = $0 { true } else { false } }!
        let systemdBind = ops.firstIndex(of: .bind(source: "/run/systemd", target: "\(root)/run/systemd", recursive: true))!
        #expect(systemdBind < tmpfsIndex)
        let varBind = ops.firstIndex(of: .bind(source: "\(root)/var/lib/cni", target: "/var/lib/cni", recursive: false))!
        #expect(tmpfsIndex < varBind)
        #expect(varBind == ops.count - 2)
    }

    @Test func noMirrors() {
        let ops = plan(mirrors: []).mountOps
        #expect(ops.first == .mkdirAll("\(root)/run/systemd", mode: 0o700))
    }

    @Test func enterSpecCarriesNetnsAndOps() {
        let p = plan()
        let spec = p.enterSpec
        #expect(spec.netnsPath == p.netnsPath)
        #expect(spec.unshareMount)
        #expect(spec.mounts == p.mountOps)
    }

    @Test func stateOutsideRuntimeDir() {
        let s = StateDir(root: "/var/tmp/rn")
        let p = EnterPlan(state: s, netnsPath: "/tmp/ns", mirrors: ["/run/user/0"],
                          resolvTarget: "/run/systemd/resolve/stub-resolv.conf", varTarget: "/var/lib/cni",
                          hasRunSystemd: true)
        let ops = p.mountOps
        #expect(ops[1] == .bind(source: "/run/user/0", target: "/var/tmp/rn/run/user/0", recursive: true))
        #expect(ops.contains(.createFile("/var/tmp/rn/run/systemd/resolve/stub-resolv.conf", mode: 0o600)))
        #expect(ops.last == .bind(source: "/var/tmp/rn/run", target: "/run", recursive: true))
    }
}

/// `EnterPlan.make` against the real host (read-only probes): which directories get mirrored.
@Suite(.enabled(if: FS.exists("/etc/resolv.conf") && FS.exists("/var")))
struct EnterPlanMakeTests {
    func context(xdg: String) throws -> Context {
        var config = RootlessConfig.defaults(stateDir: "/tmp/rlu-never-created")
        config.mode = .always
        return try Context(config: config, hostEnv: ["XDG_RUNTIME_DIR": xdg, "PATH": "/usr/bin:/bin"])
    }

    @Test func mirrorsAreDeduplicatedAndNested() throws {
        let ctx = try context(xdg: "/run/user/1000")
        let plan = try EnterPlan.make(context: ctx, containerNetns: "/run/user/1000/netns/container-a")
        #expect(plan.mirrors.contains("/run/user/1000"))
        #expect(!plan.mirrors.contains("/run/user/1000/netns"))
        #expect(plan.mirrors.allSatisfy { Path.isWithin($0, "/run") && $0 != "/run" })
        #expect(!FS.exists("/tmp/rlu-never-created"))
    }

    @Test func widerMirrorReplacesNarrower() throws {
        let ctx = try context(xdg: "/run/user/1000/sub/")
        let plan = try EnterPlan.make(context: ctx, containerNetns: "/run/user/1000/ns")
        #expect(plan.mirrors.contains("/run/user/1000"))
        #expect(!plan.mirrors.contains("/run/user/1000/sub"))
    }

    @Test func pathsOutsideRunAreNotMirrored() throws {
        let ctx = try context(xdg: "/tmp/xdg")
        let plan = try EnterPlan.make(context: ctx, containerNetns: "/proc/1234/ns/net")
        #expect(!plan.mirrors.contains("/tmp/xdg"))
        #expect(!plan.mirrors.contains("/proc/1234/ns"))
        #expect(plan.mirrors.allSatisfy { Path.isWithin($0, "/run") })
    }

    @Test func probesHost() throws {
        let plan = try EnterPlan.make(context: try context(xdg: "/run/user/1000"), containerNetns: "")
        #expect(plan.hasRunSystemd == FS.exists("/run/systemd"))
        #expect(["/var/lib/cni", "/var/lib", "/var"].contains(plan.varTarget))
        #expect(FS.exists(plan.varTarget))
        #expect(plan.resolvTarget.hasPrefix("/"))
        #expect(plan.mountOps.last == .bind(source: plan.state.run, target: "/run", recursive: true))
    }
}
