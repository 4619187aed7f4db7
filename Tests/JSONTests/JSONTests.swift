import Testing
@testable import JSON

@Suite struct JSONParseTests {
    @Test func scalars() throws {
        #expect(try JSON.parse("null") == .null)
        #expect(try JSON.parse("true") == .bool(true))
        #expect(try JSON.parse("false") == .bool(false))
        #expect(try JSON.parse("42") == .int(42))
        #expect(try JSON.parse("-7") == .int(-7))
        #expect(try JSON.parse("1.5") == .double(1.5))
        #expect(try JSON.parse("\"hi\"") == .string("hi"))
        #expect(try JSON.parse("[]") == .array([]))
        #expect(try JSON.parse("{}") == .object(JSONObject()))
        #expect(try JSON.parse("  \n{ }\t ") == .object(JSONObject()))
    }

    @Test func bigIntegers() throws {
        #expect(try JSON.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSON.parse("-9223372036854775808") == .int(Int64.min))
        // Beyond Int64: jansson refuses, we fall back to doubles (as Go's float64 does).
        let big = try JSON.parse("18446744073709551616")
        #expect(big.doubleValue == 18446744073709551616.0)
        #expect(big.intValue == nil)
        // Other integers in such a document stay integers.
        let mixed = try JSON.parse(#"{"a":1,"b":[2,99999999999999999999],"c":-3}"#)
        #expect(mixed["a"] == .int(1))
        #expect(mixed["c"] == .int(-3))
        #expect(mixed["b"]?.arrayValue?.first == .int(2))
        #expect(mixed.encoded().hasPrefix(#"{"a":1,"b":[2,"#))
    }

    @Test func numbersAsIntValue() throws {
        #expect(try JSON.parse("1e3").intValue == 1000)
        #expect(try JSON.parse("1500.0").intValue == 1500)
        #expect(try JSON.parse("-2E2").intValue == -200)
        #expect(try JSON.parse("1.5").intValue == nil)
        #expect(try JSON.parse("1e300").intValue == nil)
        #expect(try JSON.parse("\"3\"").intValue == nil)
        #expect(try JSON.parse("3").doubleValue == 3.0)
        #expect(JSON.bool(true).intValue == nil)
    }

    @Test func keyOrderPreserved() throws {
        let text = #"{"z":1,"a":2,"m":{"y":true,"b":false},"c":[3,2,1]}"#
        let json = try JSON.parse(text)
        #expect(json.objectValue?.keys == ["z", "a", "m", "c"])
        #expect(json["m"]?.objectValue?.keys == ["y", "b"])
        #expect(json.encoded() == text)
    }

    @Test func duplicateKeysLastWins() throws {
        let json = try JSON.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(json["a"] == .int(3))
        #expect(json.objectValue?.count == 2)
    }

    @Test func unicodeAndEscapes() throws {
        let json = try JSON.parse(#"{"s":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \n\t\r\b\f","u":"日本"}"#)
        #expect(json["s"] == .string("café 😀 \"q\" \\ / \n\t\r\u{8}\u{c}"))
        #expect(json["u"] == .string("日本"))
        let again = try JSON.parse(json.encoded())
        #expect(again == json)
        // Raw UTF-8 is emitted as is, control characters escaped.
        #expect(JSON.string("é\n").encoded() == "\"é\\n\"")
    }

    @Test func embeddedNUL() throws {
        let json = try JSON.parse(#"{"k":"a\u0000b"}"#)
        #expect(json["k"] == .string("a\u{0}b"))
        #expect(json["k"]?.stringValue?.utf8.count == 3)
        #expect(JSON.string("a\u{0}b").encoded() == #""a\u0000b""#)
        #expect(try JSON.parse(JSON.string("x\u{0}").encoded()) == .string("x\u{0}"))
    }

    @Test func nestedDepth() throws {
        let deep = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        var value = try JSON.parse(deep)
        var depth = 0
        while case .array(let a) = value, let first = a.first { value = first; depth += 1 }
        #expect(depth == 499)
        #expect(try JSON.parse(deep).encoded() == deep)
        // jansson caps nesting (2048); deeper input is a parse error, not a crash.
        let tooDeep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        #expect(throws: JSONParseError.self) { try JSON.parse(tooDeep) }
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "'x'", "nul", "tru",
        "01", "1.", ".5", "+1", "NaN", "Infinity", "{\"a\":1}x", "[1] [2]", "\"unterminated",
        "\"bad \\x escape\"", "{\"a\":1,}", "// comment\n{}",
    ])
    func invalid(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSON.parse(text) }
    }

    @Test func invalidUTF8AndNULKey() {
        #expect(throws: JSONParseError.self) { try JSON.parse([0x22, 0xff, 0xfe, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSON.parse(#"{"a\u0000":1}"#) }
        #expect(throws: JSONParseError.self) { try JSON.parse([UInt8]()) }
    }

    @Test func parseErrorLocates() {
        do {
            _ = try JSON.parse("{\n  \"a\": ,\n}")
            Issue.record("expected an error")
        } catch {
            #expect(error.line == 2)
            #expect(!error.message.isEmpty)
            #expect(error.description.contains("line 2"))
        }
    }
}

@Suite struct JSONEncodeTests {
    @Test func roundTrip() throws {
        let value: JSON = [
            "cniVersion": "1.0.0", "name": "net", "n": 3, "f": 2.5, "t": true, "nil": nil,
            "list": [1, "two", [3], ["four": 4]], "obj": ["x": ["y": ["z": false]]],
        ]
        let text = value.encoded()
        #expect(try JSON.parse(text) == value)
        #expect(try JSON.parse(value.encoded(pretty: true)) == value)
        #expect(value.encoded(pretty: true).contains("\n  \"name\": \"net\""))
        #expect(try JSON.parse(text).objectValue?.keys == value.objectValue?.keys)
    }

