import CNI
import JSON
import Testing
@testable import RootlessNetns

/// Unknown keys of the plugin entry are warned about with a did-you-mean, never silently ignored.
@Suite struct ConfigKeysTests {
    func unknown(_ extra: String) throws -> [ConfigKeys.Unknown] {
        ConfigKeys.unknown(in: try netConf(pluginJSON(extra)).raw)
    }

    @Test func typoGetsSuggestion() throws {
        let u = try unknown(#""mtuu": 1500,"#)
        #expect(u == [ConfigKeys.Unknown(key: "mtuu", suggestion: "mtu")])
        #expect(u.first?.message == #"rootless-netns: warning: unknown config key "mtuu" ignored (did you mean "mtu"?)"#)
    }

    @Test(arguments: [("allowHostLoopBack", "allowHostLoopback"), ("stateDIr", "stateDir"), ("delegate", "delegates"),
                      ("enableIpv6", "enableIPv6"), ("backnd", "backend"), ("readyTimout", "readyTimeout")])
    func suggestions(_ key: String, _ expected: String) {
        #expect(ConfigKeys.suggestion(for: key, among: ConfigKeys.plugin + ConfigKeys.standard) == expected)
    }

    @Test func unrelatedKeyHasNoSuggestion() throws {
        #expect(try unknown(#""frobnicate": true,"#) == [ConfigKeys.Unknown(key: "frobnicate", suggestion: nil)])
    }

    /// Every key of the shipped examples and every standard key is known; namespaced keys are someone else's.
    @Test func knownAndNamespacedKeysAreQuiet() throws {
        #expect(try unknown(#""mtu": 1500, "cidr": "10.0.2.0/24", "capabilities": {"portMappings": true}, "runtimeConfig": {}, "cni.dev/x": 1, "io.example.y": 2,"#).isEmpty)
    }

    /// The README's table and the example conflists use only known keys.
    @Test func examplesAreKnown() throws {
        var entry = "{"
        for key in ConfigKeys.plugin where key != "delegates" { entry += "\"\(key)\": null, " }
        entry += #""cniVersion":"1.0.0","name":"n","type":"rootless-netns","delegates":[{"type":"bridge"}]}"#
        #expect(ConfigKeys.unknown(in: try netConf(entry).raw).isEmpty)
        // A key the parser reads but the list lacks would warn on every valid config.
        let parsed = try RootlessConfig.parse(try netConf(entry))
        #expect(parsed.mtu == 65520)
    }

    @Test func distance() {
        #expect(ConfigKeys.distance("mtu", "mtu") == 0)
        #expect(ConfigKeys.distance("mtuu", "mtu") == 1)
        #expect(ConfigKeys.distance("", "abc") == 3)
        #expect(ConfigKeys.distance("kitten", "sitting") == 3)
    }
}
