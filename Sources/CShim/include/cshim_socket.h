// Socket helpers for the port forwarder: sockaddr building (v4/v6 from text), SCM_RIGHTS fd
// passing. Every socket is SOCK_CLOEXEC; received fds get MSG_CMSG_CLOEXEC.
#pragma once

#include <stddef.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A bound (and for SOCK_STREAM listening) socket on ip:port; ip "" means any IPv4 address.
/// Returns the fd, or -errno. `nonblock` sets O_NONBLOCK.
int cshim_inet_bind(const char *ip, int port, int type, int nonblock);

/// A non-blocking socket connecting to ip:port (connect may be in progress). fd or -errno.
int cshim_inet_connect(const char *ip, int port, int type);

/// Sends `len` bytes with `fd` attached (SCM_RIGHTS). 0 or -errno.
int cshim_send_fd(int sock, int fd, const void *buf, size_t len);

/// Receives up to `len` bytes and at most one attached fd (-1 if none) into *fd_out.
/// Returns the byte count or -errno.
long cshim_recv_fd(int sock, void *buf, size_t len, int *fd_out);

/// SO_ERROR of a socket (the result of a non-blocking connect): 0 or an errno.
int cshim_socket_error(int fd);

/// accept4(fd, SOCK_NONBLOCK | SOCK_CLOEXEC): the new fd or -errno.
int cshim_accept(int fd, int nonblock);

/// send/sendto with MSG_NOSIGNAL (a peer gone away is EPIPE, not SIGPIPE). Bytes or -errno.
long cshim_send(int fd, const void *buf, size_t len);
long cshim_sendto(int fd, const void *buf, size_t len, const struct sockaddr *addr, socklen_t addrlen);

#ifdef __cplusplus
}
#endif
