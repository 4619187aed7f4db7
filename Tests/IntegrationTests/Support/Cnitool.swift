import Foundation

/// Runs scripts/cnitool (see `scripts/cnitool --help`).
///
///     let r = Cnitool.run(["--conflist", file, "--cache-dir", cache, "add", netnsPath])
///     #expect(r.succeeded, "\(r)")
enum Cnitool {
    /// `scripts/cnitool ARGS` under a timeout; `environment` is added to ours.
    /// The test process's CNI_* variables are dropped unless given here, so
    /// a developer's shell cannot change what a test does.
    static func run(_ args: [String], timeout: TimeInterval = 120,
                    environment: [String: String] = [:], input: String? = nil) -> CommandResult {
        let inherited = ProcessInfo.processInfo.environment.keys.filter {
            ($0.hasPrefix("CNI_") || $0 == "NETCONFPATH" || $0 == "CAP_ARGS") && environment[$0] == nil
        }
        return Command.run([Paths.cnitool] + args, timeout: timeout, environment: environment,
                           unset: Array(inherited), input: input)
    }

    /// The file name libcni gives a cache entry: NETWORK-CONTAINERID-IFNAME
    /// under CACHEDIR/results.
    static func cacheFile(cacheDir: String, network: String, containerID: String, ifname: String = "eth0") -> String {
        "\(cacheDir)/results/\(network)-\(containerID)-\(ifname)"
    }

    /// The container ID cnitool derives from a netns path when none is given
    /// (upstream cnitool: "cnitool-" + first 20 hex digits of sha512(path)).
    static func containerID(forNetns path: String) -> String? {
        let r = Command.run(["sha512sum"], timeout: 10, input: path)
        guard r.succeeded else { return nil }
        return "cnitool-" + r.stdout.prefix(20)
    }
}

/// A fake CNI plugin (python3) for chain tests: it records what it got and
/// prints a valid result.
///
/// Each run appends one JSON line to `$FAKE_PLUGIN_LOG` (default: `log.jsonl`
/// next to the plugin): `{"plugin": <file name>, "stdin": <config object>,
/// "env": {CNI_* variables}}`. Behaviour, from its config:
///   - `"fakeExit": N` (with optional `"fakeMsg"`): print a CNI error JSON
///     with code N and exit N;
///   - ADD: print `prevResult` if present, else a result with one interface
///     (`fakeIfname` or CNI_IFNAME, sandbox CNI_NETNS) and IP `fakeAddress`
///     (default 10.99.0.2/24), in the config's cniVersion;
///   - VERSION: supported versions 0.3.0 ... 1.1.0; other commands: no output.
enum FakePlugin {
    /// Install the plugin under each of `names` in `dir`; returns the log path.
    @discardableResult
    static func install(in dir: String, names: [String]) throws -> String {
        for n in names { try Scratch.write(source, to: "\(dir)/\(n)", mode: 0o755) }
        return "\(dir)/log.jsonl"
    }

    /// The log lines written so far, oldest first.
    static func records(_ logPath: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { Command.jsonObject(String($0)) }
    }

    static let source = #"""
    #!/usr/bin/env python3
    import json, os, sys
    raw = sys.stdin.read()
    try:
        conf = json.loads(raw) if raw.strip() else {}
    except ValueError:
        conf = {"unparsable": raw}
    log = os.environ.get("FAKE_PLUGIN_LOG") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "log.jsonl")
    env = {k: v for k, v in os.environ.items() if k.startswith("CNI_")}
    with open(log, "a") as f:
        f.write(json.dumps({"plugin": os.path.basename(__file__), "stdin": conf, "env": env}) + "\n")
    cmd = os.environ.get("CNI_COMMAND", "")
    version = conf.get("cniVersion", "1.0.0")
    if cmd == "VERSION":
        print(json.dumps({"cniVersion": version,
                          "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]}))
        sys.exit(0)
    if "fakeExit" in conf:
        code = int(conf["fakeExit"])
        print(json.dumps({"cniVersion": version, "code": code, "msg": conf.get("fakeMsg", "fake failure"),
                          "details": "from " + os.path.basename(__file__)}))
        sys.exit(code)
    if cmd == "ADD":
        if "prevResult" in conf:
            print(json.dumps(conf["prevResult"]))
        else:
            ip = {"address": conf.get("fakeAddress", "10.99.0.2/24"), "interface": 0}
            if version < "1.0.0":
                ip["version"] = "4"
            print(json.dumps({"cniVersion": version,
                              "interfaces": [{"name": conf.get("fakeIfname", os.environ.get("CNI_IFNAME", "")),
                                              "sandbox": os.environ.get("CNI_NETNS", "")}],
                              "ips": [ip]}))
    """#
}
