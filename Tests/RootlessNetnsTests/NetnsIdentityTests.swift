import JSON
import Testing
@testable import RootlessNetns

/// Reaping decides from a recorded identity whether a container namespace is provably gone.
/// Namespace inode numbers are recycled at once, so "same mount namespace inode" alone is no
/// proof; the shared namespace's cookie (never reused) is.
@Suite struct NetnsIdentityTests {
    let mnt: (dev: UInt64, ino: UInt64) = (4, 4_026_531_841)
    let missing = "/nonexistent-rcni/netns/container-x"

    func recorded(cookie: UInt64?) -> NetnsIdentity {
        NetnsIdentity(dev: 4, ino: 4_026_532_000, mountNSDev: mnt.dev, mountNSIno: mnt.ino, sharedNetnsCookie: cookie)
    }

    @Test("the shared namespace was recreated (another cookie): gone, from any mount namespace")
    func sharedNamespaceReplaced() {
        let other = NetnsIdentity.Vantage(mountNamespace: (4, 1), sharedNetnsCookie: 8)
        guard case .gone(let why) = recorded(cookie: 7).liveness(path: "/proc/1/ns/net", from: other) else {
            Issue.record("a record of a replaced shared namespace must be reapable")
            return
        }
        #expect(why.contains("no longer exists"))
    }

    @Test("same shared namespace, same mount namespace, path missing: gone")
    func pathMissing() {
        let here = NetnsIdentity.Vantage(mountNamespace: mnt, sharedNetnsCookie: 7)
        #expect(recorded(cookie: 7).liveness(path: missing, from: here) == .gone("\(missing) no longer exists"))
    }

    @Test("same mount namespace inode but no shared namespace mounted here: cannot tell")
    func recycledMountNamespaceInode() {
        let here = NetnsIdentity.Vantage(mountNamespace: mnt, sharedNetnsCookie: nil)
        #expect(recorded(cookie: 7).liveness(path: missing, from: here) == .unknown("the shared namespace is not mounted here"))
    }

    @Test("another mount namespace, same shared namespace: cannot tell")
    func otherMountNamespace() {
        let there = NetnsIdentity.Vantage(mountNamespace: (4, 99), sharedNetnsCookie: 7)
        #expect(recorded(cookie: 7).liveness(path: missing, from: there) == .unknown("recorded in another mount namespace"))
    }

    @Test("records of older versions (no cookie) keep the mount-namespace rule")
    func olderRecord() {
        let here = NetnsIdentity.Vantage(mountNamespace: mnt, sharedNetnsCookie: 9)
        #expect(recorded(cookie: nil).liveness(path: missing, from: here) == .gone("\(missing) no longer exists"))
        let there = NetnsIdentity.Vantage(mountNamespace: (4, 99), sharedNetnsCookie: 9)
        #expect(recorded(cookie: nil).liveness(path: missing, from: there) == .unknown("recorded in another mount namespace"))
    }

    @Test("the cookie survives the record's JSON, also above 2^63")
    func jsonRoundTrip() {
        let identity = recorded(cookie: UInt64.max - 3)
        #expect(NetnsIdentity(json: identity.json()) == identity)
        #expect(NetnsIdentity(json: recorded(cookie: nil).json()) == recorded(cookie: nil))
    }
}
