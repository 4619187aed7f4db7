import CNI
import Foundation
import JSON
import Testing

/// A bounded random/mutation fuzz of the parsers that read untrusted input: `JSON.parse`,
/// `NetConf.parse` (stdin), `CNIResult.parse` (prevResult, delegate output, records) and
/// `CNIEnvironment.parse` (CNI_*). Properties: nothing crashes or hangs; every failure is a
/// `CNIError` with a code from the spec's table (JSON errors become 6); what parses is
/// consistent (a parsed result re-renders in every version and parses back).
///
/// Budget: `RCNI_FUZZ_SECONDS` (default 5, split between the targets); `RCNI_FUZZ_SEED` replays
/// a run (the seed is printed). `scripts/fuzz [SECONDS]` runs it with a long budget.
@Suite("fuzz: config, result and env parsers", .serialized)
struct FuzzTests {
    static let budget: Double = {
        let env = ProcessInfo.processInfo.environment
        return env["RCNI_FUZZ_SECONDS"].flatMap(Double.init).map { max(0.2, $0) } ?? 5
    }()

    static let seed: UInt64 = {
        if let s = ProcessInfo.processInfo.environment["RCNI_FUZZ_SEED"].flatMap(UInt64.init) { return s }
        return UInt64.random(in: 1...UInt64.max)
    }()

    static let knownCodes = Set(CNIErrorCode.allCases.map(\.rawValue))

    /// Runs `body` with fresh inputs until this target's share of the budget is spent.
    static func run(_ name: String, share: Double, seed: UInt64, _ body: (inout FuzzRNG) throws -> Void) rethrows {
        // Per target, stable across processes (hashValue is not), so a seed replays a run.
        let salt = name.utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
        var rng = FuzzRNG(seed: seed ^ salt)
        let deadline = Date().addingTimeInterval(budget * share)
        var iterations = 0
        repeat {
            try body(&rng)
            iterations += 1
        } while Date() < deadline
        print("fuzz: \(name): \(iterations) inputs in \(String(format: "%.1f", budget * share)) s (RCNI_FUZZ_SEED=\(seed))")
    }

    /// The four parsers, each fuzzed by its own test.
    enum Target: String, Codable, Sendable {
        case json, netConf, result, environment

        func fuzz(seed: UInt64) {
            switch self {
            case .json: FuzzTests.json(seed: seed)
            case .netConf: FuzzTests.netConf(seed: seed)
            case .result: FuzzTests.result(seed: seed)
            case .environment: FuzzTests.environment(seed: seed)
            }
        }
    }

