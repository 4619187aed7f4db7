// Open-file-description byte-range locks (fcntl F_OFD_SETLK[W], Linux >= 3.15): like flock(2)
// they belong to the open file description (inherited across fork/exec, released when its last
// fd closes), unlike flock they lock byte ranges, so one file holds many independent locks.
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What cshim_ofd_lock does to the range.
enum cshim_lock_kind {
    CSHIM_LOCK_UNLOCK = 0,       // F_UNLCK
    CSHIM_LOCK_SHARED = 1,       // F_RDLCK
    CSHIM_LOCK_EXCLUSIVE = 2,    // F_WRLCK
};

/// Lock bytes [start, start+len) of `fd` as `kind` (enum cshim_lock_kind); `wait` blocks
/// (F_OFD_SETLKW), else F_OFD_SETLK. 0, or -1 with errno (EAGAIN when the range is held and !wait).
int cshim_ofd_lock(int fd, int64_t start, int64_t len, int kind, int wait);

/// What cshim_lock_wait waits for.
enum cshim_lock_wait_kind {
    CSHIM_LOCKWAIT_FLOCK = 0,   // flock(LOCK_EX) on the whole file
    CSHIM_LOCKWAIT_BYTE_SHARED = 1,       // OFD F_RDLCK of one byte
    CSHIM_LOCKWAIT_BYTE_EXCLUSIVE = 2,    // OFD F_WRLCK of one byte
};

/// Blocks for a lock for at most `timeout_ms` (> 0): `ofd_kind` (enum cshim_lock_wait_kind) says
/// which: flock(LOCK_EX) on `fd`, or the shared/exclusive OFD lock of byte `start`. The kernel wakes the waiter the moment the
/// holder lets go (polling left the lock idle between polls). The bound is a per-call POSIX
/// timer that sends SIGALRM to the calling thread only, then every 20 ms until the call returns
/// (a signal that lands before the thread blocks is not lost; a no-op handler without SA_RESTART,
/// installed process-wide): -1 with errno EINTR then (also for any other signal), else 0 or -1
/// with the call's errno.
int cshim_lock_wait(int fd, int ofd_kind, int64_t start, int timeout_ms);

#ifdef __cplusplus
}
#endif
