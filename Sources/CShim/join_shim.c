// See include/cshim_join.h. Between fork() and execve()/_exit() only async-signal-safe calls.
#define _GNU_SOURCE
#include "cshim.h"
#include "cshim_join.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static void join_fail(int errfd, int step, int err) {
    struct cshim_child_error e = {err, step, -1};
    ssize_t r;
    do {
        r = write(errfd, &e, sizeof e);
    } while (r < 0 && errno == EINTR);
    _exit(127);
}

pid_t cshim_spawn_joined(int userns_fd, int mntns_fd, const char *cwd, const char *path,
                         char *const *argv, char *const *envp, int errpipe_w) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        for (int sig = 1; sig < _NSIG; sig++) {
            if (sig != SIGKILL && sig != SIGSTOP) (void)sigaction(sig, &sa, NULL);
        }
        sigset_t none;
        sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);
        if (userns_fd >= 0) {
            if (setns(userns_fd, CLONE_NEWUSER) < 0) join_fail(errpipe_w, CSHIM_JOIN_SETNS_USER, errno);
        }
        if (setns(mntns_fd, CLONE_NEWNS) < 0) join_fail(errpipe_w, CSHIM_JOIN_SETNS_MNT, errno);
        if (userns_fd >= 0) {
            (void)setgroups(0, NULL);  // EPERM where the session denies setgroups: harmless
            if (setresgid(0, 0, 0) < 0) join_fail(errpipe_w, CSHIM_JOIN_SETID, errno);
            if (setresuid(0, 0, 0) < 0) join_fail(errpipe_w, CSHIM_JOIN_SETID, errno);
        }
        if (cwd == NULL || chdir(cwd) < 0) (void)chdir("/");
        execve(path, argv, envp);
        join_fail(errpipe_w, CSHIM_JOIN_EXECVE, errno);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return pid;
}
