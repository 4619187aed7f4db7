// The port forwarder's C pieces: host sockets bound for forwarding.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/// A bound (SOCK_STREAM: listening, SO_REUSEADDR) socket on ip:port, SOCK_CLOEXEC|SOCK_NONBLOCK;
/// "" is any IPv4 address. IPv6 sockets are IPV6_V6ONLY, so "::" and "0.0.0.0" are separate
/// mappings. Returns the fd or -errno.
int cshim_fwd_bind(const char *ip, int port, int type);

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit or -errno.
long cshim_fwd_raise_nofile(void);

#ifdef __cplusplus
}
#endif
