import Foundation
import Testing

/// scripts/cnitool driving the reference plugins (bridge + host-local +
/// portmap) as root. Everything happens in two throwaway namespaces: a
/// "host" netns where cnitool runs (`--host-netns`, so the bridge and the
/// portmap iptables rules never touch the real host) and a container netns.
@Suite("cnitool: reference bridge chain (root)")
struct HarnessReferenceChainTests {
    struct Variant: Sendable, CustomTestStringConvertible {
        let file: String
        let subnetPrefix: String
        var testDescription: String { file }
    }

    static let variants = [
        Variant(file: "reference-bridge.conflist", subnetPrefix: "10.88.77."),
        Variant(file: "reference-bridge-0.4.0.conflist", subnetPrefix: "10.88.78."),
    ]

    @Test("ADD, cache, CHECK, DEL, DEL again",
          .enabled(if: TestConditions.isRoot, "needs root"),
          .enabled(if: TestConditions.hasReferencePlugins, "needs containernetworking-plugins"),
          .enabled(if: TestConditions.hasNamespaceTools && TestConditions.hasPython3 && TestConditions.hasIptables,
                   "needs iproute2, util-linux, iptables, python3"),
          arguments: variants)
    func chain(_ v: Variant) throws {
        let scratch = try Scratch.makeDirectory("rcni-chain-")
        defer { Scratch.removeDirectory(scratch) }
        let hostNS = try HostNetns.create("rcni-h-")
        defer { hostNS.remove() }
        let ctrNS = try HostNetns.create("rcni-c-")
        defer { ctrNS.remove() }

        // The example, with host-local's state kept in the scratch dir.
        let exampleBytes = try Data(contentsOf: URL(fileURLWithPath: Paths.confExample(v.file)))
        var conf = try #require(try JSONSerialization.jsonObject(with: exampleBytes) as? [String: Any])
        let network = try #require(conf["name"] as? String)
        let cniVersion = try #require(conf["cniVersion"] as? String)
        var plugins = try #require(conf["plugins"] as? [[String: Any]])
        var ipam = try #require(plugins[0]["ipam"] as? [String: Any])
        ipam["dataDir"] = scratch + "/ipam"
        plugins[0]["ipam"] = ipam
        conf["plugins"] = plugins
        let conflist = scratch + "/" + v.file
        let conflistText = try Scratch.jsonText(conf)
        try Scratch.write(conflistText, to: conflist)

        let cache = scratch + "/cache"
        let capArgs = #"{"portMappings":[{"hostPort":18080,"containerPort":80,"protocol":"tcp"}]}"#
        let common = ["--host-netns", hostNS.name, "--conflist", conflist, "--cache-dir", cache,
                      "--cni-path", Paths.cniPath, "--timeout", "60"]
        var added = false
        defer { if added { _ = Cnitool.run(common + ["del", ctrNS.path]) } }

        // ADD
        let add = Cnitool.run(common + ["--cap-args", capArgs, "add", ctrNS.path])
        try #require(add.succeeded, "\(add)")
        added = true
        let result = try #require(add.json, "ADD printed no JSON object: \(add)")
        #expect(result["cniVersion"] as? String == cniVersion)
        let ips = try #require(result["ips"] as? [[String: Any]])
        let cidr = try #require(ips.first?["address"] as? String)
        #expect(cidr.hasPrefix(v.subnetPrefix))
        if cniVersion == "0.4.0" { #expect(ips.first?["version"] as? String == "4") }
        let interfaces = try #require(result["interfaces"] as? [[String: Any]])
        #expect(interfaces.contains { $0["sandbox"] as? String == ctrNS.path && $0["name"] as? String == "eth0" })

        // The container's eth0 has that address.
        let addr = Command.run(["ip", "-n", ctrNS.name, "-j", "addr", "show", "dev", "eth0"], timeout: 15)
        try #require(addr.succeeded, "\(addr)")
        let links = try #require(Command.jsonValue(addr.stdout) as? [[String: Any]])
        let locals = links.flatMap { ($0["addr_info"] as? [[String: Any]]) ?? [] }
            .compactMap { info -> String? in
                guard let l = info["local"] as? String, let p = info["prefixlen"] as? Int else { return nil }
                return "\(l)/\(p)"
            }
        #expect(locals.contains(cidr), "eth0 addresses \(locals), want \(cidr)")

        // portmap got the capability: a DNAT for 18080 in the *host netns*.
        let nat = hostNS.exec(["iptables", "-t", "nat", "-S"], timeout: 30)
        #expect(nat.succeeded && nat.stdout.contains("18080"), "\(nat)")

        // Cache file in libcni's layout.
        let cid = try #require(Cnitool.containerID(forNetns: ctrNS.path))
        let cacheFile = Cnitool.cacheFile(cacheDir: cache, network: network, containerID: cid)
        let cacheText = try String(contentsOfFile: cacheFile, encoding: .utf8)
        let cached = try #require(Command.jsonObject(cacheText))
        #expect(cached["kind"] as? String == "cniCacheV1")
        #expect(cached["containerId"] as? String == cid)
        #expect(cached["ifName"] as? String == "eth0")
        #expect(cached["networkName"] as? String == network)
        #expect(cached["netns"] == nil, "libcni 1.1.x writes no netns field")
        let configB64 = try #require(cached["config"] as? String)
        #expect(Data(base64Encoded: configB64) == Data(conflistText.utf8), "config is base64 of the conflist bytes")
        let capCached = cached["capabilityArgs"] as? [String: Any]
        #expect((capCached?["portMappings"] as? [[String: Any]])?.first?["hostPort"] as? Int == 18080)
        let cachedResult = try #require(cached["result"] as? [String: Any])
        #expect(((cachedResult["ips"] as? [[String: Any]])?.first?["address"] as? String) == cidr)
        let attrs = try FileManager.default.attributesOfItem(atPath: cacheFile)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)

        // CHECK. Without runtimeConfig for portmap: portmap 1.1.1 (Debian 12)
        // fails CHECK on an IPv4-only result whenever ip6tables works,
        // containernetworking/plugins#819. bridge is still checked in full.
        let check = Cnitool.run(common + ["--cap-args", "{}", "check", ctrNS.path])
        #expect(check.succeeded, "\(check)")

        // DEL (no --cap-args: the cached ones reach portmap), then DEL again.
        let del = Cnitool.run(common + ["del", ctrNS.path])
        #expect(del.succeeded, "\(del)")
        added = !del.succeeded
        #expect(!FileManager.default.fileExists(atPath: cacheFile), "cache removed by DEL")
        let gone = Command.run(["ip", "-n", ctrNS.name, "link", "show", "eth0"], timeout: 15)
        #expect(!gone.succeeded, "eth0 still in the container after DEL")
        let natAfter = hostNS.exec(["iptables", "-t", "nat", "-S"], timeout: 30)
        #expect(!natAfter.stdout.contains("18080"), "portmap rules left: \(natAfter)")
        let del2 = Cnitool.run(common + ["del", ctrNS.path])
        #expect(del2.succeeded, "\(del2)")
        // CHECK now has no cache to check against.
        let check2 = Cnitool.run(common + ["check", ctrNS.path])
        #expect(!check2.succeeded && check2.stderr.contains("cached result"), "\(check2)")
    }

