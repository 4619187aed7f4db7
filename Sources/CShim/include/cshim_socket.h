// Socket helpers: SCM_RIGHTS fd passing (the forwarder's control socket) and SO_ERROR;
// received fds get MSG_CMSG_CLOEXEC. Address building lives in cshim_forward.h.
#pragma once

#include <stddef.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Sends `len` bytes with `fd` attached (SCM_RIGHTS). 0 or -errno.
int cshim_send_fd(int sock, int fd, const void *buf, size_t len);

/// Receives up to `len` bytes and at most one attached fd (-1 if none) into *fd_out.
/// Returns the byte count or -errno.
long cshim_recv_fd(int sock, void *buf, size_t len, int *fd_out);

/// SO_ERROR of a socket (the result of a non-blocking connect): 0 or an errno.
int cshim_socket_error(int fd);

#ifdef __cplusplus
}
#endif
