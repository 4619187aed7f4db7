#!/usr/bin/env python3
# A fake CNI delegate for chain tests, installed by the tests under several names
# (Tests/IntegrationTests/Support/FakeDelegate.swift). It records every run and prints a valid
# result; its config decides how it misbehaves.
#
# Each run appends one JSON line to calls.jsonl next to it:
#   {"plugin": <file name>, "command": CNI_COMMAND, "containerID": CNI_CONTAINERID,
#    "stdin": <config object>, "env": <its whole exec environment>}
# (read from /proc/self/environ: python's locale coercion cannot add to it), in one write().
#
# Config keys, in the order they are looked at:
#   VERSION: supported versions 0.3.0 ... 1.1.0;
#   relHang COMMAND: sleep 120 s on that command;
#   fakeExit N (fakeMsg): CNI error JSON with code N, exit N (every command);
#   relExit N (relMsg): the same, on the relOn command (default every command);
#   relFailStatus N: STATUS fails with code N;
#   relFailOnce COMMAND: that command fails (code 11) the first time for each container (a marker
#        file failonce-CONTAINERID next to it), then goes on: a transient failure;
#   relSwapFrom, relSwapTo PATHS: ADD moves relSwapFrom aside (to .moved) and puts a symlink to
#        relSwapTo in its place, as another user who can write its parent would mid-ADD, then fails
#        with code 11 (the plugin rolls back);
#   relGarbage TEXT (relGarbageExit N): ADD prints TEXT instead of a result, exits N (default 0);
#   ADD: prevResult when given, else one interface (fakeIfname or CNI_IFNAME, sandbox CNI_NETNS)
#        and the IP fakeAddress / relAddress (default 10.99.0.2/24), in the config's cniVersion;
#   other commands: no output.
import json, os, sys, time
raw = sys.stdin.read()
try:
    conf = json.loads(raw) if raw.strip() else {}
except ValueError:
    conf = {"unparsable": raw[:200]}
name = os.path.basename(__file__)
here = os.path.dirname(os.path.abspath(__file__))
with open("/proc/self/environ", "rb") as f:
    env = dict(kv.split("=", 1) for kv in f.read().decode(errors="replace").split("\0") if "=" in kv)
cmd = env.get("CNI_COMMAND", "")
log = os.path.join(here, "calls.jsonl")
line = json.dumps({"plugin": name, "command": cmd, "containerID": env.get("CNI_CONTAINERID", ""),
                   "stdin": conf, "env": env}) + "\n"
# One write on an O_APPEND fd: lines of parallel runs never interleave.
fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
try:
    os.write(fd, line.encode())
finally:
    os.close(fd)
version = conf.get("cniVersion", "1.0.0")


def fail(code, msg):
    print(json.dumps({"cniVersion": version, "code": code, "msg": msg, "details": "from " + name}))
    sys.exit(code)


if cmd == "VERSION":
    print(json.dumps({"cniVersion": version, "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]}))
    sys.exit(0)
if conf.get("relHang") == cmd:
    time.sleep(120)
if "fakeExit" in conf:
    fail(int(conf["fakeExit"]), conf.get("fakeMsg", "fake failure"))
on = conf.get("relOn")
if "relExit" in conf and (on is None or on == cmd):
    fail(int(conf["relExit"]), conf.get("relMsg", "rel failure"))
if conf.get("relFailOnce") == cmd:
    marker = os.path.join(here, "failonce-" + env.get("CNI_CONTAINERID", ""))
    if not os.path.exists(marker):
        open(marker, "w").close()
        fail(11, "transient " + cmd + " failure")
if "relSwapFrom" in conf and cmd == "ADD":
    src, dst = conf["relSwapFrom"], conf["relSwapTo"]
    if not os.path.islink(src):
        os.rename(src, src + ".moved")
        os.symlink(dst, src)
    fail(11, "swapped")
if cmd == "STATUS" and "relFailStatus" in conf:
    print(json.dumps({"cniVersion": version, "code": int(conf["relFailStatus"]), "msg": "delegate unavailable"}))
    sys.exit(1)
if "relGarbage" in conf and cmd == "ADD":
    sys.stdout.write(conf["relGarbage"])
    sys.exit(int(conf.get("relGarbageExit", 0)))
if cmd == "ADD":
    if "prevResult" in conf:
        print(json.dumps(conf["prevResult"]))
    else:
        ip = {"address": conf.get("fakeAddress", conf.get("relAddress", "10.99.0.2/24")), "interface": 0}
        if version < "1.0.0":
            ip["version"] = "4"
        print(json.dumps({"cniVersion": version,
                          "interfaces": [{"name": conf.get("fakeIfname", env.get("CNI_IFNAME", "")),
                                          "sandbox": env.get("CNI_NETNS", "")}],
                          "ips": [ip]}))
