#define _GNU_SOURCE
#include "cshim_forward.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int cshim_fwd_bind(const char *ip, int port, int type) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    int family;
    if (ip == NULL || ip[0] == '\0') ip = "0.0.0.0";
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        family = v4->sin_family = AF_INET;
        v4->sin_port = htons((unsigned short)port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
        family = v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((unsigned short)port);
        len = sizeof *v6;
    } else {
        return -EINVAL;
    }
    int fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    int one = 1;
    if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || (type == SOCK_STREAM && listen(fd, 511) != 0)) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

long cshim_fwd_raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -errno;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return -errno;
    return (long)rl.rlim_cur;
}

int cshim_fwd_make_addr(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    if (ip == NULL || ip[0] == '\0') ip = "0.0.0.0";
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((unsigned short)port);
        *len = sizeof *v4;
        return AF_INET;
    }
    if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((unsigned short)port);
        *len = sizeof *v6;
        return AF_INET6;
    }
    return -EINVAL;
}

int cshim_fwd_addr_text(const struct sockaddr_storage *ss, char *buf, size_t buflen, int *port) {
    const void *src;
    if (ss->ss_family == AF_INET) {
        src = &((const struct sockaddr_in *)ss)->sin_addr;
        *port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        src = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        *port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    } else {
        return -EAFNOSUPPORT;
    }
    return inet_ntop(ss->ss_family, src, buf, (socklen_t)buflen) ? 0 : -errno;
}

int cshim_fwd_addr_is_loopback(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

int cshim_fwd_addr_in_subnet(const struct sockaddr_storage *ss, const char *ip, int prefix) {
    struct sockaddr_storage net;
    socklen_t len;
    int family = cshim_fwd_make_addr(ip, 0, &net, &len);
    if (family < 0 || family != ss->ss_family || prefix < 0) return 0;
    const unsigned char *a, *b;
    int bits;
    if (family == AF_INET) {
        a = (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr;
        b = (const unsigned char *)&((const struct sockaddr_in *)&net)->sin_addr;
        bits = 32;
    } else {
        a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
        b = ((const struct sockaddr_in6 *)&net)->sin6_addr.s6_addr;
        bits = 128;
    }
    if (prefix > bits) prefix = bits;
    for (int i = 0; i < prefix; i++) {
        unsigned char m = (unsigned char)(0x80 >> (i % 8));
        if ((a[i / 8] & m) != (b[i / 8] & m)) return 0;
    }
    return 1;
}

int cshim_fwd_accept(int fd, struct sockaddr_storage *peer, socklen_t *len) {
    *len = sizeof *peer;
    int c = accept4(fd, (struct sockaddr *)peer, len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    return c < 0 ? -errno : c;
}

int cshim_fwd_connect(const struct sockaddr_storage *dst, socklen_t dstlen,
                      const struct sockaddr_storage *src, socklen_t srclen, int type, uint32_t mark,
                      int keep_port) {
    int fd = socket(dst->ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    if (src != NULL) {
        int one = 1;
        struct sockaddr_storage from = *src;
        if (!keep_port) {
            if (from.ss_family == AF_INET) ((struct sockaddr_in *)&from)->sin_port = 0;
            else ((struct sockaddr_in6 *)&from)->sin6_port = 0;
        }
        int r = from.ss_family == AF_INET6
            ? setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof one)
            : setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof one);
        if (r == 0 && mark != 0) r = setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark);
        if (r == 0 && !keep_port) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        // One client socket talking to two mappings: two flows on the same address and port,
        // told apart by the container address they are connected to.
        if (r == 0 && keep_port) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (r == 0) r = bind(fd, (const struct sockaddr *)&from, srclen);
        if (r != 0) {
            int err = errno;
            close(fd);
            return -err;
        }
    }
    if (connect(fd, (const struct sockaddr *)dst, dstlen) != 0 && errno != EINPROGRESS) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

long cshim_fwd_splice(int in, int out, size_t len) {
    ssize_t n;
    do { n = splice(in, NULL, out, NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (long)n;
}

int cshim_fwd_pipe(int fds[2], int size) {
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return -errno;
    if (size > 0) (void)fcntl(fds[0], F_SETPIPE_SZ, size);
    int got = fcntl(fds[0], F_GETPIPE_SZ);
    return got > 0 ? got : 65536;
}

long cshim_fwd_recvfrom(int fd, void *buf, size_t len, struct sockaddr_storage *peer, socklen_t *plen) {
    *plen = sizeof *peer;
    ssize_t n;
    do { n = recvfrom(fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)peer, plen); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (long)n;
}

long cshim_fwd_sendto(int fd, const void *buf, size_t len, const struct sockaddr_storage *peer, socklen_t plen) {
    ssize_t n;
    do { n = sendto(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT, (const struct sockaddr *)peer, plen); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (long)n;
}

long cshim_fwd_recv(int fd, void *buf, size_t len) {
    ssize_t n;
    do { n = recv(fd, buf, len, MSG_DONTWAIT); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (long)n;
}

long cshim_fwd_send(int fd, const void *buf, size_t len) {
    ssize_t n;
    do { n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (long)n;
}

int cshim_fwd_shutdown_write(int fd) {
    return shutdown(fd, SHUT_WR) == 0 ? 0 : -errno;
}

int cshim_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int cshim_epoll_ctl(int ep, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event ev = {.events = events, .data.u64 = token};
    int kop = op == CSHIM_EPOLL_ADD ? EPOLL_CTL_ADD : op == CSHIM_EPOLL_MODIFY ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
    return epoll_ctl(ep, kop, fd, &ev) == 0 ? 0 : -errno;
}

int cshim_epoll_wait(int ep, struct cshim_epoll_ready *out, int max, int timeout_ms) {
    struct epoll_event evs[512];
    if (max > 512) max = 512;
    int n = epoll_wait(ep, evs, max, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        out[i].token = evs[i].data.u64;
        out[i].events = evs[i].events;
    }
    return n;
}