    // Each target runs in a child process (an exit test): a parser that crashes or overflows its
    // stack fails that test, with the seed to replay it, instead of killing the whole test
    // binary (and every later test with it). Issues recorded in the child are reported here.
    static func fuzzInChild(_ target: Target, sourceLocation: SourceLocation = #_sourceLocation) async {
        let seed = Self.seed
        await #expect(processExitsWith: .success, "fuzz target \(target.rawValue) crashed (RCNI_FUZZ_SEED=\(seed))",
                      sourceLocation: sourceLocation) { [target, seed = seed as UInt64] in
            target.fuzz(seed: seed)
        }
    }

    @Test("JSON.parse: mutated and generated texts parse or fail with a positioned error")
    func jsonTarget() async { await Self.fuzzInChild(.json) }

    @Test("NetConf.parse: every failure is a CNIError with a known code; successes are consistent")
    func netConfTarget() async { await Self.fuzzInChild(.netConf) }

    @Test("CNIResult.parse: failures are CNIErrors; a parsed result renders in every version and parses back")
    func resultTarget() async { await Self.fuzzInChild(.result) }

    @Test("CNIEnvironment.parse: failures are code 3 or 4; successes hold valid names")
    func environmentTarget() async { await Self.fuzzInChild(.environment) }

    /// A failure must be a CNIError with a known code.
    static func expectKnown(_ error: any Error, _ input: @autoclosure () -> String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        guard let e = error as? CNIError else {
            Issue.record("not a CNIError: \(type(of: error)) \(error) for input \(input().prefix(300))", sourceLocation: sourceLocation)
            return
        }
        #expect(knownCodes.contains(e.code), "unknown code \(e.code): \(e) for \(input().prefix(300))",
                sourceLocation: sourceLocation)
    }

    static func json(seed: UInt64) {
        run("JSON.parse", share: 0.2, seed: seed) { rng in
            let bytes = rng.chance(0.3) ? Array(FuzzGen.value(&rng, depth: 0).encoded().utf8)
                : FuzzMutate.bytes(Array(rng.pick(FuzzCorpus.all).utf8), &rng)
            do {
                let v = try JSON.parse(bytes)
                // What parses re-encodes and parses back to the same value.
                let again = try? JSON.parse(Array(v.encoded().utf8))
                #expect(again == v || v.containsNaN, "round trip of \(String(decoding: bytes.prefix(300), as: UTF8.self))")
            } catch {
                #expect(PluginMain.cniError(from: error).code == 6)
            }
        }
        // Pathological shapes once per run: deep nesting, long strings, NUL bytes, bad UTF-8.
        for text in [String(repeating: "[", count: 100_000), String(repeating: "{\"a\":", count: 50_000),
                     "[" + String(repeating: "1,", count: 200_000) + "1]", "\"\u{0}\"", "{\"a\":\"\\u0000\"}"] {
            _ = try? JSON.parse(Array(text.utf8))
        }
        _ = try? JSON.parse([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])
    }

    static func netConf(seed: UInt64) {
        run("NetConf.parse", share: 0.35, seed: seed) { rng in
            let bytes: [UInt8]
            switch rng.int(3) {
            case 0: bytes = FuzzMutate.bytes(Array(rng.pick(FuzzCorpus.configs).utf8), &rng)
            case 1: bytes = Array(FuzzMutate.structure(rng.pick(FuzzCorpus.configs), &rng).utf8)
            default: bytes = Array(FuzzGen.value(&rng, depth: 0).encoded().utf8)
            }
            do {
                let c = try NetConf.parse(bytes)
                #expect(CNIVersion.all.contains(c.version))
                #expect(!c.name.isEmpty)
                _ = c.validAttachmentsOrError
                if let prev = c.prevResult { FuzzTests.checkResult(prev) }
            } catch {
                Self.expectKnown(error, String(decoding: bytes, as: UTF8.self))
            }
        }
    }

    static func result(seed: UInt64) {
        run("CNIResult.parse", share: 0.3, seed: seed) { rng in
            let text = rng.chance(0.5) ? FuzzMutate.structure(rng.pick(FuzzCorpus.results), &rng)
                : String(decoding: FuzzMutate.bytes(Array(rng.pick(FuzzCorpus.results).utf8), &rng), as: UTF8.self)
            guard let json = try? JSON.parse(Array(text.utf8)) else { return }
            let fallback: CNIVersion? = rng.chance(0.5) ? rng.pick(CNIVersion.all) : nil
            do {
                FuzzTests.checkResult(try CNIResult.parse(json, fallbackVersion: fallback))
            } catch {
                Self.expectKnown(error, text)
            }
        }
    }

    static func checkResult(_ r: CNIResult) {
        for v in CNIVersion.all {
            let rendered = r.json(version: v)
            do { _ = try CNIResult.parse(rendered) } catch {
                Issue.record("result rendered as \(v) does not parse back: \(error): \(rendered.encoded().prefix(400))")
            }
        }
    }

    static func environment(seed: UInt64) {
        run("CNIEnvironment.parse", share: 0.15, seed: seed) { rng in
            let env = FuzzGen.environment(&rng)
            do {
                let e = try CNIEnvironment.parse(env)
                if !e.containerID.isEmpty {
                    #expect(e.containerID.first.map { $0.isLetter || $0.isNumber } == true && !e.containerID.contains("/"),
                            "accepted container ID \(e.containerID.debugDescription)")
                }
                if !e.ifName.isEmpty {
                    #expect(e.ifName.utf8.count <= 15 && !e.ifName.contains("/") && e.ifName != "." && e.ifName != "..",
                            "accepted ifname \(e.ifName.debugDescription)")
                }
            } catch {
                Self.expectKnown(error, "\(env)")
                #expect([3, 4].contains((error as? CNIError)?.code ?? 0), "\(error) for \(env)")
            }
        }
    }
}

extension NetConf {
    /// Exercised for crashes only; a config error is fine.
    var validAttachmentsOrError: Int { (try? validAttachments().count) ?? -1 }
}

