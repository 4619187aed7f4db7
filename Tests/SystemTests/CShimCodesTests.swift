import CShim
import Glibc
@testable import System
import Testing
import TestSupport

/// The codes the C shims report (steps, stages, wait kinds) are named in the C headers and read
/// by those names here; these pin that each one lands where it should. No privileges needed.
@Suite struct CShimCodesTests {
    @Test func netnsSocketStages() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.file("plain")
        let udp = Int32(SOCK_DGRAM.rawValue)
        #expect(throws: NetnsSocketError(.openNamespace, SystemError(op: "open netns", path: dir.sub("missing"), errno: ENOENT))) {
            _ = try NetnsSocket.open(netnsPath: dir.sub("missing"), family: AF_INET, type: udp, proto: 0)
        }
        // setns(2) on a file that is no namespace: EINVAL before any permission check.
        #expect(throws: NetnsSocketError(.enterNamespace, SystemError(op: "setns", path: dir.sub("plain"), errno: EINVAL))) {
            _ = try NetnsSocket.open(netnsPath: dir.sub("plain"), family: AF_INET, type: udp, proto: 0)
        }
        #expect(throws: NetnsSocketError(.createSocket, SystemError(op: "socket in netns", path: "(current)", errno: EAFNOSUPPORT))) {
            _ = try NetnsSocket.open(netnsPath: nil, family: 4242, type: udp, proto: 0)
        }
    }

    @Test func waitStatusKinds() {
        #expect(ChildLauncher.decodeStatus(0) == .exited(0))
        #expect(ChildLauncher.decodeStatus(3 << 8) == .exited(3))
        #expect(ChildLauncher.decodeStatus(SIGKILL) == .signaled(SIGKILL))
        #expect(ChildLauncher.decodeStatus(0x7f | (SIGSTOP << 8)) == nil)   // stopped
        #expect(ChildLauncher.decodeStatus(0xffff) == nil)                  // continued
    }

    @Test func netnsCreateSteps() {
        #expect(NetNS.createOperation(step: Int32(CSHIM_STEP_UNSHARE_NET.rawValue)) == "unshare(CLONE_NEWNET) for")
        #expect(NetNS.createOperation(step: Int32(CSHIM_STEP_MOUNT_OP.rawValue)) == "mount --bind /proc/self/ns/net")
        #expect(NetNS.createOperation(step: Int32(CSHIM_STEP_EXECVE.rawValue)) == "create netns")
    }

    /// Regression: the C child reported a failed unshare(CLONE_NEWNET) as the mount namespace's
    /// step, which Swift did not know, so the error said "create netns" instead of the call.
    @Test(.enabled(if: Identity.euid != 0, "needs a user without CAP_SYS_ADMIN, so that unshare(CLONE_NEWNET) fails"))
    func netnsCreateNamesTheFailedUnshare() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        #expect(throws: SystemError(op: "unshare(CLONE_NEWNET) for", path: dir.sub("ns"), errno: EPERM)) {
            try NetNS.create(at: dir.sub("ns"))
        }
        #expect(!dir.exists("ns"))
    }
}
