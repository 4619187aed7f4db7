import CShim
import Glibc

/// Mount-table helpers for the plugin's own mount namespace (mounts inside a delegate's private
/// mount namespace are `MountOp`s carried out by the spawned child).
public enum Mounts {
    /// True if `path` is a namespace file (`statfs(2)` f_type == NSFS_MAGIC from <linux/magic.h>),
    /// i.e. a bind-mounted /proc/PID/ns/* entry.
    public static func isNsfs(_ path: String) -> Bool {
        cshim_is_nsfs(path) == 1
    }

    /// `umount2(2)`, MNT_DETACH by default. Not mounted (EINVAL) and missing (ENOENT) are fine.
    public static func unmount(_ path: String, detach: Bool = true) throws(SystemError) {
        while cshim_umount(path, detach ? 1 : 0) != 0 {
            switch Glibc.errno {
            case EINTR: continue
            case EINVAL, ENOENT: return
            default: throw SystemError.last("umount", path)
            }
        }
    }
}
