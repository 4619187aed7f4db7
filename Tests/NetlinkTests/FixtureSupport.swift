import Glibc
@testable import Netlink
import NetlinkTestSupport

/// Recorded netlink traffic in `Fixtures/*.hex`: `#` comment lines, `portid: N` once, hex bytes,
/// and a line `--` between datagrams.
struct HexFixture {
    var portID: UInt32 = 0
    var datagrams: [[UInt8]] = []

    static let directory: String = {
        let file = #filePath
        let dir = file[..<(file.lastIndex(of: "/") ?? file.endIndex)]
        return String(dir) + "/Fixtures"
    }()

    static func load(_ name: String) throws -> HexFixture {
        let text = try readText(directory + "/" + name)
        var fixture = HexFixture()
        var current: [UInt8] = []
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingCharacters(" \t")
            if line.hasPrefix("#") || line.isEmpty { continue }
            if line.hasPrefix("portid:") {
                fixture.portID = UInt32(line.dropFirst("portid:".count).trimmingCharacters(" ")) ?? 0
                continue
            }
            if line == "--" {
                fixture.datagrams.append(current)
                current = []
                continue
            }
            current += try parseHex(line)
        }
        if !current.isEmpty { fixture.datagrams.append(current) }
        return fixture
    }

    /// Writes datagrams as hex, 16 bytes a line, with a header comment.
    static func render(comment: [String], portID: UInt32, datagrams: [[UInt8]]) -> String {
        var out = comment.map { "# \($0)\n" }.joined()
        out += "portid: \(portID)\n"
        for (i, d) in datagrams.enumerated() {
            if i > 0 { out += "--\n" }
            out += "# datagram \(i + 1): \(d.count) bytes\n"
            var offset = 0
            while offset < d.count {
                out += d[offset..<min(offset + 16, d.count)].map(hexByte).joined(separator: " ") + "\n"
                offset += 16
            }
        }
        return out
    }

    func socket() -> RecordedNetlinkSocket { RecordedNetlinkSocket(portID: portID, replies: datagrams) }
}

struct FixtureError: Error, CustomStringConvertible { var description: String }

func hexByte(_ b: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(b >> 4)], digits[Int(b & 0xf)]])
}

/// "00 1a ff" or "001aff" (a `#` starts a trailing comment).
func parseHex(_ line: String) throws -> [UInt8] {
    let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    let digits = code.filter { !$0.isWhitespace }
    guard digits.count % 2 == 0 else { throw FixtureError(description: "odd hex digits in \"\(line)\"") }
    var out: [UInt8] = []
    var it = digits.makeIterator()
    while let hi = it.next(), let lo = it.next() {
        guard let v = UInt8(String([hi, lo]), radix: 16) else { throw FixtureError(description: "bad hex \(hi)\(lo)") }
        out.append(v)
    }
    return out
}

func readText(_ path: String) throws -> String {
    guard let f = fopen(path, "re") else { throw FixtureError(description: "open \(path): errno \(errno)") }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n == 0 { break }
        bytes += buf[..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

func writeText(_ path: String, _ text: String) throws {
    guard let f = fopen(path, "we") else { throw FixtureError(description: "create \(path): errno \(errno)") }
    defer { fclose(f) }
    _ = fputs(text, f)
}

extension StringProtocol {
    func trimmingCharacters(_ set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
