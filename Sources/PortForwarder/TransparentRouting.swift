import System

/// Policy routing that lets the forwarder connect to a container *from the client's address*
/// (IP_TRANSPARENT), the way rootlesskit v3's builtin port driver does: the SYN leaves with a
/// non-local source, OUTPUT tags its connection (CONNMARK); the container's answers, routed
/// back towards that address, get the mark again in PREROUTING and a rule sends marked packets
/// to a table whose default route is local, so they reach our socket instead of the backend's
/// tap. Set up once per namespace, on the first mapping that asks for it; failing that, every
/// connection simply comes from the namespace's own address.
struct TransparentRouting {
    static let mark = "0x5243"
    static let table = "5243"
    static let priority = "5243"

    private enum State { case untried, done(v4: Bool, v6: Bool) }
    private var state = State.untried

    func ready(v6: Bool) -> Bool {
        guard case .done(let v4ok, let v6ok) = state else { return false }
        return v6 ? v6ok : v4ok
    }

    /// Whether a connection from `peer` can be carried from its own address. Not for loopback
    /// clients (a loopback source cannot leave the namespace's lo), not across families, and
    /// not for clients inside the container's own subnet (the container would answer them on
    /// the bridge directly, where nobody has that address).
    func applies(peer: SocketAddress, target: SocketAddress, subnet: (ip: String, prefix: Int)?) -> Bool {
        guard peer.isIPv6 == target.isIPv6, ready(v6: peer.isIPv6), !peer.isLoopback else { return false }
        if let subnet, peer.isIn(network: subnet.ip, prefix: subnet.prefix) { return false }
        return true
    }

    mutating func prepare(log: inout RateLimitedLog) {
        guard case .untried = state else { return }
        state = .done(v4: family(v6: false, log: &log), v6: family(v6: true, log: &log))
    }

    private func family(v6: Bool, log: inout RateLimitedLog) -> Bool {
        guard let ip = Self.find("ip"), let ipt = Self.find(v6 ? "ip6tables" : "iptables") else {
            log.write("source IP: ip or iptables not found; clients appear as the namespace's address")
            return false
        }
        let fam = v6 ? "-6" : "-4"
        let mark = Self.mark, table = Self.table
        // Idempotent: a restarted forwarder finds its rules in place.
        _ = Self.run([ip, fam, "rule", "del", "fwmark", mark, "lookup", table, "priority", Self.priority])
        let rules: [[String]] = [
            [ip, fam, "route", "replace", "local", "default", "dev", "lo", "table", table],
            [ip, fam, "rule", "add", "fwmark", mark, "lookup", table, "priority", Self.priority],
        ]
        // TCP connections and UDP flows alike (conntrack follows both).
        let filters: [[String]] = ["tcp", "udp"].flatMap { p in [
            ["OUTPUT", "-p", p, "-m", "addrtype", "!", "--src-type", "LOCAL", "-j", "CONNMARK", "--set-mark", mark],
            ["PREROUTING", "-p", p, "-m", "connmark", "--mark", mark, "-j", "MARK", "--set-mark", mark],
        ] }
        for argv in rules {
            if let err = Self.run(argv) { log.write("source IP (\(fam)): \(err)"); return false }
        }
        for f in filters where Self.run([ipt, "-w", "5", "-t", "mangle", "-C"] + f) != nil {
            if let err = Self.run([ipt, "-w", "5", "-t", "mangle", "-A"] + f) { log.write("source IP (\(fam)): \(err)"); return false }
        }
        return true
    }

    static func find(_ name: String) -> String? {
        ["/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"].map { $0 + name }.first { FS.isExecutable($0) }
    }

    /// nil on success, else what failed.
    static func run(_ argv: [String]) -> String? {
        do {
            let r = try Spawn.run(SpawnRequest(path: argv[0], argv: argv, env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], timeoutMs: 5000))
            if r.status == .exited(0) { return nil }
            return "\(argv.joined(separator: " ")): \(r.status) \(String(decoding: r.stderr, as: UTF8.self))"
        } catch {
            return "\(argv.joined(separator: " ")): \(error)"
        }
    }
}
