#define _GNU_SOURCE
#include "cshim_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

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
