// The little C that Swift cannot do safely: the fork -> setns -> unshare -> mounts -> execve child,
// a setns -> socket -> setns-back helper, pidfd syscalls, and wrappers for function-like macros.
// Only the System module (the OS layer) calls these.
#pragma once

#include <stdint.h>
#include <sys/types.h>

// Every header of the module, so that adding one changes this file (SwiftPM's module cache
// does not notice a new header in the umbrella directory).
#include "cshim_forward.h"
#include "cshim_join.h"
#include "cshim_lock.h"
#include "cshim_nstype.h"
#include "cshim_socket.h"

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Child plan (everything prepared before fork: the child never allocates)

/// What one mount step in the child does (our own enumeration, lowered to mount(2) flags in C).
enum cshim_mount_kind {
    CSHIM_MOUNT_BIND = 1,     // mount(source, target, NULL, MS_BIND[|MS_REC]) [+ remount read-only]
    CSHIM_MOUNT_TMPFS = 2,    // mount("tmpfs", target, "tmpfs", flags, data)
    CSHIM_MOUNT_FS = 3,       // mount(source, target, fstype, flags, data), e.g. sysfs
    CSHIM_MOUNT_MKDIR_ALL = 4,// mkdir -p target (mode)
    CSHIM_MOUNT_CREATE_FILE = 5, // open(target, O_CREAT) (mode), for file bind-mount targets
};

/// Our own mount flag bits (lowered to MS_* in C, so Swift never needs <sys/mount.h>).
enum cshim_mount_flag {
    CSHIM_MNT_RDONLY = 1u << 0,
    CSHIM_MNT_NOSUID = 1u << 1,
    CSHIM_MNT_NODEV = 1u << 2,
    CSHIM_MNT_NOEXEC = 1u << 3,
    CSHIM_MNT_RECURSIVE = 1u << 4,
};

struct cshim_mount_op {
    int kind;               // enum cshim_mount_kind
    const char *source;     // BIND, FS
    const char *target;
    const char *fstype;     // FS
    const char *data;       // TMPFS, FS (may be NULL)
    unsigned int flags;     // enum cshim_mount_flag bits
    unsigned int mode;      // MKDIR_ALL, CREATE_FILE
};

/// dup2(from, to) in the child. Every other fd is closed on exec.
struct cshim_fd_map {
    int from;
    int to;
};

enum cshim_session {
    CSHIM_SESSION_NONE = 0,
    CSHIM_SESSION_PGID = 1,   // setpgid(0, 0): own process group (timeouts kill the group)
    CSHIM_SESSION_SETSID = 2, // setsid(): own session and process group (daemons)
};

#define CSHIM_MAX_FD_MAPS 32

struct cshim_child_spec {
    const char *path;
    char *const *argv;
    char *const *envp;
    const struct cshim_fd_map *fds;
    int nfds;                        // <= CSHIM_MAX_FD_MAPS
    int session;                     // enum cshim_session
    const char *netns_path;          // NULL = stay
    int unshare_mount;               // unshare(CLONE_NEWNS) + make / rslave
    const struct cshim_mount_op *ops;
    int nops;
    // Join namespaces a holder set up (instead of netns_path/unshare/ops): setns(2) on these
    // O_CLOEXEC fds (-1 = none), then chdir(cwd) (NULL or failing: "/").
    int join_net_fd;
    int join_mnt_fd;
    const char *cwd;
    // Be the holder: after the setup, instead of execve, close every fd but 0, report success
    // (EOF on the error pipe) and block reading fd 0 until EOF; dies with its parent (PDEATHSIG).
    int hold;
};

/// Which step of the child failed (written to the error pipe; the parent formats the message).
enum cshim_child_step {
    CSHIM_STEP_FDS = 1,          // dup2 / fcntl of the fd plan
    CSHIM_STEP_SESSION = 2,      // setpgid / setsid
    CSHIM_STEP_NETNS_OPEN = 3,   // open(netns_path)
    CSHIM_STEP_SETNS = 4,        // setns(fd, CLONE_NEWNET)
    CSHIM_STEP_UNSHARE_MOUNT = 5,// unshare(CLONE_NEWNS)
    CSHIM_STEP_RSLAVE = 6,       // mount(NULL, "/", NULL, MS_REC|MS_SLAVE)
    CSHIM_STEP_MOUNT_OP = 7,     // ops[index]
    CSHIM_STEP_MOUNT_OP_RDONLY = 8, // ops[index] read-only remount
    CSHIM_STEP_EXECVE = 9,
    CSHIM_STEP_JOIN_NET = 10,    // setns(join_net_fd, CLONE_NEWNET)
    CSHIM_STEP_JOIN_MNT = 11,    // setns(join_mnt_fd, CLONE_NEWNS)
    CSHIM_STEP_HOLD = 12,        // prctl(PR_SET_PDEATHSIG) / closing fds in the holder
    CSHIM_STEP_UNSHARE_NET = 13, // unshare(CLONE_NEWNET) (cshim_netns_create)
};

