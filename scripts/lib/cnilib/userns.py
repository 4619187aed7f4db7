"""Who we are: user namespace, runtime dir, switching to another user."""

from __future__ import annotations

import os
import pwd

from .errors import ToolError


def _uid_map() -> list[tuple[int, int, int]]:
    try:
        with open("/proc/self/uid_map") as f:
            return [tuple(int(x) for x in line.split()) for line in f if line.strip()]
    except OSError:
        return []


def in_initial_userns() -> bool:
    """True in the host's user namespace (uid_map is the identity over all
    4294967295 ids); False inside any user namespace we created."""
    return _uid_map() == [(0, 0, 4294967295)]


def real_uid() -> int:
    """The uid on the host: inside a rootless session uid 0 maps to it."""
    if in_initial_userns():
        return os.getuid()
    for inside, outside, count in _uid_map():
        if inside <= os.getuid() < inside + count:
            return outside + (os.getuid() - inside)
    return os.getuid()


def is_host_root() -> bool:
    return os.geteuid() == 0 and in_initial_userns()


def runtime_dir() -> str:
    """$XDG_RUNTIME_DIR, else /run/user/<host uid>."""
    return os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{real_uid()}"


def switch_user(name: str) -> None:
    """Become `name` in this process (root only): supplementary groups, gid,
    uid; HOME/USER/LOGNAME/XDG_RUNTIME_DIR=/run/user/UID in os.environ, the
    runtime dir created 0700 and owned by the user if missing. A no-op when
    we already are that user."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        raise ToolError(f"no such user: {name}")
    if os.geteuid() == pw.pw_uid:
        os.environ.setdefault("XDG_RUNTIME_DIR", f"/run/user/{pw.pw_uid}")
        return
    if os.geteuid() != 0:
        raise ToolError(f"--user {name}: only root can switch to another user")
    rundir = f"/run/user/{pw.pw_uid}"
    if not os.path.isdir(rundir):
        os.makedirs("/run/user", mode=0o755, exist_ok=True)
        os.mkdir(rundir, 0o700)
        os.chown(rundir, pw.pw_uid, pw.pw_gid)
    try:
        os.setgroups(os.getgrouplist(name, pw.pw_gid))
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    except OSError as e:
        raise ToolError(f"cannot switch to user {name}: {e.strerror}")
    keep = {k: v for k, v in os.environ.items()
            if k.startswith(("CNI_", "CNITOOL_", "LC_")) or k in
            ("PATH", "NETCONFPATH", "CAP_ARGS", "LANG", "TERM", "TZ")}
    os.environ.clear()
    os.environ.update(keep)
    os.environ.update({"HOME": pw.pw_dir, "USER": name, "LOGNAME": name,
                       "XDG_RUNTIME_DIR": rundir, "SHELL": pw.pw_shell or "/bin/sh"})
    os.environ.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    try:
        cwd_ok = os.access(os.getcwd(), os.R_OK | os.X_OK)
    except OSError:
        cwd_ok = False
    if not cwd_ok:
        os.chdir(pw.pw_dir if os.path.isdir(pw.pw_dir) else "/")
