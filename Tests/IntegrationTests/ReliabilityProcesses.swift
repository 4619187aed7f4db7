import Foundation

/// Runs `count` bodies at once on their own threads (GCD's concurrentPerform would cap the
/// parallelism at the core count) and returns their results in index order.
enum Parallel {
    private final class Box<T>: @unchecked Sendable {
        let lock = NSLock()
        var results: [Int: T] = [:]
    }

    static func run<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        let box = Box<T>()
        for i in 0..<count {
            let t = Thread {
                let r = body(i)
                box.lock.lock(); box.results[i] = r; box.lock.unlock()
            }
            t.stackSize = 1 << 20
            t.start()
        }
        while true {
            box.lock.lock()
            let done = box.results.count
            box.lock.unlock()
            if done == count { break }
            usleep(20_000)
        }
        return (0..<count).map { box.results[$0]! }
    }
}

/// Samples the helper count (and optionally the attachment count) in the background, every
/// 50 ms, while parallel work runs.
final class HelperSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    private var maxSeen = 0
    private var samples = 0
    private var counts: [Int] = []
    private var thread: Thread?

    init(uid: UInt32, attachments: (@Sendable () -> Int)? = nil) {
        let t = Thread { [self] in
            while true {
                lock.lock(); let go = running; lock.unlock()
                if !go { break }
                let n = Procs.helpers(uid: uid).count
                let a = attachments?()
                lock.lock(); maxSeen = max(maxSeen, n); samples += 1; if let a { counts.append(a) }; lock.unlock()
                usleep(50_000)
            }
        }
        thread = t
        t.start()
    }

    /// Stops sampling; returns the largest helper count seen and the number of samples.
    func stop() -> (max: Int, samples: Int) {
        lock.lock(); running = false; lock.unlock()
        usleep(120_000)
        lock.lock(); defer { lock.unlock() }
        return (maxSeen, samples)
    }

    /// The attachment counts sampled so far (and forgets them: the next phase starts afresh).
    func takeCounts() -> [Int] {
        lock.lock(); defer { lock.unlock() }
        let c = counts
        counts = []
        return c
    }
}

/// /proc, read directly (host view: real uids).
enum Procs {
    struct Info: CustomStringConvertible {
        var pid: Int32, ppid: Int32, uid: UInt32, state: String, comm: String, cmdline: [String]
        var description: String { "\(pid) [\(state)] \(cmdline.joined(separator: " "))" }
    }

    /// A /proc file read to EOF (Foundation's String(contentsOfFile:) trusts st_size, which is 0
    /// there, and returns only the first page of a longer file such as mountinfo).
    static func read(_ path: String) -> String? {
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        var data = Data()
        while let chunk = try? h.read(upToCount: 65536), !chunk.isEmpty { data += chunk }
        return String(decoding: data, as: UTF8.self)
    }

    static func info(_ pid: Int32) -> Info? {
        guard let status = read("/proc/\(pid)/status") else { return nil }
        var ppid: Int32 = 0, uid: UInt32 = 0, state = "", comm = ""
        for line in status.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard let key = parts.first, parts.count > 1 else { continue }
            switch key {
            case "Name:": comm = String(parts[1])
            case "State:": state = String(parts[1])
            case "PPid:": ppid = Int32(parts[1]) ?? 0
            case "Uid:": uid = UInt32(parts[1]) ?? 0
            default: break
            }
        }
        let args = (read("/proc/\(pid)/cmdline") ?? "").split(separator: "\0").map(String.init)
        return Info(pid: pid, ppid: ppid, uid: uid, state: state, comm: comm, cmdline: args)
    }

    /// Live (not zombie) processes of `uid`.
    static func live(uid: UInt32) -> [Info] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int32.init).compactMap(info).filter { $0.uid == uid && $0.state != "Z" && $0.state != "X" }
    }

    /// Live helpers of `uid`, not counting a helper's own short-lived children.
    static func helpers(uid: UInt32) -> [Info] {
        let procs = live(uid: uid)
        let isHelper = { (p: Info) in ["slirp4netns", "pasta", "passt"].contains(p.comm) }
        let helperPids = Set(procs.filter(isHelper).map(\.pid))
        return procs.filter { isHelper($0) && !helperPids.contains($0.ppid) }
    }

    static func isAlive(_ pid: Int32) -> Bool {
        guard let i = info(pid) else { return false }
        return i.state != "Z" && i.state != "X"
    }
}