    @Test("cnitool netns add/path/list/del as root uses /run/netns",
          .enabled(if: TestConditions.isRoot, "needs root"),
          .enabled(if: TestConditions.hasNamespaceTools && TestConditions.hasPython3,
                   "needs iproute2, util-linux, python3"))
    func rootNetns() throws {
        let name = Scratch.uniqueName("rcni-n-")
        defer { _ = Cnitool.run(["netns", "del", name]) }
        let add = Cnitool.run(["netns", "add", name])
        try #require(add.succeeded, "\(add)")
        #expect(add.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "/run/netns/\(name)")
        let exec = Command.run(["ip", "netns", "exec", name, "ip", "link", "show", "lo"], timeout: 15)
        #expect(exec.succeeded, "usable with ip netns exec: \(exec)")
        let list = Cnitool.run(["netns", "list"])
        #expect(list.stdout.split(separator: "\n").contains(Substring(name)), "\(list)")
        let path = Cnitool.run(["netns", "path", name])
        #expect(path.succeeded && path.stdout.hasPrefix("/run/netns/\(name)"), "\(path)")
        #expect(Cnitool.run(["netns", "del", name]).succeeded)
        #expect(!FileManager.default.fileExists(atPath: "/run/netns/\(name)"))
        let again = Cnitool.run(["netns", "del", name])
        #expect(again.succeeded, "del is idempotent: \(again)")
    }
}
