import Foundation
import Testing

/// Real root in the initial user namespace with mode "auto": no shared namespace, no helper;
/// the delegates run directly, exactly as libcni would run them.
@Suite("rootless-netns: root pass-through", .serialized)
struct RootlessPassThroughTests {
    @Test("mode auto as root runs the chain directly in the caller's namespace",
          .enabled(if: TestConditions.isRoot && TestConditions.hasReferencePlugins && TestConditions.hasIptables
                   && Products.haveRootlessNetns, "needs root, reference plugins, iptables"))
    func passThrough() throws {
        let host = try HostNetns.create("rph-"), ctr = try HostNetns.create("rpc-")
        defer { host.remove(); ctr.remove() }
        let scratch = try Scratch.makeDirectory("rcni-pt-")
        defer { Scratch.removeDirectory(scratch) }
        let stateDir = scratch + "/state"
        let conf = try Conflists.rootlessBridge { p in
            p["stateDir"] = stateDir
            var delegates = p["delegates"] as? [[String: Any]] ?? []
            if var ipam = delegates.first?["ipam"] as? [String: Any] {
                ipam["dataDir"] = scratch + "/ipam"
                delegates[0]["ipam"] = ipam
            }
            p["delegates"] = delegates
        }
        let conflist = try Conflists.write(conf, to: scratch)
        let common = ["--conflist", conflist, "--cni-path", Products.cniPath, "--cache-dir", scratch + "/cache",
                      "--host-netns", host.name]
        let add = Cnitool.run(common + ["add", ctr.path])
        try #require(add.succeeded, "\(add)")
        // The bridge is in the caller's ("host") namespace, and no state dir or helper exists.
        #expect(host.exec(["ip", "link", "show", "cni-rootless0"], timeout: 10).succeeded)
        #expect(!FileManager.default.fileExists(atPath: stateDir), "pass-through must not create state")
        let addr = ctr.exec(["ip", "-j", "addr", "show", "eth0"], timeout: 10)
        #expect(addr.stdout.contains("10.89.0."), "\(addr)")
        #expect(Cnitool.run(common + ["--cap-args", "{}", "check", ctr.path]).succeeded)
        #expect(Cnitool.run(common + ["del", ctr.path]).succeeded)
        #expect(Cnitool.run(common + ["del", ctr.path]).succeeded)
    }
}
