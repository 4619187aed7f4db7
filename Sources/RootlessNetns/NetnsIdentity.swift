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

    /// The identity of `netnsPath` as seen from here; nil when it cannot be read.
    static func current(netnsPath: String) -> NetnsIdentity? {
        guard let mnt = Self.mountNamespace(), !netnsPath.isEmpty, Mounts.isNsfs(netnsPath),
              let info = try? FS.stat(netnsPath) else { return nil }
        return NetnsIdentity(dev: info.dev, ino: info.ino, mountNSDev: mnt.dev, mountNSIno: mnt.ino)
    }

    static func mountNamespace() -> (dev: UInt64, ino: UInt64)? {
        guard let info = try? FS.stat("/proc/self/ns/mnt") else { return nil }
        return (info.dev, info.ino)
    }

    /// What we can say about a recorded namespace now.
    enum Liveness: Equatable {
        case alive
        /// Provably gone: same mount namespace, and the path is missing, no longer a namespace,
        /// or a different namespace.
        case gone(String)
        /// Cannot tell (another mount namespace, a /proc path, an unreadable path): never reap.
        case unknown(String)
    }

    func liveness(path: String, mountNamespace: (dev: UInt64, ino: UInt64)?) -> Liveness {
        guard let mnt = mountNamespace, mnt.dev == mountNSDev, mnt.ino == mountNSIno else {
            return .unknown("recorded in another mount namespace")
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
        ["dev": .int(Int64(bitPattern: dev)), "ino": .int(Int64(bitPattern: ino)),
         "mountNSDev": .int(Int64(bitPattern: mountNSDev)), "mountNSIno": .int(Int64(bitPattern: mountNSIno))]
    }

    init(dev: UInt64, ino: UInt64, mountNSDev: UInt64, mountNSIno: UInt64) {
        self.dev = dev; self.ino = ino; self.mountNSDev = mountNSDev; self.mountNSIno = mountNSIno
    }

    init?(json: JSON?) {
        guard let json, let d = json["dev"]?.intValue, let i = json["ino"]?.intValue,
              let md = json["mountNSDev"]?.intValue, let mi = json["mountNSIno"]?.intValue else { return nil }
        dev = UInt64(bitPattern: d); ino = UInt64(bitPattern: i)
        mountNSDev = UInt64(bitPattern: md); mountNSIno = UInt64(bitPattern: mi)
    }
}
