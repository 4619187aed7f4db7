import Foundation
import Testing

// netstat-inspect against real namespaces (root only). Every namespace is made here, named
// nsi-<pid>-<n>-<random>, and deleted in a defer; traffic stays between namespaces made here.

/// Output of one external command run under `timeout(1)`.
private struct NsiOutput {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `argv` with `timeout --kill-after=5 SECONDS`, collecting stdout/stderr through temp files.
private func nsiRun(_ argv: [String], timeout: Int = 30, stdin: String? = nil) throws -> NsiOutput {
    let dir = FileManager.default.temporaryDirectory
    let out = dir.appendingPathComponent("nsi-\(getpid())-\(UUID().uuidString).out")
    let err = dir.appendingPathComponent("nsi-\(getpid())-\(UUID().uuidString).err")
    guard FileManager.default.createFile(atPath: out.path, contents: nil),
          FileManager.default.createFile(atPath: err.path, contents: nil) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: dir.path])
    }
    defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    p.arguments = ["--kill-after=5", "\(timeout)"] + argv
    p.standardOutput = try FileHandle(forWritingTo: out)
    p.standardError = try FileHandle(forWritingTo: err)
    if let stdin {
        let pipe = Pipe()
        p.standardInput = pipe
        try p.run()
        pipe.fileHandleForWriting.write(Data(stdin.utf8))
        try pipe.fileHandleForWriting.close()
    } else {
        p.standardInput = FileHandle.nullDevice
        try p.run()
    }
    p.waitUntilExit()
    return NsiOutput(status: p.terminationStatus,
                     stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                     stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

private struct NsiFailure: Error, CustomStringConvertible { var description: String }

/// Runs and requires exit 0.
@discardableResult
private func nsiMust(_ argv: [String], timeout: Int = 30) throws -> String {
    let r = try nsiRun(argv, timeout: timeout)
    guard r.status == 0 else {
        throw NsiFailure(description: "\(argv.joined(separator: " ")) exited \(r.status): \(r.stderr)")
    }
    return r.stdout
}

private func nsiJSON(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8))
}

/// The netstat-inspect binary: $NETSTAT_INSPECT_BIN, else next to this test bundle, else the
/// newest `.build*/debug/netstat-inspect` under the package root.
private func nsiBinary() throws -> String {
    let fm = FileManager.default
    if let env = ProcessInfo.processInfo.environment["NETSTAT_INSPECT_BIN"], fm.isExecutableFile(atPath: env) {
        return env
    }
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let sibling = bundleDir.appendingPathComponent("netstat-inspect").path
    if fm.isExecutableFile(atPath: sibling) { return sibling }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    var best: (String, Date)?
    for name in (try? fm.contentsOfDirectory(atPath: root.path)) ?? [] where name.hasPrefix(".build") {
        let path = root.appendingPathComponent(name).appendingPathComponent("debug/netstat-inspect").path
        guard fm.isExecutableFile(atPath: path),
              let date = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { continue }
        if best == nil || date > best!.1 { best = (path, date) }
    }
    guard let best else { throw NsiFailure(description: "netstat-inspect not built; set NETSTAT_INSPECT_BIN") }
    return best.0
}

/// Throwaway namespaces; `close()` deletes them all (called from a defer).
private final class NsiNamespaces {
    private(set) var names: [String] = []
    func make() throws -> String {
        let name = "nsi-\(getpid())-\(names.count)-\(UInt16.random(in: 0...UInt16.max))"
        try nsiMust(["ip", "netns", "add", name])
        names.append(name)
        try nsiMust(["ip", "-n", name, "link", "set", "lo", "up"])
        return name
    }

    func close() {
        for name in names.reversed() { _ = try? nsiRun(["ip", "netns", "del", name]) }
        names = []
    }
}

private func nsiIP(_ ns: String, _ args: String) throws {
    try nsiMust(["ip", "-n", ns] + args.split(separator: " ").map(String.init))
}

private func nsiInspect(_ ns: String, _ extra: [String] = []) throws -> [String: Any] {
    let out = try nsiMust([try nsiBinary(), "inspect", "--netns", "/run/netns/\(ns)"] + extra)
    return try #require(try nsiJSON(out) as? [String: Any])
}

private func nsiStats(_ ns: String, _ interfaces: [String]) throws -> [String: [String: Int]] {
    let args = interfaces.flatMap { ["--interface", $0] }
    let out = try nsiMust([try nsiBinary(), "stats", "--netns", "/run/netns/\(ns)"] + args)
    let json = try #require(try nsiJSON(out) as? [String: Any])
    let ifaces = try #require(json["interfaces"] as? [String: [String: Int]])
    return ifaces
}

