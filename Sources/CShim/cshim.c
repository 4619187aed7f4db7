// See include/cshim.h. Everything between fork() and execve()/_exit() below is async-signal-safe:
// no malloc, no stdio, no locks. The plan (strings, arrays) is prepared by the parent before fork.
#define _GNU_SOURCE
#include "cshim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

// MARK: - Child helpers (async-signal-safe)

static void child_fail(int errfd, int step, int index, int err) {
    struct cshim_child_error e = {err, step, index};
    ssize_t r;
    do {
        r = write(errfd, &e, sizeof e);
    } while (r < 0 && errno == EINTR);
    _exit(127);
}

/// Restore default dispositions, then unblock everything (the parent blocked all signals
/// around fork so no parent handler can run in the child).
static void child_reset_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < _NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        (void)sigaction(sig, &sa, NULL);  // EINVAL for glibc-internal signals: ignored
    }
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/// mkdir -p with a stack buffer; existing directories are fine.
static int mkdir_all(const char *path, mode_t mode) {
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = n == 0 ? ENOENT : ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) < 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static unsigned long ms_flags(unsigned int f) {
    unsigned long ms = 0;
    if (f & CSHIM_MNT_RDONLY) ms |= MS_RDONLY;
    if (f & CSHIM_MNT_NOSUID) ms |= MS_NOSUID;
    if (f & CSHIM_MNT_NODEV) ms |= MS_NODEV;
    if (f & CSHIM_MNT_NOEXEC) ms |= MS_NOEXEC;
    return ms;
}

/// Remount a bind mount read-only, keeping the flags the kernel may have locked (in a user
/// namespace, dropping nosuid/nodev/noexec/atime flags of the source mount is EPERM).
static int remount_bind_rdonly(const char *target, unsigned int extra) {
    struct statfs sfs;
    if (statfs(target, &sfs) < 0) return -1;
    unsigned long keep = 0;
    if (sfs.f_flags & ST_NOSUID) keep |= MS_NOSUID;
    if (sfs.f_flags & ST_NODEV) keep |= MS_NODEV;
    if (sfs.f_flags & ST_NOEXEC) keep |= MS_NOEXEC;
    if (sfs.f_flags & ST_NOATIME) keep |= MS_NOATIME;
    if (sfs.f_flags & ST_NODIRATIME) keep |= MS_NODIRATIME;
    if (sfs.f_flags & ST_RELATIME) keep |= MS_RELATIME;
    return mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep | ms_flags(extra), NULL);
}

/// Returns 0, or the step that failed (errno set).
static int child_mount_op(const struct cshim_mount_op *op) {
    switch (op->kind) {
    case CSHIM_MOUNT_BIND: {
        unsigned long fl = MS_BIND | ((op->flags & CSHIM_MNT_RECURSIVE) ? MS_REC : 0);
        if (mount(op->source, op->target, NULL, fl, NULL) < 0) return CSHIM_STEP_MOUNT_OP;
        if ((op->flags & CSHIM_MNT_RDONLY) &&
            remount_bind_rdonly(op->target, op->flags & ~CSHIM_MNT_RDONLY) < 0)
            return CSHIM_STEP_MOUNT_OP_RDONLY;
        return 0;
    }
    case CSHIM_MOUNT_TMPFS:
        if (mount("tmpfs", op->target, "tmpfs", ms_flags(op->flags), op->data) < 0)
            return CSHIM_STEP_MOUNT_OP;
        return 0;
    case CSHIM_MOUNT_FS:
        if (mount(op->source, op->target, op->fstype, ms_flags(op->flags), op->data) < 0)
            return CSHIM_STEP_MOUNT_OP;
        return 0;
    case CSHIM_MOUNT_MKDIR_ALL:
        if (mkdir_all(op->target, (mode_t)op->mode) < 0) return CSHIM_STEP_MOUNT_OP;
        return 0;
    case CSHIM_MOUNT_CREATE_FILE: {
        int fd = open(op->target, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, (mode_t)op->mode);
        if (fd < 0) return CSHIM_STEP_MOUNT_OP;
        close(fd);
        return 0;
    }
    default:
        errno = EINVAL;
        return CSHIM_STEP_MOUNT_OP;
    }
}

/// Mark every fd >= 3 close-on-exec. close_range(2) when available, else a bounded loop.
static void child_cloexec_from_3(void) {
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
    struct rlimit rl;
    int max = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)max)
        max = (int)rl.rlim_cur;
    for (int fd = 3; fd < max; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC)) (void)fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
    }
}

