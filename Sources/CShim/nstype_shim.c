#define _GNU_SOURCE
#include "cshim_nstype.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <linux/nsfs.h>

int cshim_fd_is_netns(int fd) {
    int type = ioctl(fd, NS_GET_NSTYPE);
    if (type < 0) return -1;
    return type == CLONE_NEWNET ? 1 : 0;
}

int cshim_o_path(void) { return O_PATH; }
