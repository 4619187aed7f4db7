import CNI
import Glibc
import JSON
import System
@testable import RootlessNetns

/// A fake readLink over a tree rooted at `root`: logical paths are mapped under the root;
/// symlinks return their text unchanged; missing paths throw.
struct FakeTreeError: Error, Equatable { var path: String }

func fakeReadLink(root: String) -> (String) throws -> String? {
    return { logical in
        let real = root + logical
        guard let info = try FS.lstat(real) else { throw FakeTreeError(path: logical) }
        return info.type == .symlink ? try FS.readlink(real) : nil
    }
}

func netConf(_ json: String) throws -> NetConf {
    try NetConf.parse(Array(json.utf8))
}

/// A rootless-netns plugin entry with `extra` keys spliced in (a JSON fragment, e.g. `"mtu": 1500,`).
func pluginJSON(_ extra: String = "", delegates: String = #"[{"type":"bridge"}]"#) -> String {
    """
    {"cniVersion":"1.0.0","name":"rootless","type":"rootless-netns",\(extra)"delegates":\(delegates)}
    """
}

func parseConfig(_ extra: String = "", delegates: String = #"[{"type":"bridge"}]"#) throws -> RootlessConfig {
    try RootlessConfig.parse(try netConf(pluginJSON(extra, delegates: delegates)))
}

/// The CNIError `body` throws, or nil if it does not throw one.
func cniError(_ body: () throws -> Void) -> CNIError? {
    do { try body() } catch let e as CNIError { return e } catch let e as RootlessError { return e.cniError } catch {
        return nil
    }
    return nil
}
