import Foundation
import Testing

/// netstat-inspect chained after bridge + host-local (conf-examples/bridge-netstat.conflist),
/// driven by the harness in throwaway namespaces: ADD passes the result on, CHECK verifies it
/// against the live namespace and fails once the container's address is removed by hand.
@Suite("netstat-inspect: chained after bridge", .serialized)
struct NetstatInspectChainTests {
    @Test("ADD returns the chain's result, CHECK passes, CHECK fails after the address is removed",
          .enabled(if: TestConditions.isRoot && TestConditions.hasReferencePlugins
                   && FileManager.default.isExecutableFile(atPath: Products.netstatInspect),
                   "needs root, reference plugins and the built netstat-inspect"))
    func chained() throws {
        let host = try HostNetns.create("nch-"), ctr = try HostNetns.create("ncc-")
        defer { host.remove(); ctr.remove() }
        let scratch = try Scratch.makeDirectory("rcni-nc-")
        defer { Scratch.removeDirectory(scratch) }
        let data = try Data(contentsOf: URL(fileURLWithPath: Paths.confExample("bridge-netstat.conflist")))
        var conf = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var plugins = try #require(conf["plugins"] as? [[String: Any]])
        var ipam = try #require(plugins[0]["ipam"] as? [String: Any])
        ipam["dataDir"] = scratch + "/ipam"
        plugins[0]["ipam"] = ipam
        conf["plugins"] = plugins
        let conflist = try Conflists.write(conf, to: scratch)
        let common = ["--conflist", conflist, "--cni-path", Products.cniPath, "--cache-dir", scratch + "/cache",
                      "--host-netns", host.name]

        let add = Cnitool.run(common + ["add", ctr.path])
        try #require(add.succeeded, "\(add)")
        let ifaces = try #require(add.json?["interfaces"] as? [[String: Any]], "\(add)")
        let eth0 = try #require(ifaces.first { $0["name"] as? String == "eth0" })
        #expect((eth0["mac"] as? String)?.count == 17)
        #expect(eth0["sandbox"] as? String == ctr.path)
        let cidr = try #require((add.json?["ips"] as? [[String: Any]])?.first?["address"] as? String)
        #expect(cidr.hasPrefix("10.88.66."))

        let check = Cnitool.run(common + ["check", ctr.path])
        #expect(check.succeeded, "\(check)")

        // netstat-inspect's own CHECK, run alone with the cached result as prevResult.
        let alone = try Conflists.write(["cniVersion": "1.0.0", "name": "bridge-netstat",
                                         "plugins": [["type": "netstat-inspect"]]], to: scratch, name: "alone.conflist")
        let cacheDir = scratch + "/cache"
        let aloneArgs = ["--conflist", alone, "--cni-path", Products.cniPath, "--cache-dir", cacheDir]
        #expect(Cnitool.run(aloneArgs + ["check", ctr.path]).succeeded)

        // Remove the address by hand: CHECK now fails and says what differs.
        let del = ctr.exec(["ip", "addr", "del", cidr, "dev", "eth0"], timeout: 10)
        try #require(del.succeeded, "\(del)")
        let bad = Cnitool.run(aloneArgs + ["check", ctr.path])
        #expect(!bad.succeeded, "\(bad)")
        #expect(bad.stdout.contains(cidr.split(separator: "/")[0]), "\(bad)")

        #expect(Cnitool.run(common + ["del", ctr.path]).succeeded)
        #expect(Cnitool.run(common + ["del", ctr.path]).succeeded)
    }
}
