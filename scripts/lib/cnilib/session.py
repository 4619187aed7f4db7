"""The rootless session.

A pause process (`unshare --user --map-root-user --mount --propagation slave
sleep infinity`, detached with setsid) holds a user namespace in which the
calling user is uid 0, and a mount namespace owned by it. Its pid and start
time are kept in $XDG_RUNTIME_DIR/cnitool-session.pid and checked before every
use (alive, same start time, owned by us, in another user namespace).

`exec` enters with
  nsenter --target PID --user --mount --preserve-credentials -S 0 -G 0 --wd=CWD
Without --preserve-credentials nsenter calls setgroups(), which a
--map-root-user namespace denies (/proc/PID/setgroups is "deny"), so it fails
with "setgroups failed: Operation not permitted"; and entering a mount
namespace resets the cwd to "/", hence --wd.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from . import netns, userns
from .errors import ToolError

PIDFILE = "cnitool-session.pid"
SBIN = ("/usr/sbin", "/sbin")


def _pidfile() -> str:
    return os.path.join(userns.runtime_dir(), PIDFILE)


def _starttime(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is field 3 (state); starttime is field 22.
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _ns(pid: int | str, kind: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None


def _tool(name: str) -> str:
    path = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/bin:/bin:" + ":".join(SBIN))
    if not path:
        raise ToolError(f"{name} not found (util-linux)")
    return path


def find() -> int | None:
    """The verified pause pid, or None."""
    try:
        with open(_pidfile()) as f:
            pid_s, start = f.read().split()[:2]
        pid = int(pid_s)
    except (OSError, ValueError):
        return None
    if _starttime(pid) != start:
        return None
    try:
        if os.stat(f"/proc/{pid}").st_uid != os.getuid():
            return None
    except OSError:
        return None
    user = _ns(pid, "user")
    if user is None or user == _ns("self", "user") and userns.in_initial_userns():
        return None
    return pid


def in_session(pid: int) -> bool:
    """Are we already inside that session's namespaces?"""
    return _ns("self", "user") == _ns(pid, "user") and _ns("self", "mnt") == _ns(pid, "mnt")


def missing_runtime_dir(rundir: str, why: str) -> str:
    """What to do when the runtime dir (usually made by logind at login) is missing."""
    given = "XDG_RUNTIME_DIR" in os.environ and os.environ["XDG_RUNTIME_DIR"] == rundir
    return (f"session start: the runtime dir {rundir} does not exist and cannot be created ({why}).\n"
            f"  It is made by logind when you log in; without one (su, sudo -u, a container, CI):\n"
            + ("" if given else "  - set XDG_RUNTIME_DIR to a directory you own, mode 0700, e.g.\n"
               "      mkdir -m 700 -p /tmp/rt-$(id -u) && export XDG_RUNTIME_DIR=/tmp/rt-$(id -u)\n")
            + ("  - fix XDG_RUNTIME_DIR: it names a directory that does not exist\n" if given else "")
            + "  - or as root: cnitool --user NAME session start (creates /run/user/UID for NAME)")


def start() -> int:
    pid = find()
    if pid is not None:
        return pid
    if not userns.in_initial_userns():
        raise ToolError("session start: already inside a user namespace")
    rundir = userns.runtime_dir()
    if not os.path.isdir(rundir):
        try:
            os.makedirs(rundir, mode=0o700)
        except OSError as e:
            raise ToolError(missing_runtime_dir(rundir, e.strerror))
    argv = [_tool("unshare"), "--user", "--map-root-user", "--mount", "--propagation", "slave",
            _tool("sleep"), "infinity"]
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=errf, start_new_session=True, close_fds=True, cwd="/")
        deadline = time.monotonic() + 10
        host_user = _ns("self", "user")
        while True:
            if proc.poll() is not None:
                errf.seek(0)
                msg = errf.read().decode(errors="replace").strip()
                raise ToolError(f"session start: {' '.join(argv)} exited with {proc.returncode}: {msg}")
            try:
                with open(f"/proc/{proc.pid}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                comm = ""
            # comm becomes "sleep" once unshare has set up everything and exec'd.
            if comm == "sleep" and _ns(proc.pid, "user") != host_user:
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise ToolError("session start: pause process did not come up in 10s")
            time.sleep(0.02)
    start_time = _starttime(proc.pid)
    tmp = _pidfile() + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{proc.pid} {start_time}\n")
    os.replace(tmp, _pidfile())
    # Forget the child: it outlives us and is reparented.
    proc.returncode = 0
    return proc.pid


def stop() -> int | None:
    """Kill the pause process; its mount namespace (and every netns bind
    mount in it) goes away. Returns the pid that was stopped, if any."""
    pid = find()
    if pid is not None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while _starttime(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        if _starttime(pid) is not None:
            raise ToolError(f"session stop: pause process {pid} did not exit")
    rundir = userns.runtime_dir()
    netns.cleanup_registered(rundir)
    try:
        os.unlink(_pidfile())
    except FileNotFoundError:
        pass
    return pid


def status() -> dict:
    pid = find()
    return {"running": pid is not None, "pid": pid, "runtimeDir": userns.runtime_dir(),
            "netnsDir": os.path.join(userns.runtime_dir(), "netns"), "uid": os.getuid()}


def session_env(extra: list[str]) -> dict:
    """PATH (+/usr/sbin:/sbin), HOME, USER, LOGNAME, XDG_RUNTIME_DIR, CNI_*,
    NETCONFPATH, CAP_ARGS, CNITOOL_*, locale, plus --env K=V."""
    env = {}
    for k, v in os.environ.items():
        if k.startswith(("CNI_", "CNITOOL_", "LC_")) or k in (
                "HOME", "USER", "LOGNAME", "NETCONFPATH", "CAP_ARGS", "LANG", "TERM", "TZ", "SHELL"):
            env[k] = v
    path = [p for p in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(":") if p]
    path += [p for p in SBIN if p not in path]
    env["PATH"] = ":".join(path)
    env["XDG_RUNTIME_DIR"] = userns.runtime_dir()
    for kv in extra:
        if "=" not in kv or kv.startswith("="):
            raise ToolError(f"--env wants K=V, got {kv!r}")
        k, v = kv.split("=", 1)
        env[k] = v
    return env


def exec_in(cmd: list[str], extra_env: list[str]) -> None:
    """Replace this process with `cmd` inside the session (uid 0 there, cwd
    kept when the user can reach it)."""
    pid = find()
    if pid is None:
        raise ToolError(f"no rootless session for uid {os.getuid()} "
                        f"(no live pause process in {_pidfile()}): run `cnitool session start`")
    env = session_env(extra_env)
    if not cmd:
        cmd = [os.environ.get("SHELL") or "/bin/sh"]
    try:
        cwd = os.getcwd()
        if not os.access(cwd, os.X_OK):
            cwd = "/"
    except OSError:
        cwd = "/"
    sys.stdout.flush()
    sys.stderr.flush()
    if in_session(pid):
        os.chdir(cwd)
        _exec(cmd, env)
    argv = [_tool("nsenter"), f"--target={pid}", "--user", "--mount", "--preserve-credentials",
            "--setuid=0", "--setgid=0", f"--wd={cwd}", "--"] + cmd
    _exec(argv, env)


def _exec(argv: list[str], env: dict) -> None:
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as e:
        raise ToolError(f"cannot execute {argv[0]}: {e.strerror}", 127)


def describe() -> str:
    return json.dumps(status())