    @Test func compactAndScalars() {
        #expect(JSON.null.encoded() == "null")
        #expect(JSON.int(-5).encoded() == "-5")
        #expect(JSON.int(Int64.max).encoded() == "9223372036854775807")
        #expect(JSON.bool(false).encoded() == "false")
        #expect(JSON.array([1, 2]).encoded() == "[1,2]")
        #expect((["b": 1, "a": 2] as JSON).encoded() == #"{"b":1,"a":2}"#)
        // Non-finite doubles have no JSON form.
        #expect(JSON.double(.infinity).encoded() == "null")
        #expect(JSON.double(.nan).encoded() == "null")
    }

    @Test func doublesRoundTripExactly() throws {
        for d in [0.1, 1.0 / 3.0, 1e-300, 123456.789, -0.5, 1e21] {
            #expect(try JSON.parse(JSON.double(d).encoded()).doubleValue == d)
        }
    }

    @Test func slashNotEscaped() {
        #expect(JSON.string("/run/netns/x").encoded() == #""/run/netns/x""#)
    }
}

@Suite struct JSONObjectTests {
    @Test func subscriptSetReplaceRemove() {
        var o: JSONObject = ["a": 1, "b": 2, "c": 3]
        o["b"] = "two"
        #expect(o.keys == ["a", "b", "c"])
        #expect(o["b"] == .string("two"))
        o["b"] = nil
        #expect(o.keys == ["a", "c"])
        o["d"] = 4
        #expect(o.keys == ["a", "c", "d"])
        o["missing"] = nil
        #expect(o.count == 3)
        #expect(!o.isEmpty && JSONObject().isEmpty)
    }

    @Test func initDeduplicatesAndIterates() {
        let o = JSONObject([("a", 1), ("b", 2), ("a", 3)])
        #expect(o.keys == ["a", "b"])
        #expect(o["a"] == .int(3))
        var seen: [String] = []
        for (k, _) in o { seen.append(k) }
        #expect(seen == ["a", "b"])
    }

    @Test func equalityIgnoresOrder() {
        let a: JSONObject = ["x": 1, "y": 2]
        let b: JSONObject = ["y": 2, "x": 1]
        #expect(a == b)
        #expect(a != ["x": 1])
        #expect(a != ["x": 1, "y": 3])
    }

    @Test func jsonAccessors() {
        var j: JSON = ["s": "v", "b": true, "a": [1], "o": ["k": nil]]
        #expect(j["s"]?.stringValue == "v")
        #expect(j["b"]?.boolValue == true)
        #expect(j["a"]?.arrayValue == [1])
        #expect(j["o"]?["k"]?.isNull == true)
        #expect(j["nope"] == nil)
        #expect(JSON.int(1)["x"] == nil)
        j["new"] = 5
        #expect(j.objectValue?.keys.last == "new")
        var scalar: JSON = 1
        scalar["x"] = 2  // ignored on non-objects
        #expect(scalar == 1)
        #expect([JSON.null, true, 1, 1.5, "s", [], [:]].map(\.kindName)
            == ["null", "boolean", "number", "number", "string", "array", "object"])
    }
}
