import CJansson
#if canImport(Glibc)
import Glibc
#endif

/// A JSON text that jansson rejected; `line`/`column` locate it.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var line: Int
    public var column: Int
    public var description: String { "\(message) at line \(line) column \(column)" }
    public init(message: String, line: Int, column: Int) {
        self.message = message; self.line = line; self.column = column
    }
}

extension JSON {
    /// Parses any JSON value (not only objects) with jansson. Integers beyond Int64 (which
    /// jansson refuses and Go reads as float64) are read as doubles; in that case only, the
    /// document's integral reals within Int64 come back as `.int`.
    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSON {
        do {
            return try parse(bytes, flags: JSON_DECODE_ANY | JSON_ALLOW_NUL)
        } catch where error.message.hasPrefix("too big") {
            let json = try parse(bytes, flags: JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL)
            return json.integralRealsAsInts()
        }
    }

    func integralRealsAsInts() -> JSON {
        switch self {
        case .double(let d) where d.rounded() == d && d >= -9.2e18 && d <= 9.2e18: return .int(Int64(d))
        case .array(let items): return .array(items.map { $0.integralRealsAsInts() })
        case .object(let o): return .object(JSONObject(o.entries.map { ($0.key, $0.value.integralRealsAsInts()) }))
        default: return self
        }
    }

    static func parse(_ bytes: [UInt8], flags: Int32) throws(JSONParseError) -> JSON {
        var error = json_error_t()
        let root: UnsafeMutablePointer<json_t>? = bytes.withUnsafeBufferPointer { buf in
            buf.baseAddress.map { base in
                base.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                    json_loadb($0, buf.count, size_t(flags), &error)
                }
            } ?? json_loadb("", 0, size_t(flags), &error)
        }
        guard let root else {
            let text = withUnsafeBytes(of: &error.text) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            throw JSONParseError(message: text, line: Int(error.line), column: Int(error.column))
        }
        defer { json_decref(root) }
        return JSON(jansson: root)
    }

    public static func parse(_ text: String) throws(JSONParseError) -> JSON {
        try parse(Array(text.utf8))
    }

    init(jansson value: UnsafeMutablePointer<json_t>) {
        switch value.pointee.type {
        case JSON_OBJECT:
            var object = JSONObject()
            var iter = json_object_iter(value)
            while let it = iter {
                if let key = json_object_iter_key(it), let child = json_object_iter_value(it) {
                    object[String(cString: key)] = JSON(jansson: child)
                }
                iter = json_object_iter_next(value, it)
            }
            self = .object(object)
        case JSON_ARRAY:
            let n = json_array_size(value)
            var items: [JSON] = []
            items.reserveCapacity(n)
            for i in 0..<n { if let child = json_array_get(value, i) { items.append(JSON(jansson: child)) } }
            self = .array(items)
        case JSON_STRING:
            let n = json_string_length(value)
            if let p = json_string_value(value) {
                self = .string(p.withMemoryRebound(to: UInt8.self, capacity: n) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self)
                })
            } else {
                self = .string("")
            }
        case JSON_INTEGER: self = .int(Int64(json_integer_value(value)))
        case JSON_REAL: self = .double(json_real_value(value))
        case JSON_TRUE: self = .bool(true)
        case JSON_FALSE: self = .bool(false)
        default: self = .null
        }
    }

    /// Builds the jansson tree; the caller owns the returned reference.
    func makeJansson() -> UnsafeMutablePointer<json_t>? {
        switch self {
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
            for item in items { if let child = item.makeJansson() { json_array_append_new(arr, child) } }
            return arr
        case .object(let object):
            let obj = json_object()
            for (key, item) in object {
                if let child = item.makeJansson() { json_object_set_new_nocheck(obj, key, child) }
            }
            return obj
        }
    }

    /// Compact encoding, keys in document order. `pretty` indents by two spaces.
    public func encoded(pretty: Bool = false) -> String {
        guard let root = makeJansson() else { return "null" }
        defer { json_decref(root) }
        var flags = JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)
        flags |= pretty ? JSON_INDENT(2) : JSON_COMPACT
        guard let text = json_dumps(root, size_t(flags)) else { return "null" }
        defer { free(text) }
        return String(cString: text)
    }
}

// jansson's macros that Swift does not import.
@inline(__always) private func JSON_INDENT(_ n: Int32) -> Int32 { n & 0x1F }
@inline(__always) private func JSON_REAL_PRECISION(_ n: Int32) -> Int32 { (n & 0x1F) << 11 }
