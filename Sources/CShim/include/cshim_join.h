// Joining another process's user + mount namespaces (a rootless session's), for the CLIs.
#pragma once

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Steps of cshim_spawn_joined's child, written as `struct cshim_child_error.step`.
enum cshim_join_step {
    CSHIM_JOIN_SETNS_USER = 101, // setns(userns_fd, CLONE_NEWUSER)
    CSHIM_JOIN_SETNS_MNT = 102,  // setns(mntns_fd, CLONE_NEWNS)
    CSHIM_JOIN_SETID = 103,      // setresgid/setresuid(0) in the joined user namespace
    CSHIM_JOIN_EXECVE = 104,
};

/// fork(2) a child that joins the namespaces given as open fds (userns_fd -1: stay in ours, e.g.
/// when it is already the target), becomes uid/gid 0 there if it joined a user namespace (as
/// nsenter does; setgroups is cleared where allowed), chdir(2)s to `cwd` (else "/"), and
/// execve(2)s. The child is single-threaded by construction, which setns(CLONE_NEWUSER) needs.
/// Setup failures are written as one `struct cshim_child_error` to `errpipe_w` (O_CLOEXEC).
/// Returns the pid, or -1 with errno if fork failed.
pid_t cshim_spawn_joined(int userns_fd, int mntns_fd, const char *cwd, const char *path,
                         char *const *argv, char *const *envp, int errpipe_w);

#ifdef __cplusplus
}
#endif