/// Two namespaces joined by a veth pair, with v4+v6 addresses and default routes.
private func nsiVethPair(_ ns: NsiNamespaces) throws -> (a: String, b: String) {
    let a = try ns.make(), b = try ns.make()
    try nsiIP(a, "link add va type veth peer name vb netns \(b)")
    try nsiIP(a, "addr add 10.123.0.1/24 dev va")
    try nsiIP(a, "addr add fd12:3::1/64 dev va nodad")
    try nsiIP(b, "addr add 10.123.0.2/24 dev vb")
    try nsiIP(b, "addr add fd12:3::2/64 dev vb nodad")
    try nsiIP(a, "link set va up")
    try nsiIP(b, "link set vb up")
    try nsiIP(b, "route add default via 10.123.0.1")
    try nsiIP(b, "-6 route add default via fd12:3::1")
    return (a, b)
}

@Suite(.serialized, .enabled(if: getuid() == 0, "needs root to create network namespaces"))
struct NetstatInspectIntegrationTests {
    @Test func inspectMatchesIPCommand() throws {
        let ns = NsiNamespaces()
        defer { ns.close() }
        let (_, b) = try nsiVethPair(ns)
        let report = try nsiInspect(b)
        let interfaces = try #require(report["interfaces"] as? [String: [String: Any]])

        let addrJSON = try #require(try nsiJSON(try nsiMust(["ip", "-j", "-n", b, "addr"])) as? [[String: Any]])
        var gateways: [String] = []
        for family in ["-4", "-6"] {
            let routes = try #require(try nsiJSON(try nsiMust(["ip", "-j", family, "-n", b, "route"])) as? [[String: Any]])
            gateways += routes.filter { $0["dst"] as? String == "default" }.compactMap { $0["gateway"] as? String }
        }
        #expect(Set(gateways) == ["10.123.0.1", "fd12:3::1"])

        var seen: Set<String> = []
        for link in addrJSON where link["ifname"] as? String != "lo" {
            let name = try #require(link["ifname"] as? String)
            seen.insert(name)
            let mine = try #require(interfaces[name], "\(name) missing from inspect")
            #expect(mine["mac_address"] as? String == link["address"] as? String)
            #expect(mine["mtu"] as? Int == link["mtu"] as? Int)
            let ipSubnets = ((link["addr_info"] as? [[String: Any]]) ?? [])
                .filter { $0["scope"] as? String != "link" }
                .map { "\($0["local"] ?? "")/\($0["prefixlen"] ?? "")" }
            let subnets = (mine["subnets"] as? [[String: String]]) ?? []
            #expect(Set(subnets.compactMap { $0["ipnet"] }) == Set(ipSubnets))
            for subnet in subnets {
                let isV6 = subnet["ipnet"]?.contains(":") == true
                #expect(subnet["gateway"] == (isV6 ? "fd12:3::1" : "10.123.0.1"))
            }
        }
        #expect(seen == Set(interfaces.keys))
        #expect(seen == ["vb"])
    }

    @Test func statsCountPingsOnBothEnds() throws {
        let ns = NsiNamespaces()
        defer { ns.close() }
        let (a, b) = try nsiVethPair(ns)
        let beforeA = try #require(try nsiStats(a, ["va"])["va"])
        let beforeB = try #require(try nsiStats(b, ["vb"])["vb"])
        let count = 5
        try nsiMust(["ip", "netns", "exec", b, "ping", "-c", "\(count)", "-i", "0.2", "-W", "2", "10.123.0.1"])
        let afterA = try #require(try nsiStats(a, ["va"])["va"])
        let afterB = try #require(try nsiStats(b, ["vb"])["vb"])
        for key in ["rx_packets", "tx_packets"] {
            #expect((afterA[key] ?? 0) - (beforeA[key] ?? 0) >= count, "\(key) on va")
            #expect((afterB[key] ?? 0) - (beforeB[key] ?? 0) >= count, "\(key) on vb")
        }
        #expect((afterB["tx_bytes"] ?? 0) > (beforeB["tx_bytes"] ?? 0))
    }

