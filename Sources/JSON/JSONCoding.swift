import CJansson

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
}

/// jansson's text for one real (JSON_REAL_PRECISION(17)), so reals keep the exact bytes jansson
/// always wrote for them, whichever formatter it was built with.
func janssonReal(_ value: Double) -> [UInt8] {
    guard let real = json_real(value) else { return Array("null".utf8) }
    defer { json_decref(real) }
    let flags = size_t(JSON_ENCODE_ANY | JSON_REAL_PRECISION(17))
    // json_dumpb into our own buffer (its size asked first): nothing of jansson's to free(3).
    let size = json_dumpb(real, nil, 0, flags)
    guard size > 0 else { return Array("null".utf8) }
    var text = [CChar](repeating: 0, count: size)
    guard json_dumpb(real, &text, size, flags) == size else { return Array("null".utf8) }
    return text.map { UInt8(bitPattern: $0) }
}

// jansson's macro that Swift does not import.
@inline(__always) private func JSON_REAL_PRECISION(_ n: Int32) -> Int32 { (n & 0x1F) << 11 }
