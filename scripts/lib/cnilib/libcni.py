"""What libcni (containernetworking/cni v1.1.x, libcni/api.go + conf.go) does
with a network configuration list, reimplemented for a test harness.

Faithful points (checked against libcni/api.go):
  * every plugin's stdin = its own config with `name` and `cniVersion` of the
    list injected, `prevResult` when there is one, and `runtimeConfig` holding
    only the capability args the plugin declares `true` in `capabilities`
    (an injected runtimeConfig replaces one written in the file, as InjectConf
    does);
  * env: the caller's environment plus CNI_COMMAND, CNI_CONTAINERID,
    CNI_NETNS, CNI_ARGS, CNI_IFNAME, CNI_PATH (always all six, maybe empty);
  * ADD runs plugins in order threading prevResult, then writes the cache
    `<cacheDir>/results/<network>-<containerID>-<ifname>` (dir 0700, file
    0600) as Go's encoding/json would marshal libcni 1.1.x's `cachedInfo`
    (no `netns` field: that arrived in libcni 1.2);
  * DEL runs plugins in reverse with prevResult = the cached result when the
    config is >= 0.4.0, then removes the cache file;
  * CHECK (>= 0.4.0, honours disableCheck) runs plugins in order with
    prevResult = the cached result;
  * GC/STATUS (>= 1.1.0) get only name/cniVersion (and for GC
    `cni.dev/valid-attachments`) injected, and CNI_COMMAND/CNI_PATH.
Deliberate differences: CHECK fails when there is no cached result; a plugin
error is printed as JSON on stdout and its exit status is ours.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

from .errors import ToolError

CACHE_KIND = "cniCacheV1"
# libcni 1.1.x's version.Current(): what VERSION is asked with.
CURRENT_VERSION = "1.0.0"
DEFAULT_CNI_PATH = "/usr/lib/cni:/opt/cni/bin"
DEFAULT_NETCONFPATH = "/etc/cni/net.d"
DEFAULT_CACHE_DIR = "/var/lib/cni"

_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$")


# --------------------------------------------------------------------------
# versions


def parse_version(v: str) -> tuple[int, int, int]:
    """"0.4.0" -> (0, 4, 0). A missing version counts as 0.1.0, as in CNI."""
    if not v:
        return (0, 1, 0)
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", v)
    if not m:
        raise ToolError(f"invalid cniVersion {v!r}")
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)))


def version_at_least(v: str, minimum: str) -> bool:
    return parse_version(v) >= parse_version(minimum)


# --------------------------------------------------------------------------
# Go-compatible JSON encoding (what encoding/json.Marshal produces)


def go_json(value) -> str:
    """Compact JSON with sorted map keys and Go's HTML-safe escapes.

    Go marshals map[string]interface{} with sorted keys and escapes <, >, &,
    U+2028 and U+2029. Struct field order is the caller's (dicts keep order):
    pass a dict whose keys must be sorted through `_sorted`.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029"))


