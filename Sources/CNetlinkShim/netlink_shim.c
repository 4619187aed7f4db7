#define _GNU_SOURCE
#include "cshim_netlink.h"

#include <libmnl/libmnl.h>

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
