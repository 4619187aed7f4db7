import JSON
import System

/// Which container network namespace an attachment was made for, and from which mount
/// namespace its path was seen: enough to prove later that the namespace is gone (the runtime
/// never sent DEL: `ctr run -d`, a crashed runtime, an ended session) without ever guessing.
struct NetnsIdentity: Equatable {
    /// `stat(2)` of CNI_NETNS at ADD (the nsfs inode of the namespace).
    var dev: UInt64
    var ino: UInt64
    /// `stat(2)` of /proc/self/ns/mnt at ADD: paths mean something only in one mount namespace.
    var mountNSDev: UInt64
    var mountNSIno: UInt64
    /// SO_NETNS_COOKIE of the shared namespace the attachment was made in (nil in older
    /// records). Namespace inode numbers are recycled at once (a new session's mount namespace
    /// often gets the inode of the one that just ended), so the mount namespace's inode alone
    /// cannot tell "the same mount namespace" from "a new one"; the cookie, never reused, can.
    var sharedNetnsCookie: UInt64? = nil

    /// The identity of `netnsPath` as seen from here; nil when it cannot be read.
    static func current(netnsPath: String, sharedNetnsPath: String) -> NetnsIdentity? {
        guard let mnt = Self.mountNamespace(), !netnsPath.isEmpty, Mounts.isNsfs(netnsPath),
              let info = try? FS.stat(netnsPath) else { return nil }
        var identity = NetnsIdentity(dev: info.dev, ino: info.ino, mountNSDev: mnt.dev, mountNSIno: mnt.ino)
        identity.sharedNetnsCookie = try? NetnsSocket.cookie(netnsPath: sharedNetnsPath)
        return identity
    }

    static func mountNamespace() -> (dev: UInt64, ino: UInt64)? {
        guard let info = try? FS.stat("/proc/self/ns/mnt") else { return nil }
        return (info.dev, info.ino)
    }

    /// Where a liveness question is asked from: this mount namespace, and the shared namespace
    /// now mounted at the state dir (its cookie; nil when none is mounted or it cannot be read).
    struct Vantage {
        var mountNamespace: (dev: UInt64, ino: UInt64)?
        var sharedNetnsCookie: UInt64?

        static func current(sharedNetnsPath: String) -> Vantage {
            let cookie = Mounts.isNsfs(sharedNetnsPath) ? try? NetnsSocket.cookie(netnsPath: sharedNetnsPath) : nil
            return Vantage(mountNamespace: NetnsIdentity.mountNamespace(), sharedNetnsCookie: cookie)
        }
    }

    /// What we can say about a recorded namespace now.
    enum Liveness: Equatable {
        case alive
        /// Provably gone: the shared namespace it was attached in was replaced by another (its
        /// veth pair died with it), or, in the same mount namespace, the path is missing, no
        /// longer a namespace, or a different namespace.
        case gone(String)
        /// Cannot tell (another mount namespace, a /proc path, an unreadable path): never reap.
        case unknown(String)
    }

    func liveness(path: String, from vantage: Vantage) -> Liveness {
        if let recorded = sharedNetnsCookie, let now = vantage.sharedNetnsCookie, recorded != now {
            return .gone("the shared namespace it was attached in no longer exists (netns cookie \(recorded), now \(now))")
        }
        guard let mnt = vantage.mountNamespace, mnt.dev == mountNSDev, mnt.ino == mountNSIno else {
            return .unknown("recorded in another mount namespace")
        }
        // Same inode, but maybe a recycled one: only with the same shared namespace still
        // mounted here is it the mount namespace the path was recorded in.
        if sharedNetnsCookie != nil && vantage.sharedNetnsCookie == nil {
            return .unknown("the shared namespace is not mounted here")
        }
        // /proc/PID/ns/net disappears with the process, not with the namespace.
        guard path.hasPrefix("/"), !path.hasPrefix("/proc/") else { return .unknown("not a bind-mounted path") }
        let linfo: FileInfo?
        do { linfo = try FS.lstat(path) } catch { return .unknown("\(error)") }
        guard let linfo else { return .gone("\(path) no longer exists") }
        if linfo.type == .symlink { return .unknown("\(path) is a symlink") }
        guard Mounts.isNsfs(path) else { return .gone("\(path) is no longer a namespace") }
        guard let info = try? FS.stat(path) else { return .unknown("cannot stat \(path)") }
        if info.dev != dev || info.ino != ino { return .gone("\(path) now holds another namespace") }
        return .alive
    }

    func json() -> JSON {
        var object: JSONObject = ["dev": .int(Int64(bitPattern: dev)), "ino": .int(Int64(bitPattern: ino)),
                                  "mountNSDev": .int(Int64(bitPattern: mountNSDev)),
                                  "mountNSIno": .int(Int64(bitPattern: mountNSIno))]
        if let sharedNetnsCookie { object["sharedNetnsCookie"] = .int(Int64(bitPattern: sharedNetnsCookie)) }
        return .object(object)
    }

    init(dev: UInt64, ino: UInt64, mountNSDev: UInt64, mountNSIno: UInt64, sharedNetnsCookie: UInt64? = nil) {
        self.dev = dev; self.ino = ino; self.mountNSDev = mountNSDev; self.mountNSIno = mountNSIno
        self.sharedNetnsCookie = sharedNetnsCookie
    }

    init?(json: JSON?) {
        guard let json, let d = json["dev"]?.intValue, let i = json["ino"]?.intValue,
              let md = json["mountNSDev"]?.intValue, let mi = json["mountNSIno"]?.intValue else { return nil }
        dev = UInt64(bitPattern: d); ino = UInt64(bitPattern: i)
        mountNSDev = UInt64(bitPattern: md); mountNSIno = UInt64(bitPattern: mi)
        sharedNetnsCookie = json["sharedNetnsCookie"]?.intValue.map { UInt64(bitPattern: $0) }
    }
}
