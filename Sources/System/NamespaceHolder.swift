import CShim
import Glibc

/// A child that carries out an `EnterSpec` once (setns, a private rslave mount namespace, the
/// mounts) and then only waits, so each program of a chain joins its namespaces with two
/// setns(2) calls (`SpawnRequest.join`) instead of replaying every mount, and no program's exit
/// tears a mount namespace down (that waits for an RCU grace period, on the caller's clock).
/// The holder never runs anything; it exits when this object goes away (EOF on its stdin) or
/// when we die (PR_SET_PDEATHSIG), and it keeps no fd of ours but that pipe.
public final class NamespaceHolder: @unchecked Sendable {
    public let pid: pid_t
    /// O_CLOEXEC fds of its namespaces (-1: not entered), and the caller's cwd for the joiners.
    let netFD: Int32
    let mountFD: Int32
    let cwd: String?
    private let control: Int32

    /// Starts the holder and waits until its setup is done. A setup failure is the same error a
    /// spawned child with this `EnterSpec` reports (e.g. `mount --bind X: ENOENT`); `label` names
    /// the program in errors about the child itself.
    public init(_ spec: EnterSpec, label: String, timeoutMs: Int) throws(SystemError) {
        let (r, w) = try Sys.pipe()
        let controlRead = OwnedFD(adopting: r)
        let controlWrite = OwnedFD(adopting: w)
        let plan = ChildPlan(path: label, argv: [label], env: [], fds: [(controlRead.raw, 0)], session: .none,
                             enter: spec, hold: true)
        let child = try ChildLauncher.launch(plan)
        _ = consume controlRead
        let pid = child.pid
        func fail(_ error: SystemError) -> SystemError {
            _ = kill(pid, SIGKILL)
            _ = try? ChildLauncher.wait(pid)
            return error
        }
        // EOF on the error pipe: setup done; a record: the failed step.
        var report: [UInt8] = []
        let deadline = Sys.nowMs() + max(0, timeoutMs)
        while true {
            let left = deadline - Sys.nowMs()
            if left <= 0 { throw fail(SystemError(op: "set up the namespaces (timed out) for", path: label, errno: ETIMEDOUT)) }
            do {
                if try Sys.pollOne(child.errorPipe.raw, events: Int16(POLLIN), timeoutMs: left) == 0 { continue }
                let chunk = try Sys.readSome(child.errorPipe.raw, op: "read holder status", path: label)
                if chunk.isEmpty { break }
                report += chunk
            } catch {
                throw fail(error)
            }
        }
        if !report.isEmpty {
            throw fail(ChildLauncher.decode(report, plan: plan)
                ?? SystemError(op: "set up the namespaces for", path: label, errno: EIO))
        }
        var net: OwnedFD? = nil
        var mount: OwnedFD? = nil
        do {
            if spec.netnsPath != nil { net = try Sys.open("/proc/\(pid)/ns/net", O_RDONLY) }
            if spec.unshareMount { mount = try Sys.open("/proc/\(pid)/ns/mnt", O_RDONLY) }
        } catch {
            throw fail(error)
        }
        netFD = net.take()?.take() ?? -1
        mountFD = mount.take()?.take() ?? -1
        self.pid = pid
        control = controlWrite.take()
        cwd = Identity.reachableCurrentDirectory()
    }

    deinit {
        // EOF: the holder exits by itself. Not waited for: its mount namespace's teardown is off
        // our clock (a zombie until we exit or a later reap).
        _ = Glibc.close(control)
        if netFD >= 0 { _ = Glibc.close(netFD) }
        if mountFD >= 0 { _ = Glibc.close(mountFD) }
        _ = waitpid(pid, nil, WNOHANG)
    }
}
