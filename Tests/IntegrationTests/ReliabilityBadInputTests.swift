import Foundation
import Testing

extension ReliabilityTests {
    /// Every bad input gets the right CNI error and changes nothing: no state dir, no helper, no
    /// namespace. The plugin runs directly in the session, as the unprivileged user.
    @Suite("bad input")
    struct BadInput {
        /// One row: what to change in a valid invocation, and what must come back.
        struct Row: Sendable {
            var name: String
            /// Variables to set (a value) or unset (nil) on top of a valid ADD environment.
            var env: [String: String?] = [:]
            /// The config, from a valid one (a dictionary) or as raw text.
            var stdin: @Sendable (_ valid: [String: Any]) -> String
            var code: Int
            var fragment: String
        }

        static func edit(_ change: @escaping @Sendable (inout [String: Any]) -> Void) -> @Sendable ([String: Any]) -> String {
            { valid in
                var c = valid
                change(&c)
                return (try? Scratch.jsonText(c)) ?? ""
            }
        }

        static func raw(_ text: String) -> @Sendable ([String: Any]) -> String { { _ in text } }
        static let valid = edit { _ in }

        static let rows: [Row] = [
            // stdin
            Row(name: "malformed JSON", stdin: raw(#"{"cniVersion": "1.0.0", "name": "#), code: 6, fragment: "decoding network config"),
            Row(name: "JSON that is not an object", stdin: raw(#"["cniVersion", "1.0.0"]"#), code: 6, fragment: "must be a JSON object"),
            Row(name: "a JSON string", stdin: raw(#""rootless-netns""#), code: 6, fragment: "must be a JSON object"),
            Row(name: "empty stdin", stdin: raw(""), code: 6, fragment: "decoding"),
            Row(name: "huge input (5 MiB)", stdin: edit { $0["padding"] = String(repeating: "x", count: 5 << 20) },
                code: 6, fragment: "more than"),
            Row(name: "missing cniVersion", stdin: edit { $0.removeValue(forKey: "cniVersion") }, code: 1, fragment: "no cniVersion"),
            Row(name: "unknown cniVersion", stdin: edit { $0["cniVersion"] = "9.9.9" }, code: 1, fragment: "9.9.9"),
            Row(name: "cniVersion spelled 1.0", stdin: edit { $0["cniVersion"] = "1.0" }, code: 1, fragment: "incompatible"),
            Row(name: "cniVersion not a string", stdin: edit { $0["cniVersion"] = 1 }, code: 7, fragment: "cniVersion"),
            Row(name: "missing type", stdin: edit { $0.removeValue(forKey: "type") }, code: 7, fragment: "type"),
            Row(name: "missing name", stdin: edit { $0.removeValue(forKey: "name") }, code: 7, fragment: "missing network name"),
            Row(name: "bad network name", stdin: edit { $0["name"] = "bad/name" }, code: 7, fragment: "network name"),
            Row(name: "network name with a leading dot", stdin: edit { $0["name"] = ".net" }, code: 7, fragment: "network name"),
            // CNI_* variables
            Row(name: "CNI_CONTAINERID ../x", env: ["CNI_CONTAINERID": "../x"], stdin: valid, code: 4, fragment: "containerID"),
            Row(name: "CNI_CONTAINERID empty", env: ["CNI_CONTAINERID": ""], stdin: valid, code: 3, fragment: "containerID"),
            Row(name: "CNI_CONTAINERID missing", env: ["CNI_CONTAINERID": nil], stdin: valid, code: 3, fragment: "containerID"),
            Row(name: "CNI_CONTAINERID leading dot", env: ["CNI_CONTAINERID": ".hidden"], stdin: valid, code: 4, fragment: "containerID"),
            Row(name: "CNI_CONTAINERID with @", env: ["CNI_CONTAINERID": "a@eth0"], stdin: valid, code: 4, fragment: "containerID"),
            Row(name: "CNI_CONTAINERID with a space", env: ["CNI_CONTAINERID": "a b"], stdin: valid, code: 4, fragment: "containerID"),
            Row(name: "CNI_IFNAME 16 chars", env: ["CNI_IFNAME": "abcdefghijklmnop"], stdin: valid, code: 4, fragment: "longer than 15"),
            Row(name: "CNI_IFNAME with /", env: ["CNI_IFNAME": "a/b"], stdin: valid, code: 4, fragment: "CNI_IFNAME"),
            Row(name: "CNI_IFNAME with :", env: ["CNI_IFNAME": "eth0:1"], stdin: valid, code: 4, fragment: "CNI_IFNAME"),
            Row(name: "CNI_IFNAME with a space", env: ["CNI_IFNAME": "eth 0"], stdin: valid, code: 4, fragment: "CNI_IFNAME"),
            Row(name: "CNI_IFNAME .", env: ["CNI_IFNAME": "."], stdin: valid, code: 4, fragment: "CNI_IFNAME"),
            Row(name: "CNI_IFNAME ..", env: ["CNI_IFNAME": ".."], stdin: valid, code: 4, fragment: "CNI_IFNAME"),
            Row(name: "CNI_IFNAME missing", env: ["CNI_IFNAME": nil], stdin: valid, code: 4, fragment: "CNI_IFNAME"),
            Row(name: "unknown CNI_COMMAND", env: ["CNI_COMMAND": "REMOVE"], stdin: valid, code: 4, fragment: "unknown CNI_COMMAND"),
            Row(name: "missing CNI_NETNS on ADD", env: ["CNI_NETNS": nil], stdin: valid, code: 4, fragment: "CNI_NETNS"),
            Row(name: "CNI_NETNS a regular file", env: ["CNI_NETNS": "/etc/hostname"], stdin: valid, code: 4, fragment: "not a network namespace"),
            Row(name: "CNI_NETNS missing file", env: ["CNI_NETNS": "/nonexistent/netns"], stdin: valid, code: 4, fragment: "not a network namespace"),
            Row(name: "CNI_NETNS relative", env: ["CNI_NETNS": "netns/x"], stdin: valid, code: 4, fragment: "absolute"),
            Row(name: "missing CNI_PATH", env: ["CNI_PATH": nil], stdin: valid, code: 4, fragment: "CNI_PATH"),
            Row(name: "CNI_ARGS garbage", env: ["CNI_ARGS": "IgnoreUnknown;garbage"], stdin: valid, code: 4, fragment: "CNI_ARGS"),
            Row(name: "XDG_RUNTIME_DIR unset", env: ["XDG_RUNTIME_DIR": nil], stdin: valid, code: 4, fragment: "XDG_RUNTIME_DIR"),
            Row(name: "XDG_RUNTIME_DIR relative", env: ["XDG_RUNTIME_DIR": "run/user"], stdin: valid, code: 4, fragment: "XDG_RUNTIME_DIR"),
            // verbs and versions
            Row(name: "CHECK with a 0.3.1 config", env: ["CNI_COMMAND": "CHECK"], stdin: edit { $0["cniVersion"] = "0.3.1" },
                code: 1, fragment: "CHECK"),
            Row(name: "GC with a 1.0.0 config", env: ["CNI_COMMAND": "GC"], stdin: edit { $0["cniVersion"] = "1.0.0" },
                code: 1, fragment: "GC"),
            Row(name: "STATUS with a 1.0.0 config", env: ["CNI_COMMAND": "STATUS"], stdin: edit { $0["cniVersion"] = "1.0.0" },
                code: 1, fragment: "STATUS"),
            Row(name: "prevResult of an unknown version",
                stdin: edit { $0["prevResult"] = ["cniVersion": "0.2.0", "ip4": ["ip": "10.1.2.3/24"]] }, code: 1,
                fragment: "unsupported result version"),
            Row(name: "prevResult that does not parse",
                stdin: edit { $0["prevResult"] = ["cniVersion": "1.1.0", "ips": [["address": "banana"]]] }, code: 6,
                fragment: "ips[0].address"),
            Row(name: "prevResult not an object", stdin: edit { $0["prevResult"] = [1, 2] }, code: 6, fragment: "not a JSON object"),
            // our keys
            Row(name: "delegate not found", stdin: edit { $0["delegates"] = [["type": "relfake"], ["type": "no-such-plugin"]] },
                code: 50, fragment: "no-such-plugin"),
            Row(name: "delegate name with /", stdin: edit { $0["delegates"] = [["type": "../../../usr/bin/true"]] },
                code: 7, fragment: "plugin name"),
            Row(name: "delegate name with shell syntax", stdin: edit { $0["delegates"] = [["type": "x;id>pwned"]] },
                code: 50, fragment: "failed to find plugin"),
            Row(name: "delegate without type", stdin: edit { $0["delegates"] = [["ipam": [:] as [String: Any]]] },
                code: 7, fragment: "delegates[0].type"),
            Row(name: "delegate is itself", stdin: edit { $0["delegates"] = [["type": "rootless-netns"]] },
                code: 7, fragment: "itself"),
            Row(name: "no delegates", stdin: edit { $0.removeValue(forKey: "delegates") }, code: 7, fragment: "delegates"),
            Row(name: "empty delegates", stdin: edit { $0["delegates"] = [Any]() }, code: 7, fragment: "delegates"),
            Row(name: "delegates not objects", stdin: edit { $0["delegates"] = ["bridge"] }, code: 7, fragment: "delegates[0]"),
            Row(name: "invalid CIDR", stdin: edit { $0["cidr"] = "10.0.2.0/33" }, code: 7, fragment: "cidr"),
            Row(name: "CIDR not an address", stdin: edit { $0["cidr"] = "banana" }, code: 7, fragment: "cidr"),
            Row(name: "CIDR with host bits", stdin: edit { $0["cidr"] = "10.0.2.1/24" }, code: 7, fragment: "cidr"),
            Row(name: "IPv6 CIDR", stdin: edit { $0["cidr"] = "fd00::/64" }, code: 7, fragment: "cidr"),
            Row(name: "MTU too small", stdin: edit { $0["mtu"] = 100 }, code: 7, fragment: "mtu"),
            Row(name: "MTU too large", stdin: edit { $0["mtu"] = 70000 }, code: 7, fragment: "mtu"),
            Row(name: "MTU a string", stdin: edit { $0["mtu"] = "1500" }, code: 7, fragment: "mtu"),
            Row(name: "unknown backend", stdin: edit { $0["backend"] = "vde" }, code: 7, fragment: "backend"),
            Row(name: "relative backendPath", stdin: edit { $0["backendPath"] = "bin/slirp4netns" }, code: 7, fragment: "backendPath"),
            Row(name: "unknown mode", stdin: edit { $0["mode"] = "sometimes" }, code: 7, fragment: "mode"),
            Row(name: "relative stateDir", stdin: edit { $0["stateDir"] = "rel-bad" }, code: 7, fragment: "stateDir"),
            Row(name: "stateDir with ..", stdin: edit { $0["stateDir"] = "/tmp/../etc" }, code: 7, fragment: "stateDir"),
            Row(name: "stateDir /", stdin: edit { $0["stateDir"] = "/" }, code: 7, fragment: "stateDir"),
            Row(name: "delegateTimeout 0", stdin: edit { $0["delegateTimeout"] = 0 }, code: 7, fragment: "delegateTimeout"),
            Row(name: "enableIPv6 not a boolean", stdin: edit { $0["enableIPv6"] = "yes" }, code: 7, fragment: "enableIPv6"),
            Row(name: "capabilities not an object", stdin: edit { $0["capabilities"] = true }, code: 7, fragment: "capabilities"),
            Row(name: "portMappings garbage",
                stdin: edit { $0["capabilities"] = ["portMappings": true]; $0["runtimeConfig"] = ["portMappings": "80:80"] },
                code: 7, fragment: "portMappings"),
            Row(name: "portMapping out of range",
                stdin: edit {
                    $0["capabilities"] = ["portMappings": true]
                    $0["runtimeConfig"] = ["portMappings": [["hostPort": 70000, "containerPort": 80, "protocol": "tcp"]]]
                },
                code: 7, fragment: "portMappings"),
        ]

        @Test("table: bad env and config → expected code and message, state untouched")
        func table() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let stateDir = f.stateDir("rel-bad")
            let defaultState = f.user.runtimeDir + "/rootless-netns"
            let ns = try f.makeNetns("bi", count: 1)[0]
            let valid: [String: Any] = ["cniVersion": "1.1.0", "name": "relbad", "type": "rootless-netns",
                                        "stateDir": stateDir, "delegates": [["type": "relfake"]]]
            let marker = f.scratch + "/pwned"
            _ = Command.run(["rm", "-rf", defaultState], timeout: 10)
            let t0 = Date()
            for row in Self.rows {
                var env = f.pluginEnv("ADD", containerID: "relbad", netns: ns)
                for (k, v) in row.env {
                    if let v { env[k] = v } else { env.removeValue(forKey: k) }
                }
                let r = f.plugin(env: env, stdin: row.stdin(valid))
                let err = r.json
                #expect(r.status != 0 && err?["code"] as? Int == row.code,
                        "\(row.name): want code \(row.code): \(r.status) \(r.stdout.prefix(600))")
                let text = (err?["msg"] as? String ?? "") + " " + (err?["details"] as? String ?? "")
                #expect(text.contains(row.fragment), "\(row.name): want \"\(row.fragment)\" in: \(text.prefix(400))")
                #expect(!FileManager.default.fileExists(atPath: stateDir), "\(row.name): created \(stateDir)")
                #expect(!FileManager.default.fileExists(atPath: defaultState), "\(row.name): created \(defaultState)")
                #expect(f.helpers().isEmpty, "\(row.name): started a helper")
                #expect(f.sharedNetnsFiles().isEmpty, "\(row.name): made a namespace")
                #expect(!FileManager.default.fileExists(atPath: marker), "\(row.name): something ran a shell")
                // A row that got through must not fail the ones after it.
                if FileManager.default.fileExists(atPath: stateDir) || FileManager.default.fileExists(atPath: defaultState) {
                    _ = f.plugin(env: f.pluginEnv("DEL", containerID: "relbad", netns: ns), stdin: Self.valid(valid))
                    for dir in [stateDir, defaultState] { _ = f.session.rootlessNetns(["cleanup", "--state-dir", dir]) }
                    _ = Command.run(["rm", "-rf", stateDir, defaultState], timeout: 10)
                }
            }
            print("reliability: bad-input table: \(Self.rows.count) rows in \(String(format: "%.1f", Date().timeIntervalSince(t0))) s")

            // The control: the same invocation, unchanged, works (so each row failed for its reason).
            let ok = f.plugin(env: f.pluginEnv("ADD", containerID: "relbad", netns: ns), stdin: Self.valid(valid))
            #expect(ok.succeeded, "\(ok)")
            let del = f.plugin(env: f.pluginEnv("DEL", containerID: "relbad", netns: ns), stdin: Self.valid(valid))
            #expect(del.succeeded, "\(del)")
            f.expectClean(stateDir, "after the control ADD/DEL")
        }

        @Test("DEL and GC with bad or missing pieces succeed or fail cleanly without creating state")
        func delAndGC() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let stateDir = f.stateDir("rel-bad-del")
            let conf = try Scratch.jsonText(["cniVersion": "1.1.0", "name": "relbad", "type": "rootless-netns",
                                             "stateDir": stateDir, "delegates": [["type": "relfake"]]] as [String: Any])
            // DEL: no netns, unknown container, no runtime dir: all succeed, nothing created.
            for env in [f.pluginEnv("DEL", containerID: "never-added"),
                        f.pluginEnv("DEL", containerID: "never-added", netns: "/nonexistent/ns"),
                        f.pluginEnv("DEL", containerID: "never-added", ["XDG_RUNTIME_DIR": "/nonexistent/xdg"])] {
                let r = f.plugin(env: env, stdin: conf)
                #expect(r.succeeded, "\(r)")
            }
            // GC: garbage valid-attachments is a config error; a good one with nothing there is fine.
            var gc = f.pluginEnv("GC")
            gc.removeValue(forKey: "CNI_CONTAINERID"); gc.removeValue(forKey: "CNI_IFNAME")
            let badGC = f.plugin(env: gc, stdin: conf.replacingOccurrences(of: "\"cniVersion\"",
                                                                          with: "\"cni.dev/valid-attachments\":\"x\",\"cniVersion\""))
            #expect(badGC.json?["code"] as? Int == 7, "\(badGC)")
            // Without the list (which the spec requires) GC is refused, creating nothing.
            let noListGC = f.plugin(env: gc, stdin: conf)
            #expect(noListGC.json?["code"] as? Int == 7, "\(noListGC)")
            let goodGC = f.plugin(env: gc, stdin: conf.replacingOccurrences(of: "\"cniVersion\"",
                                                                           with: "\"cni.dev/valid-attachments\":[],\"cniVersion\""))
            #expect(goodGC.succeeded, "\(goodGC)")
            #expect(!FileManager.default.fileExists(atPath: stateDir))
            #expect(f.helpers().isEmpty)
        }
    }
}
