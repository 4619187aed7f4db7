"""scripts/bench figures 1-6 and 8: the measuring code, mixed into bench_main.Bench (it uses the
runner's driver, conflists and namespaces, bench_run.Runner). Each figure stores its raw
numbers in self.res; bench_analysis.py and bench_sections.py turn them into the report."""

from __future__ import annotations

import json
import os
import subprocess
import time

from bench_run import REF_DIR


class Figures:
    def fig1_version(self) -> None:
        stdin = os.path.join(self.work, "version-stdin.json")
        with open(stdin, "w") as fh:
            fh.write('{"cniVersion":"1.0.0"}\n')
        ours = [os.path.join(self.bin, b) for b in ("rootless-netns", "netstat-inspect")]
        refs = [os.path.join(REF_DIR, b) for b in ("bridge", "host-local", "portmap")]
        out = self.driver("1", "root", ["version", "--n", str(self.p["version_n"]), "--stdin", stdin] + ours + refs
                          + ["/bin/true"])
        self.res["version"] = {os.path.basename(k): v for k, v in out["times"].items()}

    def fig2_warm(self) -> None:
        self.ensure_host_ns()
        confs = {"slirp4netns": self.user_conf("warm-slirp4netns", "slirp4netns", 65520, "rcnib-warm-slirp"),
                 "pasta": self.user_conf("warm-pasta", "pasta", 65520, "rcnib-warm-pasta")}
        acc: dict = {}
        n = str(self.p["warm_n"])
        # Blocks alternate between the sides so drift hits both alike.
        for block in range(self.p["warm_blocks"]):
            last = block == self.p["warm_blocks"] - 1
            runs = [("ref", "host", ["warm", "--n", n] + self.ref_args() + (["--rss"] if last else []))]
            for b, conf in confs.items():
                runs.append((b, "user", ["warm", "--n", n] + self.user_args(conf, "rcnib-w") +
                             (["--rss"] if last else [])))
            for key, where, args in runs:
                out = self.driver("2", where, args)
                a = acc.setdefault(key, {"add": [], "del": [], "firstAdd": [], "lastDel": []})
                a["add"] += out["add"]
                a["del"] += out["del"]
                a["firstAdd"].append(out["firstAdd"])
                a["lastDel"].append(out["lastDel"])
                if "rssKiB" in out:
                    a["rssKiB"] = out["rssKiB"]
        self.res["warm"] = acc

    def fig3_cold(self) -> None:
        acc = {}
        for b, state in (("slirp4netns", "rcnib-cold-slirp"), ("pasta", "rcnib-cold-pasta")):
            conf = self.user_conf(f"cold-{b}", b, 65520, state)
            out = self.driver("3", "user", ["cold", "--n", str(self.p["cold_n"]), "--helper",
                                            "slirp4netns" if b == "slirp4netns" else "pasta,passt,pasta.avx2,passt.avx2",
                                            "--state-dir", f"{self.xdg}/{state}"] + self.user_args(conf, "rcnib-c"))
            helper = self.driver("3", "user", ["helper", "--backend", b, "--n", str(self.p["helper_n"]),
                                               "--mtu", "65520", "--prefix", "rcnib-h", "--work", self.uwork])
            acc[b] = {"cold": out, "helper": helper}
        self.res["cold"] = acc

    def fig4_scale(self) -> None:
        self.ensure_host_ns()
        levels = ",".join(str(x) for x in self.p["levels"])
        reps = str(self.p["scale_reps"])
        conf = self.user_conf("scale-slirp4netns", "slirp4netns", 65520, "rcnib-scale")
        ours = self.driver("4", "user", ["scale", "--levels", levels, "--reps", reps] + self.user_args(conf, "rcnib-s"))
        ref = self.driver("4", "host", ["scale", "--levels", levels, "--reps", reps] + self.ref_args("rcnib-rs"))
        self.res["scale"] = {"ours": ours, "ref": ref}

    def fig5_parallel(self) -> None:
        self.ensure_host_ns()
        n = str(self.p["parallel"])
        conf = self.user_conf("parallel-slirp4netns", "slirp4netns", 65520, "rcnib-par")
        ours = self.driver("5", "user", ["parallel", "--n", n] + self.user_args(conf, "rcnib-p"))
        ref = self.driver("5", "host", ["parallel", "--n", n] + self.ref_args("rcnib-rp"))
        self.res["parallel"] = {"ours": ours, "ref": ref}

    def fig6_netstat(self) -> None:
        ni = os.path.join(self.bin, "netstat-inspect")
        out = {}
        for size in self.p["ni_sizes"]:
            name = f"rcnib-if{size}"
            if os.path.exists(f"/run/netns/{name}"):
                subprocess.run(["ip", "netns", "del", name], check=True)
            subprocess.run(["ip", "netns", "add", name], check=True)
            self.root_netns.append(name)
            batch = os.path.join(self.work, f"if{size}.batch")
            with open(batch, "w") as fh:
                fh.write("link set lo up\n")
                for i in range(size - 1):
                    fh.write(f"link add rb{i} type ifb\n")
                for i in range(size - 1):
                    fh.write(f"link set rb{i} up\n")
                for i in range(size - 1):
                    fh.write(f"addr add 10.{200 + i // 65536}.{(i // 256) % 256}.{i % 256}/32 dev rb{i}\n")
            self.note_cmd("6", ["ip", "-n", name, "-batch", batch])
            t0 = time.monotonic()
            subprocess.run(["ip", "-n", name, "-batch", batch], check=True)
            setup_s = time.monotonic() - t0
            count = len(json.loads(subprocess.check_output(["ip", "-n", name, "-j", "link", "show"])))
            path = f"/run/netns/{name}"
            cmds = {
                "stats": [[ni, "stats", "--netns", path]],
                "ip-stats": [["/usr/bin/ip" if os.path.exists("/usr/bin/ip") else "/sbin/ip",
                              "-n", name, "-j", "-s", "link", "show"]],
                "inspect": [[ni, "inspect", "--netns", path]],
            }
            ipbin = cmds["ip-stats"][0][0]
            cmds["ip-inspect"] = [[ipbin, "-n", name, "-j", "-s", "link", "show"],
                                  [ipbin, "-n", name, "-j", "addr", "show"]]
            t = self.driver("6", "root", ["spawn", "--n", str(self.p["ni_n"]), "--cmds", json.dumps(cmds)])
            rss = {k: self.rss(v) for k, v in cmds.items()}
            sizes = {k: sum(len(subprocess.run(a, capture_output=True).stdout) for a in v) for k, v in cmds.items()}
            out[str(size)] = {"interfaces": count, "times": t["times"], "rssKiB": rss, "outputBytes": sizes,
                              "setupSeconds": setup_s}
            subprocess.run(["ip", "netns", "del", name], check=True)
            self.root_netns.remove(name)
        self.res["netstat"] = out

    def rss(self, argvs: list[list[str]], env: dict | None = None, stdin: bytes = b"") -> int:
        peak = 0
        for argv in argvs:
            outf = os.path.join(self.work, "rss.out")
            subprocess.run(["/usr/bin/time", "-f", "%M", "-o", outf] + argv, input=stdin, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(outf) as fh:
                peak = max(peak, int(fh.read().split()[-1]))
        return peak

    # -- figure 8 ---------------------------------------------------------------

    def fig8_rss_size(self) -> None:
        out = {"size": {}, "rssVersion": {}}
        stdin = b'{"cniVersion":"1.0.0"}\n'
        env = {"CNI_COMMAND": "VERSION", "PATH": "/usr/bin:/bin"}
        paths = {"rootless-netns": os.path.join(self.bin, "rootless-netns"),
                 "netstat-inspect": os.path.join(self.bin, "netstat-inspect")}
        for b in ("bridge", "host-local", "portmap"):
            paths[b] = os.path.join(REF_DIR, b)
        for name, path in paths.items():
            stripped = os.path.join(self.work, f"{name}.stripped")
            subprocess.run(["strip", "-o", stripped, path], check=True, capture_output=True)
            out["size"][name] = {"bytes": os.path.getsize(path), "stripped": os.path.getsize(stripped)}
            os.unlink(stripped)
            self.note_cmd("8", ["/usr/bin/time", "-f", "%M", path, "<", "version-stdin.json", "(CNI_COMMAND=VERSION)"])
            out["rssVersion"][name] = max(self.rss([[path]], env, stdin) for _ in range(3))
        out["rssBaseline"] = self.rss([["/bin/true"]])
        self.res["rss"] = out
