// Namespace type of an nsfs file (ioctl NS_GET_NSTYPE) and O_PATH, for the System module only.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/// 1 if `fd` is a network namespace, 0 if it is another kind of namespace, -1 with errno
/// otherwise (ENOTTY/EINVAL: not a namespace file at all).
int cshim_fd_is_netns(int fd);

/// O_PATH (glibc hides it behind _GNU_SOURCE, which Swift's Glibc module does not define).
int cshim_o_path(void);

#ifdef __cplusplus
}
#endif
