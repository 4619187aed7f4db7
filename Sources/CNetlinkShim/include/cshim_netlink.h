#pragma once
// Netlink message and attribute framing for the Netlink module: the few macros of
// <linux/netlink.h> that Swift cannot import, as functions, plus a table-building attribute
// parse. Written against the kernel headers alone (no libmnl), so netstat-inspect links into
// one static executable.
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/if.h>
#include <linux/if_arp.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Payload bytes of a message (after the 16-byte header).
static inline size_t cshim_nlmsg_payload_len(const struct nlmsghdr *nlh) {
    return nlh->nlmsg_len >= NLMSG_HDRLEN ? nlh->nlmsg_len - NLMSG_HDRLEN : 0;
}
static inline void *cshim_nlmsg_payload(const struct nlmsghdr *nlh) {
    return (char *)nlh + NLMSG_HDRLEN;
}
/// NLMSG_OK: a whole message of at least a header fits in `len` bytes.
static inline int cshim_nlmsg_ok(const struct nlmsghdr *nlh, int len) {
    return len >= (int)sizeof(struct nlmsghdr) && nlh->nlmsg_len >= sizeof(struct nlmsghdr) &&
           (int)nlh->nlmsg_len <= len;
}
/// NLMSG_NEXT: the following message; `len` drops by this one's aligned length.
static inline struct nlmsghdr *cshim_nlmsg_next(const struct nlmsghdr *nlh, int *len) {
    *len -= NLMSG_ALIGN(nlh->nlmsg_len);
    return (struct nlmsghdr *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));
}

static inline uint16_t cshim_nlattr_type(const struct nlattr *a) { return a->nla_type & NLA_TYPE_MASK; }
static inline size_t cshim_nlattr_payload_len(const struct nlattr *a) {
    return a->nla_len >= NLA_HDRLEN ? a->nla_len - NLA_HDRLEN : 0;
}
static inline const void *cshim_nlattr_payload(const struct nlattr *a) { return (const char *)a + NLA_HDRLEN; }

/// Stores a pointer to each well-formed attribute of `nlh` that follows `offset` bytes of family
/// header into `tb[type]` (types above `max` are ignored; a later duplicate wins). Stops at the
/// first attribute whose length is short or runs past the message and returns -1; else 0.
int cshim_nl_attr_table(const struct nlmsghdr *nlh, unsigned int offset,
                        const struct nlattr **tb, unsigned int max);

/// The same for the attributes nested inside `nest` (e.g. IFLA_LINKINFO).
int cshim_nl_attr_table_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned int max);

#ifdef __cplusplus
}
#endif