def _sorted(value):
    """Recursively sort dict keys (Go map marshalling order)."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


# --------------------------------------------------------------------------
# configuration


class NetworkConfigList:
    """A parsed conflist: `name`, `cni_version`, `plugins` (list of dicts),
    `disable_check`, and `raw` (the bytes libcni caches)."""

    def __init__(self, raw: bytes, source: str):
        self.raw = raw
        self.source = source
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise ToolError(f"error parsing configuration list {source}: {e}")
        if not isinstance(doc, dict):
            raise ToolError(f"error parsing configuration list {source}: not a JSON object")
        name = doc.get("name")
        if not isinstance(name, str) or not name:
            raise ToolError(f"error parsing configuration list {source}: no name")
        version = doc.get("cniVersion", "")
        if not isinstance(version, str):
            raise ToolError(f"error parsing cniVersion in {source}: invalid type")
        parse_version(version)
        plugins = doc.get("plugins")
        if not isinstance(plugins, list) or not plugins:
            raise ToolError(f"error parsing configuration list {source}: no plugins in list")
        for i, p in enumerate(plugins):
            if not isinstance(p, dict):
                raise ToolError(f"{source}: plugin {i} is not a JSON object")
            if not isinstance(p.get("type"), str) or not p["type"]:
                raise ToolError(f"{source}: plugin {i}: error parsing configuration: missing 'type'")
        disable_check = doc.get("disableCheck", False)
        if isinstance(disable_check, str):
            disable_check = disable_check.lower() == "true"
        self.name: str = name
        self.cni_version: str = version
        self.plugins: list[dict] = plugins
        self.disable_check: bool = bool(disable_check)

    @staticmethod
    def from_single_conf(raw: bytes, source: str) -> "NetworkConfigList":
        """libcni ConfListFromConf: wrap a single .conf in a list."""
        try:
            conf = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise ToolError(f"error parsing configuration {source}: {e}")
        if not isinstance(conf, dict):
            raise ToolError(f"error parsing configuration {source}: not a JSON object")
        wrapped = {"cniVersion": conf.get("cniVersion", ""), "name": conf.get("name", ""),
                   "plugins": [conf]}
        return NetworkConfigList(go_json(wrapped).encode(), source)


def load_conflist_file(path: str) -> NetworkConfigList:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ToolError(f"configuration file {path} not found")
    except OSError as e:
        raise ToolError(f"cannot read configuration file {path}: {e.strerror}")
    if path.endswith(".conflist"):
        return NetworkConfigList(raw, path)
    # A .conf/.json, or anything else: a list if it has "plugins".
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ToolError(f"error parsing configuration {path}: {e}")
    if isinstance(doc, dict) and "plugins" in doc:
        return NetworkConfigList(raw, path)
    return NetworkConfigList.from_single_conf(raw, path)


def load_conflist_by_name(netdir: str, name: str) -> NetworkConfigList:
    """libcni LoadConfList: *.conflist first, then *.conf/*.json, sorted."""
    try:
        entries = sorted(os.listdir(netdir))
    except FileNotFoundError:
        raise ToolError(f"no net configurations found in {netdir}")
    except OSError as e:
        raise ToolError(f"cannot read {netdir}: {e.strerror}")
    for exts in ((".conflist",), (".conf", ".json")):
        for entry in entries:
            if not entry.endswith(exts):
                continue
            path = os.path.join(netdir, entry)
            try:
                with open(path, "rb") as f:
                    doc = json.loads(f.read())
            except (OSError, ValueError, UnicodeDecodeError):
                continue
            if isinstance(doc, dict) and doc.get("name") == name:
                return load_conflist_file(path)
    raise ToolError(f'no net configuration with name "{name}" in {netdir}')


# --------------------------------------------------------------------------
# runtime configuration


class RuntimeConf:
    def __init__(self, container_id: str, netns: str, ifname: str,
                 args: list[list[str]] | None = None, capability_args: dict | None = None):
        self.container_id = container_id
        self.netns = netns
        self.ifname = ifname
        self.args = args or []
        self.capability_args = capability_args or {}
        # False: the caller did not give them (reuse_cached_args may fill in).
        self.args_given = True
        self.cap_args_given = True


def container_id_for_netns(netns: str) -> str:
    """Upstream cnitool: "cnitool-" + hex of the first 10 bytes of
    sha512(absolute netns path)."""
    digest = hashlib.sha512(os.path.abspath(netns).encode()).digest()
    return "cnitool-" + digest[:10].hex()


def parse_cni_args(value: str) -> list[list[str]]:
    """Upstream cnitool parseArgs: "K=V;K=V", every pair exactly one '='."""
    result = []
    if not value:
        return result
    for pair in value.split(";"):
        kv = pair.split("=")
        if len(kv) != 2 or not kv[0] or not kv[1]:
            raise ToolError(f'invalid CNI_ARGS pair "{pair}"')
        result.append([kv[0], kv[1]])
    return result


def parse_capability_args(value: str) -> dict:
    if not value:
        return {}
    try:
        doc = json.loads(value)
    except ValueError as e:
        raise ToolError(f"invalid capability args JSON: {e}")
    if not isinstance(doc, dict):
        raise ToolError("capability args must be a JSON object")
    return doc


def validate_runtime(name: str, rt: RuntimeConf) -> None:
    """libcni utils.ValidateContainerID/NetworkName/InterfaceName."""
    if not rt.container_id:
        raise ToolError("missing containerID")
    if not _NAME_RE.match(rt.container_id):
        raise ToolError(f"invalid characters in containerID: {rt.container_id!r}")
    if not name:
        raise ToolError("missing network name")
    if not _NAME_RE.match(name):
        raise ToolError(f"invalid characters found in network name: {name!r}")
    validate_ifname(rt.ifname)


def validate_ifname(ifname: str) -> None:
    if not ifname:
        raise ToolError("interface name is empty")
    if len(ifname) > 15:
        raise ToolError(f"interface name is too long: {ifname!r}")
    if ifname in (".", ".."):
        raise ToolError(f"interface name is . or ..: {ifname!r}")
    if any(c == "/" or c == ":" or c.isspace() for c in ifname):
        raise ToolError(f"interface name contains / or : or whitespace characters: {ifname!r}")


# --------------------------------------------------------------------------
# plugin execution


def find_in_path(plugin: str, paths: list[str]) -> str:
    """libcni invoke.FindInPath."""
    if not plugin:
        raise ToolError("no plugin name provided")
    if "/" in plugin:
        raise ToolError(f"invalid plugin name: {plugin}")
    if not paths:
        raise ToolError("no paths provided")
    for d in paths:
        full = os.path.join(d, plugin)
        if os.path.isfile(full):
            return full
    raise ToolError(f'failed to find plugin "{plugin}" in path [{" ".join(paths)}]')


def plugin_description(conf: dict) -> str:
    out = f'type="{conf.get("type", "")}"'
    if conf.get("name"):
        out += f' name="{conf["name"]}"'
    return out


class Runner:
    """Runs plugins: holds the search path, the cache dir and a timeout."""

    def __init__(self, cni_path: list[str], cache_dir: str, timeout: float | None = None,
                 verbose: bool = False):
        self.cni_path = cni_path
        self.cache_dir = cache_dir
        self.timeout = timeout if timeout and timeout > 0 else None
        self.verbose = verbose

    # -- low level --------------------------------------------------------

    def _env(self, command: str, rt: RuntimeConf | None) -> dict:
        env = dict(os.environ)
        env.update({
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": rt.container_id if rt else "",
            "CNI_NETNS": rt.netns if rt else "",
            "CNI_ARGS": ";".join(f"{k}={v}" for k, v in rt.args) if rt else "",
            "CNI_IFNAME": rt.ifname if rt else "",
            "CNI_PATH": os.pathsep.join(self.cni_path),
        })
        return env

    def exec_plugin(self, path: str, stdin: bytes, env: dict, what: str) -> bytes:
        """Run one plugin; return its stdout. Failure -> ToolError carrying the
        plugin's error JSON (or one we make) and its exit status."""
        if self.verbose:
            print(f"cnitool: {env.get('CNI_COMMAND')} {path} <<< {stdin.decode(errors='replace')}",
                  file=sys.stderr)
        try:
            proc = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=None, env=env, close_fds=True)
        except OSError as e:
            raise ToolError(f"plugin {what}: cannot execute {path}: {e.strerror}")
        try:
            out, _ = proc.communicate(stdin, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            still_running = proc.poll() is None
            if still_running:
                proc.kill()
            proc.wait()
            hint = ("still running" if still_running else
                    "exited, but something it started keeps its stdout open")
            err = {"code": 999, "msg": f"plugin timed out after {self.timeout}s ({hint})"}
            raise ToolError(f"plugin {what}: {err['msg']}", 1, json.dumps(err))
        if proc.returncode != 0:
            status = proc.returncode if proc.returncode > 0 else 128 - proc.returncode
            text = out.decode(errors="replace").strip()
            try:
                doc = json.loads(text)
                if not isinstance(doc, dict):
                    raise ValueError
                msg = doc.get("msg", "")
                if doc.get("details"):
                    msg += f"; {doc['details']}"
                errjson = text
            except ValueError:
                msg = f"netplugin failed with exit status {proc.returncode}"
                if text:
                    msg += f": {text!r}"
                errjson = json.dumps({"code": 999, "msg": msg})
            raise ToolError(f"plugin {what}: {msg}", status, errjson)
        return out

    def _conf_bytes(self, conf: dict) -> bytes:
        return json.dumps(conf).encode()

    def build_one_config(self, clist: NetworkConfigList, plugin: dict,
                         prev_result: dict | None, rt: RuntimeConf | None) -> dict:
        """libcni buildOneConfig + injectRuntimeConfig."""
        conf = dict(plugin)
        conf["name"] = clist.name
        conf["cniVersion"] = clist.cni_version
        if prev_result is not None:
            conf["prevResult"] = prev_result
        if rt is not None:
            caps = plugin.get("capabilities")
            rc = {}
            if isinstance(caps, dict):
                for cap, supported in caps.items():
                    if supported is True and cap in rt.capability_args:
                        rc[cap] = rt.capability_args[cap]
            if rc:
                conf["runtimeConfig"] = rc
        return conf

    # -- cache ------------------------------------------------------------

    def cache_path(self, network: str, rt: RuntimeConf) -> str:
        if not network or not rt.container_id or not rt.ifname:
            raise ToolError(
                f'cache file path requires network name ("{network}"), container ID '
                f'("{rt.container_id}"), and interface name ("{rt.ifname}")')
        return os.path.join(self.cache_dir, "results", f"{network}-{rt.container_id}-{rt.ifname}")

    def reuse_cached_args(self, clist: NetworkConfigList, rt: RuntimeConf) -> None:
        """libcni GetNetworkListCachedConfig: take cniArgs/capabilityArgs from
        the cache for those the caller did not give (rt.*_given False)."""
        try:
            with open(self.cache_path(clist.name, rt), "rb") as f:
                doc = json.loads(f.read())
        except (OSError, ValueError, UnicodeDecodeError, ToolError):
            return
        if not isinstance(doc, dict) or doc.get("kind") != CACHE_KIND:
            return
        if not rt.args_given and isinstance(doc.get("cniArgs"), list):
            rt.args = [list(kv) for kv in doc["cniArgs"] if isinstance(kv, list) and len(kv) == 2]
        if not rt.cap_args_given and isinstance(doc.get("capabilityArgs"), dict):
            rt.capability_args = doc["capabilityArgs"]

    def cache_add(self, clist: NetworkConfigList, rt: RuntimeConf, result: dict) -> None:
        # Field order of libcni 1.1.x cachedInfo; omitempty on the last three.
        cached = {
            "kind": CACHE_KIND,
            "containerId": rt.container_id,
            "config": base64.b64encode(clist.raw).decode(),
            "ifName": rt.ifname,
            "networkName": clist.name,
        }
        if rt.args:
            cached["cniArgs"] = [[k, v] for k, v in rt.args]
        if rt.capability_args:
            cached["capabilityArgs"] = _sorted(rt.capability_args)
        if result:
            cached["result"] = _sorted(result)
        path = self.cache_path(clist.name, rt)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(go_json(cached))
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def cache_del(self, network: str, rt: RuntimeConf) -> None:
        try:
            os.unlink(self.cache_path(network, rt))
        except (FileNotFoundError, ToolError):
            pass

    def cached_result(self, clist: NetworkConfigList, rt: RuntimeConf) -> dict | None:
        """The cached result converted to the list's version; None if absent.
        Raises ToolError if the cache file is unreadable JSON."""
        path = self.cache_path(clist.name, rt)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return None
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise ToolError(f"failed to parse cached result {path}: {e}")
        if isinstance(doc, dict) and doc.get("kind") == CACHE_KIND:
            result = doc.get("result")
        else:
            result = doc  # legacy cache: the file is the result
        if not isinstance(result, dict):
            raise ToolError(f"cached result in {path} is not a JSON object")
        return convert_result(result, clist.cni_version)

    def cached_attachments(self) -> list[dict]:
        """libcni GetCachedAttachments(""): every valid cniCacheV1 entry."""
        d = os.path.join(self.cache_dir, "results")
        try:
            names = sorted(os.listdir(d))
        except OSError:
            return []
        out = []
        for n in names:
            try:
                with open(os.path.join(d, n), "rb") as f:
                    doc = json.loads(f.read())
            except (OSError, ValueError, UnicodeDecodeError):
                continue
            if not isinstance(doc, dict) or doc.get("kind") != CACHE_KIND:
                continue
            if not doc.get("ifName") or not doc.get("networkName"):
                continue
            out.append(doc)
        return out

    # -- operations -------------------------------------------------------

    def add(self, clist: NetworkConfigList, rt: RuntimeConf) -> dict:
        result = None
        for plugin in clist.plugins:
            what = f"{plugin_description(plugin)} failed (add)"
            path = find_in_path(plugin["type"], self.cni_path)
            validate_runtime(clist.name, rt)
            conf = self.build_one_config(clist, plugin, result, rt)
            out = self.exec_plugin(path, self._conf_bytes(conf), self._env("ADD", rt), what)
            try:
                result = json.loads(out)
                if not isinstance(result, dict):
                    raise ValueError("not a JSON object")
            except (ValueError, UnicodeDecodeError) as e:
                raise ToolError(f"plugin {what}: decoding result: {e}: {out[:200]!r}")
        self.cache_add(clist, rt, result)
        return result

    def check(self, clist: NetworkConfigList, rt: RuntimeConf) -> None:
        if not version_at_least(clist.cni_version, "0.4.0"):
            raise ToolError(f'configuration version "{clist.cni_version}" does not support the CHECK command')
        if clist.disable_check:
            return
        cached = self.cached_result(clist, rt)
        if cached is None:
            raise ToolError(f'failed to get network "{clist.name}" cached result: no cache entry '
                            f'{self.cache_path(clist.name, rt)}')
        for plugin in clist.plugins:
            what = f"{plugin_description(plugin)} failed (check)"
            path = find_in_path(plugin["type"], self.cni_path)
            conf = self.build_one_config(clist, plugin, cached, rt)
            self.exec_plugin(path, self._conf_bytes(conf), self._env("CHECK", rt), what)

    def delete(self, clist: NetworkConfigList, rt: RuntimeConf) -> None:
        cached = None
        if version_at_least(clist.cni_version, "0.4.0"):
            try:
                cached = self.cached_result(clist, rt)
            except ToolError as e:
                print(f"cnitool: warning: ignoring unusable cache: {e}", file=sys.stderr)
                cached = None
        for plugin in reversed(clist.plugins):
            what = f"{plugin_description(plugin)} failed (delete)"
            path = find_in_path(plugin["type"], self.cni_path)
            conf = self.build_one_config(clist, plugin, cached, rt)
            self.exec_plugin(path, self._conf_bytes(conf), self._env("DEL", rt), what)
        self.cache_del(clist.name, rt)

    def gc(self, clist: NetworkConfigList, valid: list[dict] | None) -> list[str]:
        """libcni GCNetworkList. `valid` None = every cached attachment of the
        network is valid. Returns error messages (all are attempted)."""
        errors = []
        cached = [a for a in self.cached_attachments() if a.get("networkName") == clist.name]
        if valid is None:
            valid = [{"containerID": a.get("containerId", ""), "ifname": a.get("ifName", "")}
                     for a in cached]
        keep = {(v.get("containerID"), v.get("ifname")) for v in valid}
        for a in cached:
            if (a.get("containerId"), a.get("ifName")) in keep:
                continue
            rt = RuntimeConf(a.get("containerId", ""), attachment_netns(a), a.get("ifName", ""),
                             a.get("cniArgs") or [], a.get("capabilityArgs") or {})
            try:
                self.delete(clist, rt)
            except ToolError as e:
                errors.append(f"failed to delete stale attachment {rt.container_id} {rt.ifname}: {e}")
        if not version_at_least(clist.cni_version, "1.1.0"):
            print(f"cnitool: cniVersion {clist.cni_version or '(none)'} < 1.1.0: plugins not asked to GC",
                  file=sys.stderr)
            return errors
        for plugin in clist.plugins:
            conf = dict(plugin)
            conf["name"] = clist.name
            conf["cniVersion"] = clist.cni_version
            conf["cni.dev/valid-attachments"] = valid
            what = f"{plugin_description(plugin)} failed (gc)"
            try:
                path = find_in_path(plugin["type"], self.cni_path)
                self.exec_plugin(path, self._conf_bytes(conf), self._env("GC", None), what)
            except ToolError as e:
                errors.append(str(e))
        return errors

    def status(self, clist: NetworkConfigList) -> None:
        if not version_at_least(clist.cni_version, "1.1.0"):
            print(f"cnitool: cniVersion {clist.cni_version or '(none)'} < 1.1.0: STATUS not supported, skipped",
                  file=sys.stderr)
            return
        for plugin in clist.plugins:
            conf = dict(plugin)
            conf["name"] = clist.name
            conf["cniVersion"] = clist.cni_version
            what = f"{plugin_description(plugin)} failed (status)"
            path = find_in_path(plugin["type"], self.cni_path)
            self.exec_plugin(path, self._conf_bytes(conf), self._env("STATUS", None), what)

    def version(self, clist: NetworkConfigList) -> dict:
        """VERSION of each plugin type: {type: version-info}."""
        out = {}
        for plugin in clist.plugins:
            t = plugin["type"]
            if t in out:
                continue
            path = find_in_path(t, self.cni_path)
            env = self._env("VERSION", None)
            # libcni sets fake values required by plugins built on old skel
            env.update({"CNI_NETNS": "dummy", "CNI_IFNAME": "dummy", "CNI_PATH": "dummy"})
            stdin = json.dumps({"cniVersion": CURRENT_VERSION}).encode()
            raw = self.exec_plugin(path, stdin, env, f'type="{t}" failed (version)')
            try:
                out[t] = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as e:
                raise ToolError(f'plugin type="{t}": decoding version info: {e}')
        return out


def attachment_netns(cached: dict) -> str:
    """The netns of a cached attachment: libcni >= 1.2 stores "netns"; 1.1.x
    does not, but the result's interfaces[].sandbox holds it."""
    if cached.get("netns"):
        return cached["netns"]
    result = cached.get("result") or {}
    for iface in result.get("interfaces") or []:
        if isinstance(iface, dict) and iface.get("sandbox"):
            return iface["sandbox"]
    return ""


def convert_result(result: dict, to_version: str) -> dict:
    """Enough of types.Result.GetAsVersion for 0.3.x/0.4.0 <-> 1.x."""
    from_version = result.get("cniVersion", "")
    if not to_version or from_version == to_version:
        return result
    out = json.loads(json.dumps(result))
    out["cniVersion"] = to_version
    ips = out.get("ips")
    if isinstance(ips, list):
        for ip in ips:
            if not isinstance(ip, dict):
                continue
            if version_at_least(to_version, "1.0.0"):
                ip.pop("version", None)
            elif "version" not in ip and isinstance(ip.get("address"), str):
                ip["version"] = "6" if ":" in ip["address"] else "4"
    return out