/// The record the child writes to the error pipe before _exit(127).
struct cshim_child_error {
    int32_t err;
    int32_t step;
    int32_t index;
};

/// fork(2) a child that carries out `spec` and execve(2)s; setup failures are written as one
/// `struct cshim_child_error` to `errpipe_w` (which must be O_CLOEXEC: EOF means execve succeeded).
/// Signals are blocked around the fork; the child resets all dispositions and its mask.
/// Returns the pid, or -1 with errno set if fork failed.
pid_t cshim_spawn(const struct cshim_child_spec *spec, int errpipe_w);

/// Create a network namespace bind-mounted on `path` (an existing file): a forked child does
/// unshare(CLONE_NEWNET) then mount("/proc/self/ns/net", path, MS_BIND) and exits.
/// Returns 0, or -1 with *step / errno describing the failure (step: CSHIM_STEP_UNSHARE_NET,
/// CSHIM_STEP_MOUNT_OP for the bind mount, CSHIM_STEP_EXECVE when the child died otherwise).
int cshim_netns_create(const char *path, int *step);

/// Where cshim_socket_in_netns failed (*stage).
enum cshim_socket_stage {
    CSHIM_SOCKET_OK = 0,
    CSHIM_SOCKET_THREAD = 1,     // pthread_create
    CSHIM_SOCKET_OPEN = 2,       // open(netns_path)
    CSHIM_SOCKET_SETNS = 3,      // setns(fd, CLONE_NEWNET)
    CSHIM_SOCKET_CREATE = 4,     // socket(2)
};

/// socket(family, type|SOCK_CLOEXEC, proto) inside `netns_path` (NULL: here). A short-lived
/// pthread does open + setns(CLONE_NEWNET) + socket and exits; the caller's threads never switch.
/// Returns the fd or -1 with errno and *stage (enum cshim_socket_stage).
int cshim_socket_in_netns(const char *netns_path, int family, int type, int proto, int *stage);

// MARK: - Small wrappers

/// ioctl(sock, SIOCGSKNS): an O_CLOEXEC fd of the network namespace a socket belongs to.
int cshim_socket_netns(int sock);

/// SO_NETNS_COOKIE of a socket's network namespace: a 64-bit id the kernel never reuses while it
/// runs (unlike nsfs inode numbers, which are recycled at once). 0 or -1 with errno.
int cshim_socket_netns_cookie(int sock, uint64_t *cookie);

/// statfs(2) f_type == NSFS_MAGIC (<linux/magic.h>). 1 yes, 0 no, -1 error (errno).
int cshim_is_nsfs(const char *path);
/// umount2(path, MNT_DETACH if detach).
int cshim_umount(const char *path, int detach);
/// statx(2) at dirfd/name (AT_SYMLINK_NOFOLLOW) for the mount id. 0 ok, -1 errno (ENOSYS/EINVAL if
/// the kernel has no STATX_MNT_ID).
int cshim_mount_id_at(int dirfd, const char *name, uint64_t *mnt_id);

/// pidfd_open(2) / pidfd_send_signal(2) via syscall(2); -1 with errno (ENOSYS on old kernels).
int cshim_pidfd_open(pid_t pid);
int cshim_pidfd_send_signal(int pidfd, int sig);

/// The getcwd(2) system call itself: its length, or -1 with errno. Unlike getcwd(3), glibc's
/// fallback never runs: for a cwd outside this mount namespace's root ("(unreachable)/...", e.g.
/// after a setns into a rootless session) it walks ".." reading every ancestor directory.
long cshim_getcwd_syscall(char *buf, unsigned long size);

/// write(2) with SIGPIPE blocked on this thread; a SIGPIPE caused by this write is consumed.
ssize_t cshim_write_nosigpipe(int fd, const void *buf, size_t len);

/// pipe2(fds, O_CLOEXEC) (pipe2 is _GNU_SOURCE-only, so Swift cannot see it).
int cshim_pipe_cloexec(int fds[2]);

/// The process environment (`environ`).
char **cshim_environ(void);

/// What a waitpid(2) status says (cshim_decode_wait_status).
enum cshim_wait_kind {
    CSHIM_WAIT_OTHER = 0,        // stopped / continued
    CSHIM_WAIT_EXITED = 1,       // *value = WEXITSTATUS
    CSHIM_WAIT_SIGNALED = 2,     // *value = WTERMSIG
};

/// Decode a waitpid(2) status: returns an enum cshim_wait_kind and sets *value (0 for OTHER).
int cshim_decode_wait_status(int status, int *value);

#ifdef __cplusplus
}
#endif