    @Test func bridgeNetwork() throws {
        let ns = NsiNamespaces()
        defer { ns.close() }
        let host = try ns.make(), c1 = try ns.make(), c2 = try ns.make()
        try nsiIP(host, "link add br0 type bridge")
        try nsiIP(host, "addr add 10.124.0.1/24 dev br0")
        try nsiIP(host, "link set br0 up")
        for (i, c) in [c1, c2].enumerated() {
            try nsiIP(host, "link add h\(i) type veth peer name eth0 netns \(c)")
            try nsiIP(host, "link set h\(i) master br0")
            try nsiIP(host, "link set h\(i) up")
            try nsiIP(c, "addr add 10.124.0.\(i + 2)/24 dev eth0")
            try nsiIP(c, "link set eth0 up")
            try nsiIP(c, "route add default via 10.124.0.1")
        }
        let report = try nsiInspect(c1)
        let eth0 = try #require((report["interfaces"] as? [String: [String: Any]])?["eth0"])
        #expect((eth0["subnets"] as? [[String: String]]) == [["ipnet": "10.124.0.2/24", "gateway": "10.124.0.1"]])
        let table = try nsiMust([try nsiBinary(), "inspect", "--netns", "/run/netns/\(host)", "--format", "table"])
        #expect(table.contains("br0") && table.contains("bridge") && table.contains("10.124.0.1/24"))

        let before = try nsiStats(host, ["br0", "h0", "h1"])
        try nsiMust(["ip", "netns", "exec", c1, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.124.0.3"])
        let after = try nsiStats(host, ["br0", "h0", "h1"])
        // c1 -> c2 crosses the bridge through h0 (rx on the host side) and h1 (tx).
        #expect((after["h0"]?["rx_packets"] ?? 0) - (before["h0"]?["rx_packets"] ?? 0) >= 3)
        #expect((after["h1"]?["tx_packets"] ?? 0) - (before["h1"]?["tx_packets"] ?? 0) >= 3)
    }

    @Test func thousandInterfaces() throws {
        let ns = NsiNamespaces()
        defer { ns.close() }
        let n = try ns.make()
        // dummy if the kernel has it, else ifb (both are cheap, addressless devices).
        let kind = (try? nsiIP(n, "link add probe0 type dummy")) != nil ? "dummy" : "ifb"
        _ = try? nsiIP(n, "link del probe0")
        let batch = (1...1000).map { "link add x\($0) type \(kind)\n" }.joined()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("nsi-batch-\(getpid())").path
        try batch.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        try nsiMust(["ip", "-n", n, "-batch", file], timeout: 120)
        try nsiIP(n, "addr add 10.125.3.4/24 dev x777")

        let report = try nsiInspect(n)
        let interfaces = try #require(report["interfaces"] as? [String: [String: Any]])
        let links = try #require(try nsiJSON(try nsiMust(["ip", "-j", "-n", n, "link"])) as? [[String: Any]])
        let expected = Set(links.compactMap { $0["ifname"] as? String }.filter { $0 != "lo" })
        #expect(interfaces.count == 1000)
        #expect(Set(interfaces.keys) == expected)
        #expect((interfaces["x777"]?["subnets"] as? [[String: String]]) == [["ipnet": "10.125.3.4/24"]])
        let stats = try nsiMust([try nsiBinary(), "stats", "--netns", "/run/netns/\(n)"])
        let statsJSON = try #require(try nsiJSON(stats) as? [String: Any])
        #expect((statsJSON["interfaces"] as? [String: Any])?.count == 1000)
    }

    @Test func errorsAreCleanAndNonZero() throws {
        let ns = NsiNamespaces()
        defer { ns.close() }
        let n = try ns.make()
        let bin = try nsiBinary()
        let notNetns = try nsiRun([bin, "inspect", "--netns", "/proc/self/ns/uts"])
        #expect(notNetns.status != 0 && notNetns.stdout.isEmpty)
        #expect(notNetns.stderr.contains("not a network namespace"))
        let missing = try nsiRun([bin, "inspect", "--netns", "/run/netns/nsi-does-not-exist"])
        #expect(missing.status != 0 && missing.stdout.isEmpty)
        #expect(missing.stderr.contains("No such file or directory"))
        let noIface = try nsiRun([bin, "stats", "--netns", "/run/netns/\(n)", "--interface", "eth9"])
        #expect(noIface.status != 0 && noIface.stdout.isEmpty)
        #expect(noIface.stderr.contains("interface eth9 not found"))
        let badCache = try nsiRun([bin, "stats", "--container", "abc", "--cache-dir", "/nonexistent-nsi"])
        #expect(badCache.status != 0 && badCache.stdout.isEmpty && !badCache.stderr.isEmpty)
    }
}
