import Glibc
import JSON
import Netlink
import Testing
@testable import NetstatInspect

/// `--container` over a libcni result cache written to a temporary directory.
@Suite struct ResultCacheTests {
    static func makeCache(_ files: [String: String]) throws -> String {
        var template = Array("/tmp/nsi-cache-XXXXXX".utf8CString)
        guard let dir = mkdtemp(&template) else { throw Fixture.FixtureReadError(path: "mkdtemp") }
        let root = String(cString: dir)
        mkdir(root + "/results", 0o700)
        for (name, text) in files {
            guard let f = fopen(root + "/results/" + name, "we") else { throw Fixture.FixtureReadError(path: name) }
            fputs(text, f)
            fclose(f)
        }
        return root
    }

    static func removeCache(_ root: String) {
        if let d = opendir(root + "/results") {
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink(root + "/results/" + name) }
            }
            closedir(d)
        }
        rmdir(root + "/results")
        rmdir(root)
    }

    static func entry(container: String, network: String, netns: String, ifname: String = "eth0") -> String {
        """
        {"kind":"cniCacheV1","containerId":"\(container)","config":"e30=","ifName":"\(ifname)",\
        "networkName":"\(network)","cniArgs":[],"result":{"cniVersion":"1.0.0","interfaces":[\
        {"name":"cni0","mac":"aa:00:00:00:00:01"},{"name":"\(ifname)","mac":"0a:00:00:00:00:02","sandbox":"\(netns)"}],\
        "ips":[{"address":"10.88.0.2/24","gateway":"10.88.0.1","interface":1}]}}
        """
    }

    @Test func findsSandboxAndInterfaces() throws {
        let root = try Self.makeCache([
            "podman-abc123-eth0": Self.entry(container: "abc123", network: "podman", netns: "/run/netns/c1"),
            "other-abc123-eth1": Self.entry(container: "abc123", network: "other", netns: "/run/netns/c1", ifname: "eth1"),
            "podman-zzz-eth0": Self.entry(container: "zzz", network: "podman", netns: "/run/netns/c2"),
        ])
        defer { Self.removeCache(root) }
        let all = try ResultCache.attachments(containerID: "abc123", network: nil, cacheDir: root)
        let sandbox = try ResultCache.sandbox(of: all, containerID: "abc123")
        #expect(sandbox.netns == "/run/netns/c1")
        #expect(sandbox.interfaces == ["eth1", "eth0"])  // sorted by file name: other-…, podman-…
        let one = try ResultCache.attachments(containerID: "abc123", network: "podman", cacheDir: root)
        #expect(one.map(\.ifName) == ["eth0"])
    }

    @Test func containerOptionUsesTheCache() throws {
        let root = try Self.makeCache(["podman-abc-eth0": Self.entry(container: "abc", network: "podman",
                                                                      netns: "/run/netns/c1")])
        defer { Self.removeCache(root) }
        var opened: [String] = []
        let out = NetstatInspect.run(["stats", "--container", "abc", "--cache-dir", root]) { (path: String) throws(NetlinkError) in
            opened.append(path)
            throw NetlinkError.namespace(.init(op: "open netns", path: path, errno: ENOENT))
        }
        #expect(opened == ["/run/netns/c1"])
        #expect(out == CommandOutput(stdout: "", stderr: "netstat-inspect: open netns /run/netns/c1: No such file or directory\n", exitCode: 1))
    }

    @Test func unknownContainerAndUnreadableCache() throws {
        let root = try Self.makeCache(["podman-abc-eth0": "{not json"])
        defer { Self.removeCache(root) }
        #expect(throws: InspectError.cache("no CNI result cached for container nope in \(root)/results")) {
            try ResultCache.attachments(containerID: "nope", network: nil, cacheDir: root)
        }
        #expect {
            try ResultCache.attachments(containerID: "abc", network: nil, cacheDir: root)
        } throws: { error in
            guard case .cache(let m) = error as? InspectError else { return false }
            return m.hasPrefix("\(root)/results/podman-abc-eth0: not JSON")
        }
        #expect {
            try ResultCache.attachments(containerID: "abc", network: nil, cacheDir: "/nonexistent")
        } throws: { error in
            guard case .cache(let m) = error as? InspectError else { return false }
            return m.hasPrefix("read CNI result cache: ") && m.hasSuffix("/nonexistent/results: No such file or directory")
        }
    }
}
