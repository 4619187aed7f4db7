#pragma once
// C helpers for the Netlink module: libmnl's callback-based attribute parse, which Swift cannot
// drive without a C function pointer and context juggling.
#include <stdint.h>
#include <linux/netlink.h>

#ifdef __cplusplus
extern "C" {
#endif

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
