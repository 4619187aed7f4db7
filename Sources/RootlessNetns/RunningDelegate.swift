import JSON
import System

/// A delegate of one attachment's chain, recorded in `<stateDir>/running/<record name>` as it
/// starts. Delegates inherit the chain locks (see Locking.swift), so a plugin killed mid-chain
/// leaves them held until its running delegate finishes (no teardown, no other operation on
/// that container beside it, and it is not killed halfway through its iptables calls, as
/// PR_SET_PDEATHSIG would). If that orphan hangs, whoever waits for it enforces the deadline
/// its dead owner can no longer enforce.
struct RunningDelegate {
    /// The plugin process that started it.
    var owner: ProcessIdentity
    var pid: Int32
    /// /proc/PID/stat start time (unchanged by execve, unlike the executable).
    var startTime: UInt64
    /// CLOCK_MONOTONIC ms after which it is overdue.
    var deadlineMs: Int

    func json() -> JSON {
        ["owner": .string(owner.encoded), "pid": .int(Int64(pid)),
         "startTime": .int(Int64(truncatingIfNeeded: startTime)), "deadlineMs": .int(Int64(deadlineMs))]
    }

    init(owner: ProcessIdentity, pid: Int32, startTime: UInt64, deadlineMs: Int) {
        self.owner = owner; self.pid = pid; self.startTime = startTime; self.deadlineMs = deadlineMs
    }

    init?(json: JSON) {
        guard let o = json["owner"]?.stringValue.flatMap(ProcessIdentity.init(encoded:)),
              let p = json["pid"]?.intValue, let st = json["startTime"]?.intValue,
              let d = json["deadlineMs"]?.intValue else { return nil }
        owner = o; pid = Int32(truncatingIfNeeded: p); startTime = UInt64(truncatingIfNeeded: st); deadlineMs = Int(d)
    }

    /// Records a delegate that just started (best effort: the lock it holds is the guarantee,
    /// the record only bounds how long an orphan may hold it).
    static func record(stateDir: String, name: String, owner: ProcessIdentity, pid: Int32, timeoutMs: Int) {
        guard let id = Processes.identity(of: pid) else { return }
        let r = RunningDelegate(owner: owner, pid: pid, startTime: id.startTime,
                                deadlineMs: Clock.monotonicMs() + timeoutMs + 1000)
        let dir = StateDir(root: stateDir).running
        try? FS.mkdirAll(dir, mode: 0o700)
        try? FS.writeFileAtomically(dir + "/" + name, Array(r.json().encoded().utf8), mode: 0o600)
    }

    /// Every recorded delegate of the state dir (see `enforceDeadline`).
    static func enforceDeadlines(stateDir: String) {
        let dir = StateDir(root: stateDir).running
        for name in (try? FS.listDirectory(dir)) ?? [] where !name.contains(".tmp-") {
            enforceDeadline(path: dir + "/" + name)
        }
    }

    /// Called by waiters: kills the recorded delegate's process group if its owner is dead and
    /// it is past its deadline (identity checked: never a foreign process).
    static func enforceDeadline(path: String) {
        guard let bytes = try? FS.readFile(path, limit: 4096), let json = try? JSON.parse(bytes),
              let r = RunningDelegate(json: json), Clock.monotonicMs() > r.deadlineMs,
              Processes.identity(of: r.owner.pid) != r.owner,
              let now = Processes.identity(of: r.pid), now.startTime == r.startTime else { return }
        if (try? Processes.killGroup(ledBy: now)) == true {
            Stderr.log("killed delegate pid \(r.pid): its plugin (pid \(r.owner.pid)) died and it ran past its timeout")
        }
    }
}
