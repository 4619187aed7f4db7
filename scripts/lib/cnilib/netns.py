"""Named persistent network namespaces.

As root in the host's user namespace: /run/netns/NAME via `ip netns add`
(so `ip netns exec NAME` works). Otherwise (inside a rootless session):
$XDG_RUNTIME_DIR/netns/NAME, an empty file with a new netns bind-mounted on
it by `unshare --net=FILE true`; the bind mount lives in the session's
mount namespace, so it disappears with the session.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import subprocess

from . import userns
from .errors import ToolError

MNT_DETACH = 2
REGISTRY = "cnitool-session.netns"   # names made in the session, under $XDG_RUNTIME_DIR
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def netns_dir() -> str:
    if userns.is_host_root():
        return "/run/netns"
    return os.path.join(userns.runtime_dir(), "netns")


def check_name(name: str) -> None:
    if not _NAME_RE.match(name) or len(name) > 200:
        raise ToolError(f"invalid netns name {name!r}")


def path_of(name: str) -> str:
    check_name(name)
    return os.path.join(netns_dir(), name)


def _unescape(s: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def is_mountpoint(path: str) -> bool:
    try:
        with open("/proc/self/mountinfo") as f:
            return any(_unescape(line.split()[4]) == path for line in f)
    except OSError:
        return False


def _run(argv: list[str], what: str) -> None:
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
    except FileNotFoundError:
        raise ToolError(f"{what}: {argv[0]} not found")
    except subprocess.TimeoutExpired:
        raise ToolError(f"{what}: {argv[0]} timed out")
    if p.returncode != 0:
        raise ToolError(f"{what}: {' '.join(argv)}: {p.stderr.decode(errors='replace').strip()}")


def _registry_path() -> str:
    return os.path.join(userns.runtime_dir(), REGISTRY)


def _registry_update(name: str, present: bool) -> None:
    path = _registry_path()
    try:
        with open(path) as f:
            names = [n for n in f.read().split() if n]
    except OSError:
        names = []
    names = [n for n in names if n != name] + ([name] if present else [])
    with open(path, "w") as f:
        f.write("".join(n + "\n" for n in names))


def add(name: str) -> str:
    path = path_of(name)
    if userns.is_host_root():
        if os.path.exists(path):
            raise ToolError(f'cannot create namespace file "{path}": File exists')
        _run(["ip", "netns", "add", name], f"netns add {name}")
        return path
    if userns.in_initial_userns():
        raise ToolError("rootless netns needs the session: run `cnitool session start`, then "
                        "`cnitool --rootless netns add NAME`")
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    if is_mountpoint(path):
        raise ToolError(f'cannot create namespace file "{path}": File exists')
    # A leftover empty file (from a stopped session) is reused.
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)
    os.close(fd)
    try:
        _run(["unshare", f"--net={path}", "true"], f"netns add {name}")
    except ToolError:
        try:
            os.unlink(path)
        except OSError:
            pass
        raise
    _registry_update(name, True)
    return path


def delete(name: str) -> None:
    """umount + rm; fine when already gone."""
    path = path_of(name)
    libc = ctypes.CDLL(None, use_errno=True)
    while is_mountpoint(path):
        if libc.umount2(path.encode(), MNT_DETACH) != 0:
            err = ctypes.get_errno()
            if err in (errno.EINVAL, errno.ENOENT):
                break
            raise ToolError(f"netns del {name}: umount {path}: {os.strerror(err)}")
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise ToolError(f"netns del {name}: rm {path}: {e.strerror}")
    if not userns.is_host_root():
        try:
            _registry_update(name, False)
        except OSError:
            pass


def list_names() -> list[str]:
    try:
        return sorted(n for n in os.listdir(netns_dir()) if not n.startswith("."))
    except OSError:
        return []


def cleanup_registered(rundir: str) -> None:
    """After the session is gone: remove the (now plain, empty) files of the
    namespaces made in it. Other files in the dir (podman's) are left."""
    reg = os.path.join(rundir, REGISTRY)
    try:
        with open(reg) as f:
            names = f.read().split()
    except OSError:
        return
    for n in names:
        if not _NAME_RE.match(n):
            continue
        p = os.path.join(rundir, "netns", n)
        try:
            if os.path.isfile(p) and os.path.getsize(p) == 0 and not is_mountpoint(p):
                os.unlink(p)
        except OSError:
            pass
    try:
        os.unlink(reg)
    except OSError:
        pass
