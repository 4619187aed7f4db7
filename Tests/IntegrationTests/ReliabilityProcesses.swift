import Foundation
import Testing

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

/// Samples the shared namespace every 50 ms while parallel work runs: live helpers, shared
/// netns files, their mounts in the session, and the attachment count read before and after
/// (so "attached the whole time" is known without reading everything atomically).
final class StateSampler: @unchecked Sendable {
    struct Sample: CustomStringConvertible {
        var helpers = 0, files = 0, mounts = 0, attachedBefore = 0, attachedAfter = 0
        var attachedThroughout: Bool { attachedBefore > 0 && attachedAfter > 0 }
        var description: String { "h\(helpers) f\(files) m\(mounts) a\(attachedBefore)-\(attachedAfter)" }
    }
    private let lock = NSLock()
    private var running = true
    private var samples: [Sample] = []
    private var finished = false

    init(uid: UInt32, netnsFiles: @escaping @Sendable () -> Int, mounts: @escaping @Sendable () -> Int,
         attachments: @escaping @Sendable () -> Int) {
        let t = Thread { [self] in
            while true {
                lock.lock(); let go = running; lock.unlock()
                if !go { break }
                var x = Sample()
                x.attachedBefore = attachments()
                x.helpers = Procs.helpers(uid: uid).count
                x.files = netnsFiles()
                x.mounts = mounts()
                x.attachedAfter = attachments()
                lock.lock(); samples.append(x); lock.unlock()
                usleep(50_000)
            }
            lock.lock(); finished = true; lock.unlock()
        }
        t.start()
    }

    /// The samples so far (forgotten: the next phase starts afresh).
    func take() -> [Sample] {
        lock.lock(); defer { lock.unlock() }
        let c = samples
        samples = []
        return c
    }

    /// Stops sampling (waits for the last sample); returns what was not taken yet.
    func stop() -> [Sample] {
        lock.lock(); running = false; lock.unlock()
        for _ in 0..<200 {
            lock.lock(); let done = finished; lock.unlock()
            if done { break }
            usleep(10_000)
        }
        return take()
    }

    /// Every sample: at most one helper, netns file and mount; while something was attached
    /// the whole sample: exactly one of each; and at least one such sample (not vacuous).
    static func expectOneNamespace(_ samples: [Sample], _ where_: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let attached = samples.filter(\.attachedThroughout)
        #expect(!attached.isEmpty, "\(where_): no sample while attached: \(samples)", sourceLocation: sourceLocation)
        let bad = attached.filter { $0.helpers != 1 || $0.files != 1 || $0.mounts != 1 }
        #expect(bad.isEmpty, "\(where_): not exactly one helper/netns file/mount while attached: \(bad)",
                sourceLocation: sourceLocation)
        let many = samples.filter { $0.helpers > 1 || $0.files > 1 || $0.mounts > 1 }
        #expect(many.isEmpty, "\(where_): more than one: \(many)", sourceLocation: sourceLocation)
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

    /// Names a helper runs under: argv[0]'s basename or comm. pasta re-execs itself as its
    /// CPU-specific build, so on Debian it shows as `passt.avx2`/`pasta.avx2`.
    static let helperNames: Set<String> = ["slirp4netns", "pasta", "passt", "pasta.avx2", "passt.avx2"]

    static func argv0Name(_ p: Info) -> String {
        p.cmdline.first.map { URL(fileURLWithPath: $0).lastPathComponent } ?? ""
    }

    static func isHelper(_ p: Info) -> Bool { helperNames.contains(argv0Name(p)) || helperNames.contains(p.comm) }

    /// `rootless-netns __forwarder SOCKET` (pasta's port forwarder inside the shared namespace).
    static func isForwarder(_ p: Info) -> Bool { p.cmdline.count >= 2 && p.cmdline[1] == "__forwarder" }

    /// Live helpers of `uid` (by argv[0] or comm, zombies excluded), not counting a helper's
    /// own short-lived children.
    static func helpers(uid: UInt32) -> [Info] {
        let procs = live(uid: uid)
        let helperPids = Set(procs.filter(isHelper).map(\.pid))
        return procs.filter { isHelper($0) && !helperPids.contains($0.ppid) }
    }

    /// Delegates (reference plugins or fakes) a CNI operation could leave running.
    static let delegateNames = Set(["bridge", "host-local", "portmap", "firewall", "tuning", "loopback"])
        .union(RelPlugin.names)

    /// Everything of the shared namespace or its operations still alive for `uid`: helpers,
    /// forwarders, plugin instances, delegates (a fake delegate runs as `python3 PATH`).
    static func leftovers(uid: UInt32) -> [Info] {
        live(uid: uid).filter { p in
            isHelper(p) || isForwarder(p) || argv0Name(p) == "rootless-netns"
                || p.cmdline.prefix(2).contains { delegateNames.contains(URL(fileURLWithPath: $0).lastPathComponent) }
        }
    }

    static func isAlive(_ pid: Int32) -> Bool {
        guard let i = info(pid) else { return false }
        return i.state != "Z" && i.state != "X"
    }
}
