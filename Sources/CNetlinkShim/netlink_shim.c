#define _GNU_SOURCE
#include "cshim_netlink.h"

static int table_from(const char *pos, size_t len, const struct nlattr **tb, unsigned int max) {
    while (len >= NLA_HDRLEN) {
        const struct nlattr *a = (const struct nlattr *)pos;
        if (a->nla_len < NLA_HDRLEN || a->nla_len > len) return -1;
        unsigned int type = cshim_nlattr_type(a);
        if (type <= max) tb[type] = a;
        size_t step = NLA_ALIGN(a->nla_len);
        if (step >= len) return 0;
        pos += step;
        len -= step;
    }
    return 0;
}

int cshim_nl_attr_table(const struct nlmsghdr *nlh, unsigned int offset,
                        const struct nlattr **tb, unsigned int max) {
    size_t payload = cshim_nlmsg_payload_len(nlh);
    size_t start = NLMSG_ALIGN(offset);
    if (start > payload) return -1;
    return table_from((const char *)cshim_nlmsg_payload(nlh) + start, payload - start, tb, max);
}

int cshim_nl_attr_table_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned int max) {
    return table_from((const char *)cshim_nlattr_payload(nest), cshim_nlattr_payload_len(nest), tb, max);
}