/// The holder's life after its setup: nothing but fd 0 (the parent's pipe) stays open, so it
/// holds no lock, no runtime pipe; it reports success by closing the error pipe and waits for
/// EOF (the parent is done) or its parent's death (PDEATHSIG), then exits.
static void child_hold(int errfd, pid_t parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) child_fail(errfd, CSHIM_STEP_HOLD, -1, errno);
    if (getppid() != parent) _exit(0);  // the parent died before PDEATHSIG was armed
    if (errfd > 3) (void)close_range(3, (unsigned)errfd - 1, 0);
    if (close_range((unsigned)errfd + 1, ~0U, 0) < 0) child_fail(errfd, CSHIM_STEP_HOLD, -1, errno);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) child_fail(errfd, CSHIM_STEP_HOLD, -1, errno);
    if (null > 2) close(null);
    close(errfd);
    char buf[64];
    while (1) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EINTR)) _exit(0);
    }
}

static void child_main(const struct cshim_child_spec *s, int errpipe_w, pid_t parent) {
    child_reset_signals();

    // 1. fds: move the error pipe and every source above all targets, then dup2 into place.
    int base = 3;
    for (int i = 0; i < s->nfds; i++)
        if (s->fds[i].to >= base) base = s->fds[i].to + 1;
    int errfd = fcntl(errpipe_w, F_DUPFD_CLOEXEC, base);
    if (errfd < 0) child_fail(errpipe_w, CSHIM_STEP_FDS, -1, errno);
    int tmp[CSHIM_MAX_FD_MAPS];
    for (int i = 0; i < s->nfds; i++) {
        tmp[i] = fcntl(s->fds[i].from, F_DUPFD_CLOEXEC, base);
        if (tmp[i] < 0) child_fail(errfd, CSHIM_STEP_FDS, i, errno);
    }
    child_cloexec_from_3();
    for (int i = 0; i < s->nfds; i++)
        if (dup2(tmp[i], s->fds[i].to) < 0) child_fail(errfd, CSHIM_STEP_FDS, i, errno);

    // 2. process group / session.
    if (s->session == CSHIM_SESSION_PGID && setpgid(0, 0) < 0)
        child_fail(errfd, CSHIM_STEP_SESSION, -1, errno);
    // Delegates are deliberately NOT tied to our life (no PR_SET_PDEATHSIG): a delegate killed
    // between two iptables calls leaves rules its own DEL cannot undo ("CHAIN_DEL ... busy"),
    // while one that finishes after we died leaves state its DEL removes.
    if (s->session == CSHIM_SESSION_SETSID && setsid() < 0)
        child_fail(errfd, CSHIM_STEP_SESSION, -1, errno);

    // 3a. namespaces a holder set up: join them, nothing to replay (instead of 3-5).
    if (s->join_net_fd >= 0 && setns(s->join_net_fd, CLONE_NEWNET) < 0)
        child_fail(errfd, CSHIM_STEP_JOIN_NET, -1, errno);
    if (s->join_mnt_fd >= 0) {
        if (setns(s->join_mnt_fd, CLONE_NEWNS) < 0) child_fail(errfd, CSHIM_STEP_JOIN_MNT, -1, errno);
        if (!s->cwd || chdir(s->cwd) < 0) (void)chdir("/");  // setns(CLONE_NEWNS) moved us to "/"
    }
    // 3b. network namespace.
    if (s->netns_path) {
        int nsfd = open(s->netns_path, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0) child_fail(errfd, CSHIM_STEP_NETNS_OPEN, -1, errno);
        if (setns(nsfd, CLONE_NEWNET) < 0) child_fail(errfd, CSHIM_STEP_SETNS, -1, errno);
        close(nsfd);
    }
    // 4. private mount namespace, rslave so nothing we mount propagates back to the host.
    if (s->unshare_mount) {
        if (unshare(CLONE_NEWNS) < 0) child_fail(errfd, CSHIM_STEP_UNSHARE_MOUNT, -1, errno);
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
            child_fail(errfd, CSHIM_STEP_RSLAVE, -1, errno);
    }
    // 5. mounts, in order.
    for (int i = 0; i < s->nops; i++) {
        int step = child_mount_op(&s->ops[i]);
        if (step) child_fail(errfd, step, i, errno);
    }
    if (s->hold) child_hold(errfd, parent);  // never returns
    // 6. exec.
    execve(s->path, s->argv, s->envp);
    child_fail(errfd, CSHIM_STEP_EXECVE, -1, errno);
}

// MARK: - Parent side

pid_t cshim_spawn(const struct cshim_child_spec *spec, int errpipe_w) {
    if (spec->nfds < 0 || spec->nfds > CSHIM_MAX_FD_MAPS || spec->nops < 0) {
        errno = EINVAL;
        return -1;
    }
    pid_t parent = getpid();
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) child_main(spec, errpipe_w, parent);  // never returns
    int saved = errno;
    if (pid > 0 && spec->session == CSHIM_SESSION_PGID) (void)setpgid(pid, pid);  // close the race
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return pid;
}

