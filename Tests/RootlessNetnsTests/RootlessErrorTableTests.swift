import CNI
import Glibc
import System
import Testing
@testable import RootlessNetns

/// The one table of rootless-netns's CNI codes (`RootlessError.cniError`): every case, its code,
/// its message. `covered` switches over every case without a default, so a new case does not
/// compile until it is listed here too.
@Suite struct RootlessErrorTableTests {
    static let samples: [(RootlessError, Int, String)] = [
        (.cni(CNIError(rawCode: 42, msg: "from a delegate")), 42, "from a delegate"),
        (.system(SystemError(op: "open", path: "/x", errno: ENOENT)), 5, "open /x: No such file or directory"),
        (.invalidConfig(field: "mtu", why: "must be a number"), 7, "invalid mtu: must be a number"),
        (.runtimeDirUnset, 4, "XDG_RUNTIME_DIR is not set"),
        (.runtimeDirRelative("run/user/1"), 4, "XDG_RUNTIME_DIR run/user/1 is not an absolute path"),
        (.invalidContainerNetns("ns", .relative), 4, "CNI_NETNS ns is not an absolute path"),
        (.invalidContainerNetns("/tmp/f", .notNamespace), 4, "CNI_NETNS /tmp/f is not a network namespace"),
        (.invalidContainerNetns("/p", .unreadable(SystemError(op: "open netns", path: "/p", errno: EACCES))), 4,
         "CNI_NETNS /p: open netns /p: Permission denied"),
        (.invalidContainerNetns("/proc/1/ns/mnt", .otherNamespaceType), 4,
         "CNI_NETNS /proc/1/ns/mnt is a namespace, but not a network namespace"),
        (.recordTooLarge(bytes: 2_000_000), 7,
         "the attachment record would be 2000000 bytes (limit 1048576): the delegates' config or capability args are too large"),
        (.stateDirInUse(stateDir: "/s", netns: "/a/ns", pid: 7, ours: "/b/ns"), 7,
         "stateDir /s is in use by the shared namespace /a/ns (helper pid 7), not /b/ns"),
        (.prevResultMissing(command: "CHECK"), 7, "CHECK needs prevResult"),
        (.userNamespacesDisabled, 50, "user namespaces are disabled (user.max_user_namespaces = 0)"),
        (.validAttachmentsMissing, 7, "GC needs cni.dev/valid-attachments"),
        (.unsafePath("/s", "a symlink"), 7, "refusing /s: a symlink"),
        (.runtimeDirMissing("/run/user/1"), 5, "XDG_RUNTIME_DIR /run/user/1 does not exist"),
        (.helperNotFound("no slirp4netns"), 50, "no slirp4netns"),
        (.helperFailed("pasta failed", log: ""), 50, "pasta failed"),
        (.helperDead(pid: 9), 51, "the network helper (pid 9) of the shared namespace is not running"),
        (.netnsMissing("/n"), 51, "the shared network namespace /n is gone"),
        (.notAttached(containerID: "c", ifName: "eth0"), 3, "container c (eth0) is not attached to the shared namespace"),
        (.lockTimeout("/s/lock"), 11, "timed out waiting for the lock /s/lock"),
        (.portMapping("bad port"), 7, "invalid runtimeConfig.portMappings: bad port"),
        (.portForward("bind"), 5, "port forwarding: bind"),
        (.corruptState("x"), 5, "corrupt state: x"),
        (.internalError("boom"), 999, "boom"),
    ]

    /// Fails to compile when a case is missing above.
    static func covered(_ e: RootlessError) -> Bool {
        switch e {
        case .cni, .system, .invalidConfig, .runtimeDirUnset, .runtimeDirRelative, .invalidContainerNetns, .recordTooLarge,
             .stateDirInUse, .prevResultMissing, .userNamespacesDisabled, .validAttachmentsMissing, .unsafePath,
             .runtimeDirMissing, .helperNotFound, .helperFailed, .helperDead, .netnsMissing, .notAttached, .lockTimeout,
             .portMapping, .portForward, .corruptState, .internalError:
            true
        }
    }

    @Test func everyCaseHasItsCode() {
        for (error, code, msg) in Self.samples {
            #expect(Self.covered(error))
            #expect(error.cniError.code == code, "\(error)")
            #expect(error.cniError.msg == msg)
        }
    }

    @Test func detailsWhereTheyHelp() {
        #expect(RootlessError.runtimeDirUnset.cniError.details == "rootless mode keeps the shared namespace under $XDG_RUNTIME_DIR")
        #expect(RootlessError.validAttachmentsMissing.cniError.details
                == "without the list every attachment would look stale; nothing was removed")
        #expect(RootlessError.helperFailed("x", log: "tail").cniError.details == "helper log: tail")
        #expect(RootlessError.helperFailed("x", log: "").cniError.details == "")
    }

    /// The config parser's errors come from the same table (code 7, naming the field).
    @Test func configErrorsGoThroughTheTable() throws {
        #expect(throws: RootlessError.invalidConfig(field: "stateDir", why: "\"rel\" must be an absolute path").cniError) {
            _ = try RootlessConfig.normalizeStateDir("rel")
        }
    }
}
