#define _GNU_SOURCE
#include "cshim_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int cshim_ofd_lock(int fd, int64_t start, int64_t len, int kind, int wait) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);  // l_pid must be 0 for OFD locks
    fl.l_type = kind == CSHIM_LOCK_UNLOCK ? F_UNLCK : kind == CSHIM_LOCK_SHARED ? F_RDLCK : F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)start;
    fl.l_len = (off_t)len;
    int r;
    do {
        r = fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
    } while (r != 0 && errno == EINTR && wait);
    return r;
}

static void cshim_lock_alarm(int sig) { (void)sig; }

int cshim_lock_wait(int fd, int ofd_kind, int64_t start, int timeout_ms) {
    if (timeout_ms <= 0) { errno = EINVAL; return -1; }
    // Process-wide and left in place (threads may wait at the same time; nothing else of ours
    // uses SIGALRM): a no-op without SA_RESTART, so the blocked call returns EINTR.
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cshim_lock_alarm;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) != 0) return -1;
    // A timer of this wait, signalling this thread only.
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGALRM;
#ifdef sigev_notify_thread_id
    sev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
#else
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
#endif
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) return -1;
    sigset_t alrm, old_mask;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_UNBLOCK, &alrm, &old_mask);
    struct itimerspec when;
    memset(&when, 0, sizeof when);
    when.it_value.tv_sec = timeout_ms / 1000;
    when.it_value.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
    // And again every 20 ms: a first signal that lands before the thread blocks in the lock call
    // (preempted between timer_settime and the syscall) would otherwise leave the wait unbounded.
    when.it_interval.tv_nsec = 20 * 1000000L;
    int r = -1, err = 0;
    if (timer_settime(timer, 0, &when, NULL) == 0) {
        if (ofd_kind == CSHIM_LOCKWAIT_FLOCK) {
            r = flock(fd, LOCK_EX);
        } else {
            struct flock fl;
            memset(&fl, 0, sizeof fl);  // l_pid must be 0 for OFD locks
            fl.l_type = ofd_kind == CSHIM_LOCKWAIT_BYTE_SHARED ? F_RDLCK : F_WRLCK;
            fl.l_whence = SEEK_SET;
            fl.l_start = (off_t)start;
            fl.l_len = 1;
            r = fcntl(fd, F_OFD_SETLKW, &fl);
        }
        err = errno;
    } else {
        err = errno;
    }
    // Deleted while SIGALRM is still unblocked here: a signal it raised up to now has been
    // delivered to the no-op handler, none can come later.
    timer_delete(timer);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    errno = err;
    return r;
}
