#define _GNU_SOURCE
#include "cshim_netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libmnl/libmnl.h>

int cshim_nl_socket_in_netns(const char *path, int *stage) {
    *stage = CSHIM_NL_STAGE_NONE;
    if (path == NULL) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0) { *stage = CSHIM_NL_STAGE_SOCKET; return -errno; }
        return fd;
    }
    int target = open(path, O_RDONLY | O_CLOEXEC);
    if (target < 0) { *stage = CSHIM_NL_STAGE_OPEN_TARGET; return -errno; }
    // Opened before entering: the way back must not depend on the target's /proc.
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) {
        int e = errno;
        close(target);
        *stage = CSHIM_NL_STAGE_OPEN_SELF;
        return -e;
    }
    if (setns(target, CLONE_NEWNET) < 0) {
        int e = errno;
        close(target);
        close(self);
        *stage = CSHIM_NL_STAGE_ENTER;
        return -e;
    }
    close(target);
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    int socket_errno = errno;
    if (setns(self, CLONE_NEWNET) < 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        close(self);
        *stage = CSHIM_NL_STAGE_RESTORE;
        return -e;
    }
    close(self);
    if (fd < 0) { *stage = CSHIM_NL_STAGE_SOCKET; return -socket_errno; }
    return fd;
}

struct attr_table { const struct nlattr **tb; unsigned int max; };

static int store_attr(const struct nlattr *attr, void *data) {
    struct attr_table *t = data;
    unsigned int type = mnl_attr_get_type(attr);
    if (type <= t->max) t->tb[type] = attr;
    return MNL_CB_OK;
}

int cshim_nl_attr_table(const struct nlmsghdr *nlh, unsigned int offset,
                        const struct nlattr **tb, unsigned int max) {
    struct attr_table t = { tb, max };
    return mnl_attr_parse(nlh, offset, store_attr, &t) == MNL_CB_ERROR ? -1 : 0;
}

int cshim_nl_attr_table_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned int max) {
    struct attr_table t = { tb, max };
    return mnl_attr_parse_nested(nest, store_attr, &t) == MNL_CB_ERROR ? -1 : 0;
}
