import Glibc
@testable import RootlessNetns
import System
import Testing

@Suite struct HelperFeaturesTests {
    func tempDir() throws -> String {
        var template = Array("/tmp/rcni-features.XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw SystemError(op: "mkdtemp", path: "/tmp", errno: errno) }
        return String(cString: p)
    }

    @Test func probesOnceAndReprobesWhenTheBinaryChanges() throws {
        let dir = try tempDir()
        defer { try? FS.removeTree(dir) }
        let binary = dir + "/helper"
        try FS.writeFileAtomically(binary, Array("#!/bin/sh\necho '--enable-sandbox'\n".utf8), mode: 0o755)
        let cache = HelperFeatureCache(path: dir + "/cache.json")
        var probes = 0
        let probe: (String) -> String? = { probes += 1; return HelperFeatureCache.helpText($0) }
        let want: Set<String> = ["--enable-sandbox", "--enable-seccomp"]

        #expect(cache.options(want, of: binary, probe: probe) == ["--enable-sandbox"])
        #expect(cache.options(want, of: binary, probe: probe) == ["--enable-sandbox"])
        #expect(probes == 1, "the second start uses the cache")
        // A subset of what was probed is answered from the cache too; a new option is probed.
        #expect(cache.options(["--enable-seccomp"], of: binary, probe: probe) == [])
        #expect(probes == 1)
        #expect(cache.options(["--other"], of: binary, probe: probe) == [])
        #expect(probes == 2)

        // Replaced (new inode, ctime): probed again, the new answer is used.
        try FS.writeFileAtomically(binary, Array("#!/bin/sh\necho '--enable-sandbox --enable-seccomp'\n".utf8), mode: 0o755)
        #expect(cache.options(want, of: binary, probe: probe) == want)
        #expect(probes == 3)
        #expect(cache.load().count == 1, "one entry per path")
    }

    @Test func failedProbesAreNotCachedAndTheCacheIsBounded() throws {
        let dir = try tempDir()
        defer { try? FS.removeTree(dir) }
        let cache = HelperFeatureCache(path: dir + "/cache.json")
        let binary = dir + "/helper"
        try FS.writeFileAtomically(binary, Array("#!/bin/sh\nkill -KILL $$\n".utf8), mode: 0o755)
        var probes = 0
        let probe: (String) -> String? = { probes += 1; return HelperFeatureCache.helpText($0) }
        #expect(cache.options(["--x"], of: binary, probe: probe) == [])
        #expect(cache.options(["--x"], of: binary, probe: probe) == [])
        #expect(probes == 2)
        #expect(cache.load().isEmpty)

        for i in 0..<(HelperFeatureCache.maxEntries + 3) {
            let b = dir + "/h\(i)"
            try FS.writeFileAtomically(b, Array("#!/bin/sh\necho --x\n".utf8), mode: 0o755)
            #expect(cache.options(["--x"], of: b) == ["--x"])
        }
        let entries = cache.load()
        #expect(entries.count == HelperFeatureCache.maxEntries)
        #expect(entries.last?.key.path == dir + "/h\(HelperFeatureCache.maxEntries + 2)", "the newest stay")
        // A corrupt file is a miss, not an error.
        try FS.writeFileAtomically(cache.path, Array("{not json".utf8))
        #expect(cache.load().isEmpty)
        #expect(cache.options(["--x"], of: dir + "/h0") == ["--x"])
    }
}
