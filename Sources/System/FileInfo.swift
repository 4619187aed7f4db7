import Glibc

/// The parts of `struct stat` we use.
public struct FileInfo: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case regular, directory, symlink, other }
    public var type: Kind
    /// Permission bits (`st_mode & 0o7777`).
    public var mode: mode_t
    public var uid: uid_t
    public var gid: gid_t
    public var dev: UInt64
    public var ino: UInt64
    public var size: Int64
    /// Modification and status-change times in nanoseconds (a binary's identity for caches).
    public var mtimeNs: Int64
    public var ctimeNs: Int64
    /// Modification time (with dev/ino/size: a binary's identity for caches).
    public var mtimeSec: Int64
    public var mtimeNsec: Int64

    init(_ st: stat) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: type = .regular
        case S_IFDIR: type = .directory
        case S_IFLNK: type = .symlink
        default: type = .other
        }
        mode = st.st_mode & 0o7777
        uid = st.st_uid
        gid = st.st_gid
        dev = UInt64(st.st_dev)
        ino = UInt64(st.st_ino)
        size = Int64(st.st_size)
        mtimeNs = Int64(st.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(st.st_mtim.tv_nsec)
        ctimeNs = Int64(st.st_ctim.tv_sec) &* 1_000_000_000 &+ Int64(st.st_ctim.tv_nsec)
        mtimeSec = Int64(st.st_mtim.tv_sec)
        mtimeNsec = Int64(st.st_mtim.tv_nsec)
    }
}
