import Testing
@testable import NetstatInspect

@Suite struct OptionsTests {
    @Test func inspectWithNetns() throws {
        let o = try #require(try Options.parse(["inspect", "--netns", "/run/netns/x", "--format=table"]))
        #expect(o.command == .inspect)
        #expect(o.target == .netns("/run/netns/x"))
        #expect(o.format == .table)
    }

    @Test func statsWithContainerAndInterfaces() throws {
        let o = try #require(try Options.parse(["stats", "--container", "abc", "--network", "podman",
                                                 "--interface", "eth0", "--interface=eth1"]))
        #expect(o.target == .container(id: "abc", network: "podman", cacheDir: "/var/lib/cni"))
        #expect(o.interfaces == ["eth0", "eth1"])
        #expect(o.format == .json)
    }

    @Test func help() throws {
        #expect(try Options.parse(["--help"]) == nil)
        #expect(try Options.parse(["stats", "-h"]) == nil)
    }

    @Test(arguments: [
        ([], "missing command (inspect or stats)"),
        (["frob"], "unknown command \"frob\""),
        (["inspect"], "one of --netns or --container is required"),
        (["inspect", "--netns", "/a", "--container", "b"], "--netns and --container exclude each other"),
        (["inspect", "--netns"], "--netns needs a value"),
        (["inspect", "--netns", "/a", "--netns", "/b"], "--netns given twice"),
        (["inspect", "--netns", "/a", "--format", "xml"], "--format must be json or table, not \"xml\""),
        (["inspect", "--netns", "/a", "--interface", "eth0"], "--interface is only for stats"),
        (["inspect", "--netns", "/a", "--network", "n"], "--network and --cache-dir go with --container"),
        (["stats", "--netns", "/a", "extra"], "unexpected argument \"extra\""),
        (["stats", "--netns", "/a", "--bogus"], "unknown option --bogus"),
    ])
    func rejects(arguments: [String], message: String) {
        #expect(throws: InspectError.usage(message)) { try Options.parse(arguments) }
    }
}