extension JSON {
    var containsNaN: Bool {
        switch self {
        case .double(let d): return d.isNaN || d.isInfinite
        case .array(let a): return a.contains { $0.containsNaN }
        case .object(let o): return o.contains { $0.1.containsNaN }
        default: return false
        }
    }
}

/// SplitMix64: small, fast, reproducible from a seed.
struct FuzzRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }
    mutating func pick<T>(_ a: [T]) -> T { a[int(a.count)] }
}

/// Seeds: valid inputs of every shape the parsers accept.
enum FuzzCorpus {
    static let configs = [
        #"{"cniVersion":"1.0.0","name":"rootless-bridge","type":"rootless-netns","backend":"slirp4netns","mtu":65520,"cidr":"10.0.2.0/24","capabilities":{"portMappings":true},"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp","hostIP":"127.0.0.1"}]},"delegates":[{"type":"bridge","bridge":"cni0","ipam":{"type":"host-local","ranges":[[{"subnet":"10.89.0.0/24"}]]}},{"type":"portmap","capabilities":{"portMappings":true}}]}"#,
        #"{"cniVersion":"0.4.0","name":"n","type":"bridge","prevResult":{"cniVersion":"0.4.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x","mac":"aa:bb:cc:dd:ee:ff"}],"ips":[{"version":"4","address":"10.1.2.3/24","gateway":"10.1.2.1","interface":0}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["10.0.2.3"]}}}"#,
        #"{"cniVersion":"1.1.0","cniVersions":["0.3.1","1.0.0","1.1.0"],"name":"gc","type":"rootless-netns","cni.dev/valid-attachments":[{"containerID":"a","ifname":"eth0"}],"delegates":[{"type":"relfake"}]}"#,
        #"{"cniVersion":"0.3.1","name":"old","type":"ptp","ipMasq":true,"ipam":{"type":"static","addresses":[{"address":"fd00::2/64"}]}}"#,
    ]
    static let results = [
        #"{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","mac":"aa:bb:cc:dd:ee:ff","mtu":1500,"sandbox":"/run/netns/x","socketPath":"/s","pciID":"0000:00:01.0"}],"ips":[{"address":"10.1.2.3/24","gateway":"10.1.2.1","interface":0},{"address":"fd00::3/64","interface":0}],"routes":[{"dst":"0.0.0.0/0","gw":"10.1.2.1","mtu":1400,"advmss":1360,"priority":10,"table":100,"scope":0}],"dns":{"nameservers":["10.0.2.3"],"domain":"example","search":["a.example"],"options":["ndots:2"]}}"#,
        #"{"cniVersion":"0.3.0","interfaces":[{"name":"eth0"}],"ips":[{"version":"4","address":"10.1.2.3/24","interface":0}]}"#,
        #"{"cniVersion":"1.0.0","ips":[{"address":"10.1.2.3/32"}],"routes":[{"dst":"::/0","gw":"fe80::1"}]}"#,
        #"{"interfaces":[],"ips":[]}"#,
    ]
    static let all = configs + results + [#"{"CNI_COMMAND":"ADD"}"#, #"[1,2.5,-3e9,true,null,"x\u00e9\n"]"#]
}

/// Random JSON values and environments, biased towards the names the parsers look at.
enum FuzzGen {
    static let keys = ["cniVersion", "cniVersions", "name", "type", "capabilities", "runtimeConfig", "prevResult",
                       "interfaces", "ips", "routes", "dns", "address", "gateway", "interface", "version", "dst", "gw",
                       "mtu", "nameservers", "cni.dev/valid-attachments", "containerID", "ifname", "sandbox", "mac",
                       "portMappings", "delegates", "x"]
    static let strings = ["1.0.0", "1.1.0", "0.4.0", "0.3.1", "0.3.0", "0.2.0", "1.0", "", "eth0", "10.1.2.3/24",
                          "fd00::1/64", "10.1.2.1", "::1", "999.1.1.1/8", "10.0.0.0/33", "4", "6", "../x", ".", "a/b",
                          String(repeating: "a", count: 300), "\u{0}", "é", "-1"]

