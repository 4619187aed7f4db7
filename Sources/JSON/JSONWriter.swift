/// Streams JSON text into a byte buffer, with exactly the bytes jansson's `json_dumps` produces
/// for the same tree (flags JSON_PRESERVE_ORDER, JSON_COMPACT or JSON_INDENT(2)): no tree, no
/// per-value allocation, so a report of thousands of interfaces is written in one pass.
///
/// Calls must be balanced (`beginObject`/`endObject`, `beginArray`/`endArray`) and, inside an
/// object, every value preceded by `key`. Checked only by assertions: the callers are our reports.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    let pretty: Bool
    /// One entry per open container: has it had an element yet?
    private var hasElement: [Bool] = []
    /// A key was just written: the next value follows it on the same line.
    private var afterKey = false

    public init(pretty: Bool, reserve: Int = 0) {
        self.pretty = pretty
        bytes.reserveCapacity(reserve)
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Separator and indentation before an element of the innermost container.
    private mutating func beforeElement() {
        if afterKey { afterKey = false; return }
        guard let last = hasElement.last else { return }
        if last { bytes.append(UInt8(ascii: ",")) }
        hasElement[hasElement.count - 1] = true
        newline(depth: hasElement.count)
    }

    private mutating func newline(depth: Int) {
        guard pretty else { return }
        let n = depth * 2 + 1
        if n <= Self.indentation.count {
            Self.indentation.withUnsafeBufferPointer { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: $0[..<n])) }
        } else {
            bytes.append(UInt8(ascii: "\n"))
            bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: n - 1))
        }
    }

    /// "\n" and 64 spaces: the indentation of depths up to 32, appended as one slice.
    private static let indentation: [UInt8] = [UInt8(ascii: "\n")] + [UInt8](repeating: UInt8(ascii: " "), count: 64)

    private mutating func close(_ bracket: Character) {
        let had = hasElement.removeLast()
        if had { newline(depth: hasElement.count) }
        bytes.append(UInt8(ascii: bracket.unicodeScalars.first ?? " "))
    }

    public mutating func beginObject() { beforeElement(); bytes.append(UInt8(ascii: "{")); hasElement.append(false) }
    public mutating func endObject() { close("}") }
    public mutating func beginArray() { beforeElement(); bytes.append(UInt8(ascii: "[")); hasElement.append(false) }
    public mutating func endArray() { close("]") }

    /// An object key (`JSON.write` cuts keys at a NUL, as jansson did; report keys have none).
    public mutating func key(_ key: String) {
        beforeElement()
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
        if pretty { bytes.append(UInt8(ascii: " ")) }
        afterKey = true
    }

    /// A key whose text is escaped once and reused (report field names, written thousands of times).
    public mutating func key(_ key: JSONKey) {
        beforeElement()
        bytes.append(contentsOf: pretty ? key.pretty : key.compact)
        afterKey = true
    }

    public mutating func string(_ value: String) { beforeElement(); writeString(value) }
    public mutating func int(_ value: Int64) { beforeElement(); writeInt(value) }
    public mutating func uint(_ value: UInt64) { int(Int64(clamping: value)) }
    public mutating func bool(_ value: Bool) { beforeElement(); bytes.append(contentsOf: value ? Self.true_ : Self.false_) }
    public mutating func null() { beforeElement(); bytes.append(contentsOf: Self.null_) }
    /// Reals go through jansson's own formatter (`%.17g` or dtoa, whichever it was built with);
    /// non-finite values are `null`, as `JSON.encoded` always wrote them.
    public mutating func double(_ value: Double) {
        beforeElement()
        bytes.append(contentsOf: value.isFinite ? janssonReal(value) : Self.null_)
    }

    /// `key` then `string`, the common case of a report field.
    public mutating func field(_ name: String, _ value: String) { key(name); string(value) }
    public mutating func field(_ name: String, _ value: Int64) { key(name); int(value) }

    static let true_ = Array("true".utf8), false_ = Array("false".utf8), null_ = Array("null".utf8)

    private mutating func writeInt(_ value: Int64) {
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: a sign and 20 digits fit
        withUnsafeMutableBytes(of: &digits) { buf in
            var start = buf.count
            repeat {
                start -= 1
                buf[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 { start -= 1; buf[start] = UInt8(ascii: "-") }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[start...]))
        }
    }

    private static let hex = Array("0123456789ABCDEF".utf8)

    /// jansson's dump_string: escapes `"`, `\` and control characters (\b \f \n \r \t by name,
    /// others as \u00XX); `/` and non-ASCII are written as they are.
    private mutating func writeString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            // Most strings need no escape: one append.
            if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                bytes.append(contentsOf: utf8)
                return
            }
            var start = 0
            for (i, c) in utf8.enumerated() where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                if start < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i])) }
                start = i + 1
                bytes.append(UInt8(ascii: "\\"))
                switch c {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(c)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0c: bytes.append(UInt8(ascii: "f"))
                case 0x0a: bytes.append(UInt8(ascii: "n"))
                case 0x0d: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                              Self.hex[Int(c >> 4)], Self.hex[Int(c & 0xf)]])
                }
            }
            if start < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// An object key escaped ahead of time, with its separator (`"name":` / `"name": `).
public struct JSONKey: Sendable {
    let compact: [UInt8]
    let pretty: [UInt8]

    public init(_ name: String) {
        var w = JSONWriter(pretty: false)
        w.string(name)
        compact = w.bytes + [UInt8(ascii: ":")]
        pretty = compact + [UInt8(ascii: " ")]
    }
}

extension JSON {
    /// Writes this value (the tree form of `JSONWriter`'s calls).
    public func write(to writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case .bool(let b): writer.bool(b)
        case .int(let i): writer.int(i)
        case .double(let d): writer.double(d)
        case .string(let s): writer.string(s)
        case .array(let items):
            writer.beginArray()
            for item in items { item.write(to: &writer) }
            writer.endArray()
        case .object(let object):
            writer.beginObject()
            for (key, value) in object.janssonEntries { writer.key(key); value.write(to: &writer) }
            writer.endObject()
        }
    }

    /// Compact encoding, keys in document order. `pretty` indents by two spaces. The bytes are
    /// those jansson's json_dumps wrote for the same value (JSONTests checks it differentially).
    public func encoded(pretty: Bool = false) -> String {
        var writer = JSONWriter(pretty: pretty)
        write(to: &writer)
        return writer.text
    }
}

extension JSONObject {
    /// The entries as a jansson object holds them: a key is cut at its first NUL (jansson keys
    /// are C strings), and a cut key equal to an earlier one replaces that entry's value in place.
    var janssonEntries: [(key: String, value: JSON)] {
        guard entries.contains(where: { $0.key.utf8.contains(0) }) else { return entries }
        var out: [(key: String, value: JSON)] = []
        for (key, value) in entries {
            let cut = String(decoding: key.utf8.prefix(while: { $0 != 0 }), as: UTF8.self)
            if let i = out.firstIndex(where: { $0.key == cut }) { out[i].value = value } else { out.append((cut, value)) }
        }
        return out
    }
}
