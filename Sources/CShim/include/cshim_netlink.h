#pragma once
// C helpers for the Netlink module: the netns-scoped socket open (setns must stay on one thread,
// between two syscalls, with no Swift code in between) and libmnl's callback-based attribute parse.
#include <stdint.h>
#include <linux/netlink.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Which step of `cshim_nl_socket_in_netns` failed.
enum cshim_nl_stage {
    CSHIM_NL_STAGE_NONE = 0,
    CSHIM_NL_STAGE_OPEN_SELF = 1,    ///< open("/proc/thread-self/ns/net")
    CSHIM_NL_STAGE_OPEN_TARGET = 2,  ///< open(path)
    CSHIM_NL_STAGE_ENTER = 3,        ///< setns(target, CLONE_NEWNET); EINVAL: not a network namespace
    CSHIM_NL_STAGE_SOCKET = 4,       ///< socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE)
    CSHIM_NL_STAGE_RESTORE = 5,      ///< setns back to the original namespace
};

/// Opens a NETLINK_ROUTE socket (SOCK_CLOEXEC) inside the network namespace at `path`, or in the
/// calling thread's own namespace when `path` is NULL. The calling thread enters the namespace only
/// for the socket(2) call and returns before this function does; the socket stays bound to the
/// target namespace. Returns the fd, or -errno with `*stage` naming the failed step.
/// The corresponding C calls are `open(2)`, `setns(2)` and `socket(2)`.
int cshim_nl_socket_in_netns(const char *path, int *stage);

/// Like `mnl_attr_parse` with a table callback: stores a pointer to each attribute of `nlh` that
/// follows `offset` bytes of family header into `tb[type]` (types above `max` are ignored).
/// Returns 0, or -1 when an attribute is malformed.
int cshim_nl_attr_table(const struct nlmsghdr *nlh, unsigned int offset,
                        const struct nlattr **tb, unsigned int max);

/// The same for the attributes nested inside `nest` (e.g. IFLA_LINKINFO).
int cshim_nl_attr_table_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned int max);

#ifdef __cplusplus
}
#endif
