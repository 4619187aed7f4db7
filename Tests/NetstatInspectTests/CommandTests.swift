import Glibc
import JSON
import Netlink
import NetlinkTestSupport
import Testing
@testable import NetstatInspect

/// `NetstatInspect.run` end to end over recorded netlink replies (no privileges needed).
@Suite struct CommandTests {
    /// Netlink sessions that replay a fixture recorded by Tests/NetlinkTests/Fixtures/record.sh.
    static func replay(_ names: [String]) -> (String) throws(NetlinkError) -> RouteNetlink {
        { (_: String) throws(NetlinkError) in
            var replies: [[UInt8]] = []
            var portID: UInt32 = 0
            var sequence: UInt32 = 1
            // Each fixture was recorded starting at sequence 1; renumber them to follow each other.
            for name in names {
                guard let fixture = try? Fixture.load(name) else { throw .malformed(request: name, detail: "fixture") }
                portID = fixture.portID
                replies += fixture.datagrams.map { Fixture.renumber($0, from: 1, to: sequence) }
                sequence += fixture.requests
            }
            return RouteNetlink(socket: RecordedNetlinkSocket(portID: portID, replies: replies), firstSequence: 1)
        }
    }

    @Test func inspectFromRecordedNamespace() throws {
        let out = NetstatInspect.run(["inspect", "--netns", "/run/netns/fixture"],
                                     openNetlink: Self.replay(["recorded-links.hex", "recorded-addresses.hex",
                                                               "recorded-routes.hex"]))
        #expect(out.exitCode == 0, "\(out.stderr)")
        #expect(out.stderr == "")
        let json = try JSON.parse(out.stdout)
        let veth0 = try #require(json["interfaces"]?["veth0"])
        #expect(veth0["mac_address"] == "02:00:00:00:00:01")
        #expect(veth0["mtu"] == 1400)
        #expect(veth0["subnets"] == [["ipnet": "10.77.0.2/24", "gateway": "10.77.0.1"],
                                     ["ipnet": "fd77::2/64", "gateway": "fd77::1"]])
        #expect(json["interfaces"]?["lo"] == nil)
        #expect(json["interfaces"]?["br0"]?["subnets"] == [["ipnet": "10.77.0.1/24", "gateway": "10.77.0.1"]])
    }

    @Test func statsFromRecordedNamespace() throws {
        let out = NetstatInspect.run(["stats", "--netns", "/n", "--interface", "lo"],
                                     openNetlink: Self.replay(["recorded-links.hex"]))
        #expect(out.exitCode == 0, "\(out.stderr)")
        let json = try JSON.parse(out.stdout)
        let lo = try #require(json["interfaces"]?["lo"])
        // record.sh pings 127.0.0.1 three times: 3 requests + 3 replies through lo.
        #expect((lo["rx_packets"]?.intValue ?? 0) >= 6)
        #expect(lo["rx_packets"] == lo["tx_packets"])
        #expect(json["total"] == lo)
    }

    @Test func errorsGoToStderrOnly() {
        let out = NetstatInspect.run(["stats", "--netns", "/n", "--interface", "nope"],
                                     openNetlink: Self.replay(["recorded-links.hex"]))
        #expect(out == CommandOutput(stdout: "", stderr: "netstat-inspect: interface nope not found in netns /n\n",
                                     exitCode: 1))
        let failing = NetstatInspect.run(["inspect", "--netns", "/n"]) { (_: String) throws(NetlinkError) in
            throw NetlinkError.notNetworkNamespace(path: "/n")
        }
        #expect(failing == CommandOutput(stdout: "", stderr: "netstat-inspect: /n is not a network namespace\n",
                                         exitCode: 1))
        let usage = NetstatInspect.run(["inspect"]) { (_: String) throws(NetlinkError) in
            throw NetlinkError.notNetworkNamespace(path: "/n")
        }
        #expect(usage.exitCode == 2)
        #expect(usage.stdout == "")
    }
}

/// Reads the NetlinkTests fixtures (shared, not copied).
enum Fixture {
    static let directory: String = {
        let file = #filePath
        let tests = file[..<(file.lastIndex(of: "/") ?? file.endIndex)]
        let root = tests[..<(tests.lastIndex(of: "/") ?? tests.endIndex)]
        return String(root) + "/NetlinkTests/Fixtures"
    }()

    static func load(_ name: String) throws -> (portID: UInt32, datagrams: [[UInt8]], requests: UInt32) {
        let text = try readFile(directory + "/" + name)
        var portID: UInt32 = 0
        var datagrams: [[UInt8]] = []
        var current: [UInt8] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("portid:") { portID = UInt32(line.dropFirst(7).filter { $0 != " " }) ?? 0; continue }
            if line == "--" { datagrams.append(current); current = []; continue }
            let digits = Array(line.filter { !$0.isWhitespace })
            for i in stride(from: 0, to: digits.count - 1, by: 2) {
                current.append(UInt8(String(digits[i...i + 1]), radix: 16) ?? 0)
            }
        }
        if !current.isEmpty { datagrams.append(current) }
        // A dump ends in NLMSG_DONE; count them to know how many requests the fixture answers.
        let requests = UInt32(datagrams.reduce(0) { $0 + messages($1).filter { $0.type == 3 }.count })
        return (portID, datagrams, requests)
    }

    static func messages(_ d: [UInt8]) -> [(offset: Int, type: UInt16)] {
        var out: [(Int, UInt16)] = []
        var o = 0
        while o + 16 <= d.count {
            let len = Int(d[o]) | Int(d[o + 1]) << 8 | Int(d[o + 2]) << 16 | Int(d[o + 3]) << 24
            out.append((o, UInt16(d[o + 4]) | UInt16(d[o + 5]) << 8))
            guard len >= 16 else { break }
            o += (len + 3) & ~3
        }
        return out
    }

    /// Shifts every message's sequence number by `to - from`.
    static func renumber(_ d: [UInt8], from: UInt32, to: UInt32) -> [UInt8] {
        var d = d
        for (o, _) in messages(d) {
            let seq = UInt32(d[o + 8]) | UInt32(d[o + 9]) << 8 | UInt32(d[o + 10]) << 16 | UInt32(d[o + 11]) << 24
            let n = seq &+ (to &- from)
            for k in 0..<4 { d[o + 8 + k] = UInt8(truncatingIfNeeded: n >> (8 * UInt32(k))) }
        }
        return d
    }

    static func readFile(_ path: String) throws -> String {
        guard let f = fopen(path, "re") else { throw FixtureReadError(path: path) }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while case let n = fread(&buf, 1, buf.count, f), n > 0 { bytes += buf[..<n] }
        return String(decoding: bytes, as: UTF8.self)
    }

    struct FixtureReadError: Error { var path: String }
}
