#define _GNU_SOURCE
#include "cshim_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int make_addr(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len) {
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

int cshim_inet_bind(const char *ip, int port, int type, int nonblock) {
    struct sockaddr_storage ss;
    socklen_t len;
    int family = make_addr(ip, port, &ss, &len);
    if (family < 0) return family;
    int fd = socket(family, type | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) return -errno;
    int one = 1;
    if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || (type == SOCK_STREAM && listen(fd, 128) != 0)) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int cshim_inet_connect(const char *ip, int port, int type) {
    struct sockaddr_storage ss;
    socklen_t len;
    int family = make_addr(ip, port, &ss, &len);
    if (family < 0) return family;
    int fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int cshim_send_fd(int sock, int fd, const void *buf, size_t len) {
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    for (;;) {
        if (sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0) return 0;
        if (errno != EINTR) return -errno;
    }
}

long cshim_recv_fd(int sock, void *buf, size_t len, int *fd_out) {
    *fd_out = -1;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    union { char buf[CMSG_SPACE(sizeof(int) * 4)]; struct cmsghdr align; } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            int fds[4];
            memcpy(fds, CMSG_DATA(c), sizeof(int) * (count > 4 ? 4 : count));
            for (int i = 0; i < count && i < 4; i++) {
                if (*fd_out < 0) *fd_out = fds[i]; else close(fds[i]);
            }
        }
    }
    return (long)n;
}

int cshim_socket_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
}

int cshim_accept(int fd, int nonblock) {
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0));
    return c < 0 ? -errno : c;
}

long cshim_send(int fd, const void *buf, size_t len) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    return n < 0 ? -errno : (long)n;
}

long cshim_sendto(int fd, const void *buf, size_t len, const struct sockaddr *addr, socklen_t addrlen) {
    ssize_t n = sendto(fd, buf, len, MSG_NOSIGNAL, addr, addrlen);
    return n < 0 ? -errno : (long)n;
}