    static func value(_ rng: inout FuzzRNG, depth: Int) -> JSON {
        let leafOnly = depth > 4
        switch rng.int(leafOnly ? 5 : 7) {
        case 0: return .null
        case 1: return .bool(rng.chance(0.5))
        case 2: return .int(rng.chance(0.8) ? Int64(rng.int(70000)) - 10 : Int64(bitPattern: rng.next()))
        case 3: return .double(rng.chance(0.5) ? Double(rng.int(1000)) / 7 : 1e300)
        case 4: return .string(rng.pick(strings))
        case 5: return .array((0..<rng.int(4)).map { _ in value(&rng, depth: depth + 1) })
        default:
            var o = JSONObject()
            for _ in 0..<rng.int(6) { o[rng.pick(keys)] = value(&rng, depth: depth + 1) }
            return .object(o)
        }
    }

    static func environment(_ rng: inout FuzzRNG) -> [String: String] {
        let commands = ["ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION", "add", "", "REMOVE"]
        let ids = ["abc", "a.b-c_d", "", "../x", ".x", "-x", "a b", "a@b", "x/y", String(repeating: "z", count: 500), "é"]
        let ifnames = ["eth0", "", "abcdefghijklmnop", "a/b", "a:b", "a b", ".", "..", "x@y", "\t", "é"]
        let args = ["", "K=V", "K=V;L=W", "garbage", ";;", "=v", "K=", "IgnoreUnknown=1;K"]
        var env: [String: String] = [:]
        func maybe(_ key: String, _ values: [String]) { if rng.chance(0.85) { env[key] = rng.pick(values) } }
        maybe("CNI_COMMAND", commands)
        maybe("CNI_CONTAINERID", ids)
        maybe("CNI_IFNAME", ifnames)
        maybe("CNI_NETNS", ["/run/netns/x", "", "relative", "/proc/1/ns/net"])
        maybe("CNI_ARGS", args)
        maybe("CNI_PATH", ["/opt/cni/bin", "", ":", "/a::/b"])
        return env
    }
}

/// Mutations of valid seeds.
enum FuzzMutate {
    /// Byte-level: flips, inserts, deletions, duplications, truncation.
    static func bytes(_ seed: [UInt8], _ rng: inout FuzzRNG) -> [UInt8] {
        var b = seed
        let interesting: [UInt8] = Array("{}[]\":,\\0-e.\n ".utf8) + [0, 0xff, 0xc3, 0x80]
        for _ in 0..<(1 + rng.int(8)) {
            guard !b.isEmpty else { b = [rng.pick(interesting)]; continue }
            let i = rng.int(b.count)
            switch rng.int(6) {
            case 0: b[i] ^= UInt8(1 << rng.int(8))
            case 1: b.insert(rng.pick(interesting), at: i)
            case 2: b.removeSubrange(i..<min(b.count, i + 1 + rng.int(16)))
            case 3: b.insert(contentsOf: b[i..<min(b.count, i + 1 + rng.int(32))], at: rng.int(b.count))
            case 4: b = Array(b.prefix(i))
            default: b[i] = rng.pick(interesting)
            }
        }
        return b
    }

    /// Structure-aware: replace, drop or add a member somewhere in the tree.
    static func structure(_ seed: String, _ rng: inout FuzzRNG) -> String {
        guard var v = try? JSON.parse(Array(seed.utf8)) else { return seed }
        for _ in 0..<(1 + rng.int(4)) { v = mutate(v, &rng, depth: 0) }
        return v.encoded()
    }

    static func mutate(_ v: JSON, _ rng: inout FuzzRNG, depth: Int) -> JSON {
        switch v {
        case .object(var o) where !o.isEmpty && rng.chance(0.8):
            let keys = o.map(\.0)
            let k = rng.pick(keys)
            switch rng.int(4) {
            case 0: o[k] = nil
            case 1: o[k] = FuzzGen.value(&rng, depth: depth + 1)
            case 2: o[rng.pick(FuzzGen.keys)] = FuzzGen.value(&rng, depth: depth + 1)
            default: o[k] = mutate(o[k] ?? .null, &rng, depth: depth + 1)
            }
            return .object(o)
        case .array(var a) where !a.isEmpty && rng.chance(0.8):
            let i = rng.int(a.count)
            switch rng.int(3) {
            case 0: a.remove(at: i)
            case 1: a.append(a[i])
            default: a[i] = mutate(a[i], &rng, depth: depth + 1)
            }
            return .array(a)
        default:
            return FuzzGen.value(&rng, depth: depth)
        }
    }
}
