import CJansson
import Glibc
import Testing
@testable import JSON

/// `JSON.encoded` streams its text itself; these tests hold it to the bytes jansson's json_dumps
/// writes for the same tree (the encoder every output used before), on fixed and random values.
@Suite struct JanssonEquivalenceTests {
    @Test func fixedValues() throws {
        let values: [JSON] = [
            .null, true, false, 0, -1, .int(Int64.max), .int(Int64.min), 1.5, 0.1, 1e300, -0.0, 100.0, 1e-7,
            .double(.infinity), .double(.nan), "", "a\"b\\c/d\n\t\r\u{8}\u{c}\u{1}\u{1f}\u{7f} é 😀 \u{2028}",
            "nul\u{0}inside", [], [:], [[]], [[:]], ["a": [:], "b": []], [1, [2, [3, ["x": nil]]]],
            ["k\u{0}cut": 1, "k": 2, "z": 3], ["k": 1, "k\u{0}x": 2],
            try JSON.parse(#"{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mac":"aa:bb"}],"ips":[]}"#),
        ]
        for value in values {
            for pretty in [false, true] {
                #expect(value.encoded(pretty: pretty) == reference(value, pretty: pretty), "\(value)")
            }
        }
    }

    @Test func randomTrees() {
        var rng = SplitMix(seed: 0x5eed)
        for _ in 0..<400 {
            let value = randomJSON(&rng, depth: 4)
            for pretty in [false, true] {
                let ours = value.encoded(pretty: pretty)
                let theirs = reference(value, pretty: pretty)
                #expect(ours == theirs)
                if ours != theirs { return }
            }
        }
    }

    @Test func writerCallsMatchTheTree() {
        var w = JSONWriter(pretty: true)
        w.beginObject()
        w.key("interfaces"); w.beginObject()
        w.key("eth0"); w.beginObject(); w.field("mac", "aa"); w.field("mtu", 1500); w.endObject()
        w.key("empty"); w.beginArray(); w.endArray()
        w.endObject()
        w.key("n"); w.uint(UInt64.max)
        w.key(JSONKey("q\"k\n")); w.int(Int64.min)
        w.key(JSONKey("z")); w.beginArray(); w.int(0); w.int(-7); w.string(""); w.endArray()
        w.endObject()
        let tree: JSON = ["interfaces": ["eth0": ["mac": "aa", "mtu": 1500], "empty": []], "n": .int(Int64.max),
                          "q\"k\n": .int(Int64.min), "z": [0, -7, ""]]
        #expect(w.text == reference(tree, pretty: true))
        var compact = JSONWriter(pretty: false)
        tree.write(to: &compact)
        #expect(compact.text == reference(tree, pretty: false))
    }

    /// The encoder JSON.encoded used to be: a jansson tree, json_dumps.
    func reference(_ value: JSON, pretty: Bool) -> String {
        guard let root = jansson(value) else { return "null" }
        defer { json_decref(root) }
        var flags = JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | ((17 & 0x1F) << 11)
        flags |= pretty ? 2 : JSON_COMPACT
        guard let text = json_dumps(root, size_t(flags)) else { return "null" }
        defer { free(text) }
        return String(cString: text)
    }

    func jansson(_ value: JSON) -> UnsafeMutablePointer<json_t>? {
        switch value {
        case .null: return json_null()
        case .bool(let b): return b ? json_true() : json_false()
        case .int(let i): return json_integer(json_int_t(i))
        case .double(let d): return d.isFinite ? json_real(d) : json_null()
        case .string(let s):
            var s = s
            return s.withUTF8 { buf in
                buf.withMemoryRebound(to: CChar.self) { chars in
                    chars.baseAddress.map { json_stringn_nocheck($0, chars.count) } ?? json_string("")
                }
            }
        case .array(let items):
            let arr = json_array()
            for item in items { if let child = jansson(item) { json_array_append_new(arr, child) } }
            return arr
        case .object(let object):
            let obj = json_object()
            for (key, item) in object { if let child = jansson(item) { json_object_set_new_nocheck(obj, key, child) } }
            return obj
        }
    }

    func randomJSON(_ rng: inout SplitMix, depth: Int) -> JSON {
        let pick = Int(rng.next() % (depth > 0 ? 9 : 6))
        switch pick {
        case 0: return .null
        case 1: return .bool(rng.next() & 1 == 0)
        case 2: return .int(Int64(bitPattern: rng.next()) >> Int64(rng.next() % 64))
        case 3: return .double(Double(bitPattern: rng.next()))
        case 4, 5: return .string(randomString(&rng))
        case 6: return .array((0..<Int(rng.next() % 4)).map { _ in randomJSON(&rng, depth: depth - 1) })
        default:
            var o = JSONObject()
            for _ in 0..<Int(rng.next() % 5) { o[randomString(&rng)] = randomJSON(&rng, depth: depth - 1) }
            return .object(o)
        }
    }

    func randomString(_ rng: inout SplitMix) -> String {
        let pool: [Unicode.Scalar] = ["a", "Z", "0", "\"", "\\", "/", "\n", "\u{0}", "\u{1}", "\u{1f}", "\u{7f}",
                                      "é", "日", "😀", " ", "\t", "\u{2028}", "\u{feff}"]
        var s = String.UnicodeScalarView()
        for _ in 0..<Int(rng.next() % 8) { s.append(pool[Int(rng.next() % UInt64(pool.count))]) }
        return String(s)
    }
}

/// A small deterministic generator (the test must replay the same trees every run).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
