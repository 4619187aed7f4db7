// The port forwarder's C pieces: host sockets bound for forwarding, the sockaddr plumbing of
// the data path (accept with the peer address, connect from a transparent source), splice(2)
// and pipe2(2) (both _GNU_SOURCE-only, so Swift cannot see them). Only System calls these.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A bound (SOCK_STREAM: listening, SO_REUSEADDR) socket on ip:port, SOCK_CLOEXEC|SOCK_NONBLOCK;
/// "" is any IPv4 address. IPv6 sockets are IPV6_V6ONLY, so "::" and "0.0.0.0" are separate
/// mappings. Returns the fd or -errno.
int cshim_fwd_bind(const char *ip, int port, int type);

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit or -errno.
long cshim_fwd_raise_nofile(void);

/// Text address + port into a sockaddr_in/sockaddr_in6; returns the family or -EINVAL.
int cshim_fwd_make_addr(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len);

/// The numeric text of an address (inet_ntop) into buf; *port gets the port. 0 or -errno.
int cshim_fwd_addr_text(const struct sockaddr_storage *ss, char *buf, size_t buflen, int *port);

/// 1 if the address is loopback (127/8, ::1, ::ffff:127/104), else 0.
int cshim_fwd_addr_is_loopback(const struct sockaddr_storage *ss);

/// 1 if the address lies in ip/prefix (same family), else 0.
int cshim_fwd_addr_in_subnet(const struct sockaddr_storage *ss, const char *ip, int prefix);

/// accept4(SOCK_NONBLOCK|SOCK_CLOEXEC) with the peer address: the fd or -errno.
int cshim_fwd_accept(int fd, struct sockaddr_storage *peer, socklen_t *len);

/// A non-blocking SOCK_CLOEXEC socket connecting to dst (in progress is fine). With `src`,
/// it first sets IP_TRANSPARENT/IPV6_TRANSPARENT (needs CAP_NET_ADMIN), SO_MARK = `mark`
/// (if nonzero) and binds to src: the peer then sees src as the client. `keep_port` 0: src's
/// address with port 0 (IP_BIND_ADDRESS_NO_PORT: the port is chosen at connect); 1: src's own
/// port too (a UDP flow: the container sees the client's address and port). Returns the fd or -errno.
int cshim_fwd_connect(const struct sockaddr_storage *dst, socklen_t dstlen,
                      const struct sockaddr_storage *src, socklen_t srclen, int type, uint32_t mark,
                      int keep_port);

/// splice(2) with SPLICE_F_MOVE|SPLICE_F_NONBLOCK: bytes moved, 0 at EOF, or -errno.
long cshim_fwd_splice(int in, int out, size_t len);

/// pipe2(O_CLOEXEC|O_NONBLOCK); with size > 0 also F_SETPIPE_SZ (best effort).
/// The pipe's capacity in bytes or -errno; fds[0] reads, fds[1] writes.
int cshim_fwd_pipe(int fds[2], int size);

/// recvfrom/sendto/recv/send with MSG_NOSIGNAL|MSG_DONTWAIT: bytes or -errno.
long cshim_fwd_recvfrom(int fd, void *buf, size_t len, struct sockaddr_storage *peer, socklen_t *plen);
long cshim_fwd_sendto(int fd, const void *buf, size_t len, const struct sockaddr_storage *peer, socklen_t plen);
long cshim_fwd_recv(int fd, void *buf, size_t len);
long cshim_fwd_send(int fd, const void *buf, size_t len);

// epoll(7), with our own flat record (struct epoll_event is packed on x86-64; <sys/epoll.h>
// is not in Swift's Glibc module). Event bits are the kernel's.
#define CSHIM_EPOLLIN 0x001u
#define CSHIM_EPOLLOUT 0x004u
#define CSHIM_EPOLLERR 0x008u
#define CSHIM_EPOLLHUP 0x010u
#define CSHIM_EPOLLRDHUP 0x2000u

struct cshim_epoll_ready {
    uint64_t token;
    uint32_t events;
};

/// epoll_create1(EPOLL_CLOEXEC): fd or -errno.
int cshim_epoll_create(void);
/// What cshim_epoll_ctl does (EPOLL_CTL_ADD / MOD / DEL).
enum cshim_epoll_op {
    CSHIM_EPOLL_ADD = 1,
    CSHIM_EPOLL_MODIFY = 2,
    CSHIM_EPOLL_DELETE = 3,
};
/// op: enum cshim_epoll_op. 0 or -errno.
int cshim_epoll_ctl(int ep, int op, int fd, uint32_t events, uint64_t token);
/// epoll_wait into `out` (max <= 512): count, 0 on timeout/EINTR, or -errno.
int cshim_epoll_wait(int ep, struct cshim_epoll_ready *out, int max, int timeout_ms);

/// shutdown(fd, SHUT_WR): 0 or -errno.
int cshim_fwd_shutdown_write(int fd);

#ifdef __cplusplus
}
#endif