int cshim_netns_create(const char *path, int *step) {
    int p[2];
    *step = 0;
    if (pipe2(p, O_CLOEXEC) < 0) return -1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        if (unshare(CLONE_NEWNET) < 0) child_fail(p[1], CSHIM_STEP_UNSHARE_NET, -1, errno);
        if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
            child_fail(p[1], CSHIM_STEP_MOUNT_OP, -1, errno);
        _exit(0);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        errno = saved;
        return -1;
    }
    struct cshim_child_error e = {0, 0, 0};
    ssize_t n;
    do {
        n = read(p[0], &e, sizeof e);
    } while (n < 0 && errno == EINTR);
    close(p[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (n == (ssize_t)sizeof e) {
        // CSHIM_STEP_UNSHARE_MOUNT is reused for "unshare(CLONE_NEWNET)" here.
        *step = e.step == CSHIM_STEP_UNSHARE_MOUNT ? CSHIM_STEP_SETNS : e.step;
        errno = e.err;
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        *step = CSHIM_STEP_EXECVE;
        errno = ECHILD;
        return -1;
    }
    return 0;
}

struct socket_job {
    const char *netns_path;
    int family, type, proto;
    int fd, err, stage;
};

/// Runs on a throwaway thread: its network namespace changes and it then exits, so no thread
/// that runs anything else is ever left in the wrong namespace. (Switching back is not always
/// possible: in a rootless session the host netns belongs to the initial user namespace.)
static void *socket_job_main(void *arg) {
    struct socket_job *j = arg;
    int tgt = open(j->netns_path, O_RDONLY | O_CLOEXEC);
    if (tgt < 0) {
        j->err = errno;
        j->stage = CSHIM_SOCKET_OPEN;
        return NULL;
    }
    if (setns(tgt, CLONE_NEWNET) < 0) {
        j->err = errno;
        j->stage = CSHIM_SOCKET_SETNS;
        close(tgt);
        return NULL;
    }
    close(tgt);
    j->fd = socket(j->family, j->type | SOCK_CLOEXEC, j->proto);
    if (j->fd < 0) {
        j->err = errno;
        j->stage = CSHIM_SOCKET_CREATE;
    }
    return NULL;
}

int cshim_socket_in_netns(const char *netns_path, int family, int type, int proto, int *stage) {
    *stage = CSHIM_SOCKET_OK;
    if (!netns_path) {
        int s = socket(family, type | SOCK_CLOEXEC, proto);
        if (s < 0) *stage = CSHIM_SOCKET_CREATE;
        return s;
    }
    struct socket_job j = {netns_path, family, type, proto, -1, 0, CSHIM_SOCKET_OK};
    pthread_t t;
    int rc = pthread_create(&t, NULL, socket_job_main, &j);
    if (rc != 0) {
        *stage = CSHIM_SOCKET_THREAD;
        errno = rc;
        return -1;
    }
    pthread_join(t, NULL);
    *stage = j.stage;
    if (j.fd < 0) errno = j.err;
    return j.fd;
}

// MARK: - Small wrappers

int cshim_socket_netns(int sock) { return ioctl(sock, SIOCGSKNS); }

int cshim_socket_netns_cookie(int sock, uint64_t *cookie) {
    socklen_t len = sizeof *cookie;
    return getsockopt(sock, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len);
}

int cshim_is_nsfs(const char *path) {
    struct statfs sfs;
    if (statfs(path, &sfs) < 0) return -1;
    return sfs.f_type == NSFS_MAGIC ? 1 : 0;
}

int cshim_umount(const char *path, int detach) { return umount2(path, detach ? MNT_DETACH : 0); }

int cshim_mount_id_at(int dirfd, const char *name, uint64_t *mnt_id) {
    struct statx stx;
    if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_MNT_ID, &stx) < 0) return -1;
    if (!(stx.stx_mask & STATX_MNT_ID)) {
        errno = ENOSYS;
        return -1;
    }
    *mnt_id = stx.stx_mnt_id;
    return 0;
}

int cshim_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

long cshim_getcwd_syscall(char *buf, unsigned long size) { return syscall(SYS_getcwd, buf, size); }

int cshim_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

ssize_t cshim_write_nosigpipe(int fd, const void *buf, size_t len) {
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    ssize_t r = write(fd, buf, len);
    int e = errno;
    if (r < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {}
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return r;
}

int cshim_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

char **cshim_environ(void) { return environ; }

int cshim_decode_wait_status(int status, int *value) {
    if (WIFEXITED(status)) {
        *value = WEXITSTATUS(status);
        return CSHIM_WAIT_EXITED;
    }
    if (WIFSIGNALED(status)) {
        *value = WTERMSIG(status);
        return CSHIM_WAIT_SIGNALED;
    }
    *value = 0;
    return CSHIM_WAIT_OTHER;
}
