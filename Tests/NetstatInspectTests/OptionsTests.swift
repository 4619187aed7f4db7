import Testing
@testable import NetstatInspect

@Suite struct OptionsTests {
    @Test func inspectWithNetns() throws {
        let o = try #require(try Options.parse(["inspect", "--netns", "/run/netns/x", "--format=table"]).options)
        #expect(o.command == .inspect)
        #expect(o.target == .netns("/run/netns/x"))
        #expect(o.format == .table)
    }

    @Test func statsWithContainerAndInterfaces() throws {
        let o = try #require(try Options.parse(["stats", "--container", "abc", "--network", "podman",
                                                 "--interface", "eth0", "--interface=eth1"]).options)
        #expect(o.target == .container(id: "abc", network: "podman", cacheDir: nil))
        #expect(o.interfaces == ["eth0", "eth1"])
        #expect(o.format == .json)
    }

    @Test func help() throws {
        #expect(try Options.parse(["--help"]) == .help)
        #expect(try Options.parse(["stats", "-h"]) == .help)
        #expect(try Options.parse(["--version"]) == .version)
        #expect(try Options.parse(["stats", "--netns", "x", "--version"]) == .version)
    }

    @Test func humanWatchAndCount() throws {
        let o = try #require(try Options.parse(["stats", "--netns", "ctr1", "--human", "--watch", "0.5", "--count=3"]).options)
        #expect(o.target == .netns("ctr1"))
        #expect(o.human && o.watchSeconds == 0.5 && o.watchCount == 3)
        #expect(o.format == .table)  // --human and --watch default to the table
        let j = try #require(try Options.parse(["stats", "--netns", "x", "--watch", "1", "--format", "json"]).options)
        #expect(j.format == .json && j.watchCount == nil)
        #expect(try Options.parse(["stats", "--netns", "x"]).options?.format == .json)
    }

    @Test(arguments: [
        ([], "missing command (inspect or stats)"),
        (["frob"], "unknown command \"frob\" (inspect or stats)"),
        (["--netns", "x"], "--netns before the command: give inspect or stats first"),
        (["stats", "--netns", "x", "--watch"], "--watch needs a value"),
        (["stats", "--netns", "x", "--watch", "0"], "--watch needs seconds between 0.1 and 86400, not \"0\""),
        (["stats", "--netns", "x", "--watch", "soon"], "--watch needs seconds between 0.1 and 86400, not \"soon\""),
        (["inspect", "--netns", "x", "--watch", "1"], "--watch is only for stats"),
        (["stats", "--netns", "x", "--count", "2"], "--count goes with --watch"),
        (["stats", "--netns", "x", "--watch", "1", "--count", "0"], "--count needs a positive number, not \"0\""),
        (["stats", "--netns", "x", "--human", "--format", "json"], "--human is for the table; leave out --format json"),
        (["stats", "--netns", "x", "--human=yes"], "--human takes no value"),
        (["stats", "--netns", ""], "--netns needs a path or a name"),
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

extension Options.Action {
    var options: Options? { if case .report(let o) = self { o } else { nil } }
}
