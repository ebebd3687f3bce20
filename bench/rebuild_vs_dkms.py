#!/usr/bin/env python3
"""rebuild-modules against DKMS and against the floor, side by side, one run.

The SRSS-like fixture (4 modules in 3 directories) for 2-3 kernels whose
headers are installed on this machine (/usr/src/linux-headers-*-amd64):

* ours:  `sunray rebuild-modules --force` (the whole program: start-up,
         scratch copies, builds in parallel, install, depmod, vermagic check);
* DKMS:  the tree from `sunray export-dkms`, `dkms build` + `dkms install`
         for each kernel, as its kernel hook does (all dkms directories in the
         sandbox; --no-depmod, since dkms's depmod would write to the host);
* floor: the bare `make -C KDIR M=<copy> modules` for every (kernel, module
         directory) pair, run in parallel (CPU count at once);
* no-op: `sunray rebuild-modules` with everything up to date against
         `dkms autoinstall -k K` for each kernel (what the kernel hook runs).

Targets: ours <= 0.6 x DKMS and <= 1.2 x floor; no-op < 0.25 s and no slower
than DKMS's no-op. Prints the figures and the ratios; not a test (timings on a
shared machine move).

    .venv/bin/python bench/rebuild_vs_dkms.py [--kernels N] [--reps N]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sunray.demo import host_header_kernels, sandbox_kernels  # noqa: E402

FIXTURE = REPO / "sunray/demo_fixtures/srss"


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(cmd, env=None, cwd=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, cmd))} failed:\n{proc.stdout}{proc.stderr}")
    return proc


def sunray(top, *args):
    return run([sys.executable, "-m", "sunray", "rebuild-modules", "--root", str(top), *args],
               cwd=REPO)


def server(top, kernels):
    for d in ("etc", "var/lib/dkms", "var/log", "var/tmp", "lib/modules"):
        (top / d).mkdir(parents=True, exist_ok=True)
    (top / "etc/debian_version").write_text("12\n")
    shutil.copytree(FIXTURE, top, dirs_exist_ok=True)
    sandbox_kernels(str(top), kernels)


def dkms_cmd(top, *args, kernel=None):
    cmd = ["dkms", *args, "--dkmstree", str(top / "var/lib/dkms"),
           "--sourcetree", str(top / "usr/src"), "--installtree", str(top / "lib/modules")]
    if kernel:
        cmd += ["-k", kernel, "--kernelsourcedir", f"/usr/src/linux-headers-{kernel}"]
    return cmd


def dkms_env(top):
    env = dict(os.environ)
    env["mok_signing_key"] = str(top / "var/lib/dkms/mok.key")
    env["mok_certificate"] = str(top / "var/lib/dkms/mok.pub")
    return env


def floor(scratch, kernels):
    modules = sorted(p for p in (FIXTURE / "usr/src/SUNWut").iterdir() if p.is_dir())
    pairs = []
    for k in kernels:
        for m in modules:
            dest = scratch / f"{k}--{m.name}"
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(m, dest)
            pairs.append((k, dest))

    def build(pair):
        k, dest = pair
        run(["make", "-C", f"/usr/src/linux-headers-{k}", f"M={dest}", "modules"])

    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        list(pool.map(build, pairs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernels", type=int, default=3, help="kernels to build for (2-3)")
    ap.add_argument("--reps", type=int, default=2, help="rounds of full builds (the best counts)")
    args = ap.parse_args()
    for tool in ("dkms", "make", "gcc", "depmod"):
        if not shutil.which(tool):
            sys.exit(f"bench: needs {tool}")
    kernels = [k for k in host_header_kernels() if k.endswith("-amd64")][-args.kernels:]
    if len(kernels) < 2:
        sys.exit("bench: needs at least two linux-headers-*-amd64 packages")
    load = os.getloadavg()
    host_dkms = sorted(os.listdir("/var/lib/dkms")) if os.path.isdir("/var/lib/dkms") else None

    with tempfile.TemporaryDirectory(prefix="sunray-bench-") as tmp:
        tmp = Path(tmp)
        ours_top, dkms_top = tmp / "ours", tmp / "dkms"
        server(ours_top, kernels)
        server(dkms_top, kernels)
        run([sys.executable, "-m", "sunray", "export-dkms", "--root", str(dkms_top)], cwd=REPO)
        env = dkms_env(dkms_top)
        run(dkms_cmd(dkms_top, "add", "-m", "sunray-ut", "-v", "1.0"), env=env)
        scratch = tmp / "floor"
        scratch.mkdir()

        def dkms_full():
            for k in kernels:
                run(dkms_cmd(dkms_top, "build", "--force", "-m", "sunray-ut", "-v", "1.0",
                             kernel=k), env=env)
                run(dkms_cmd(dkms_top, "install", "--force", "--no-depmod", "-m", "sunray-ut",
                             "-v", "1.0", kernel=k), env=env)

        def dkms_one():
            for verb in ("build", "install"):
                run(dkms_cmd(dkms_top, verb, "--force", "--no-depmod", "-m", "sunray-ut",
                             "-v", "1.0", kernel=kernels[-1]) if verb == "install" else
                    dkms_cmd(dkms_top, verb, "--force", "-m", "sunray-ut", "-v", "1.0",
                             kernel=kernels[-1]), env=env)

        contenders = {
            "ours": lambda: sunray(ours_top, "--force"),
            "dkms": dkms_full,
            "floor": lambda: floor(scratch, kernels),
            # the kernel hook's case: one new kernel
            "ours_one": lambda: sunray(ours_top, "--force", "--kernel", kernels[-1]),
            "dkms_one": dkms_one,
        }
        # Warm-up (caches; dkms makes its signing key once; the no-op below
        # needs a built tree), then rounds taking turns, so that load from
        # elsewhere on the machine hits all three alike; the best round counts.
        sunray(ours_top)
        dkms_full()
        times = {name: [] for name in contenders}
        for _ in range(args.reps):
            for name, fn in contenders.items():
                times[name].append(timed(fn))
        ours, dkms_time, floor_time, ours_one, dkms_one_time = (
            min(times[n]) for n in ("ours", "dkms", "floor", "ours_one", "dkms_one"))

        noop_ours = statistics.median(timed(lambda: sunray(ours_top)) for _ in range(7))

        def dkms_noop():
            for k in kernels:
                run(dkms_cmd(dkms_top, "autoinstall", kernel=k), env=env)

        noop_dkms = statistics.median(timed(dkms_noop) for _ in range(7))
        noop_ours_one = statistics.median(
            timed(lambda: sunray(ours_top, "--kernel", kernels[-1])) for _ in range(7))
        noop_dkms_one = statistics.median(
            timed(lambda: run(dkms_cmd(dkms_top, "autoinstall", kernel=kernels[-1]), env=env))
            for _ in range(7))

    after = sorted(os.listdir("/var/lib/dkms")) if os.path.isdir("/var/lib/dkms") else None
    assert after == host_dkms, "the host's /var/lib/dkms changed"

    pairs = len(kernels) * 3
    print(f"load average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}")
    print(f"fixture: 4 modules (3 directories) x {len(kernels)} kernels: {', '.join(kernels)}; "
          f"{os.cpu_count()} CPUs")
    print(f"{'full rebuild, ours (--force)':40} {ours:7.2f} s")
    print(f"{'full rebuild, DKMS build+install':40} {dkms_time:7.2f} s")
    print(f"{'floor: raw make, ' + str(pairs) + ' pairs in parallel':40} {floor_time:7.2f} s")
    print(f"{'one kernel (hook case), ours':40} {ours_one:7.2f} s")
    print(f"{'one kernel (hook case), DKMS':40} {dkms_one_time:7.2f} s")
    print(f"{'no-op, ours (all kernels)':40} {noop_ours:7.3f} s")
    print(f"{'no-op, dkms autoinstall (each kernel)':40} {noop_dkms:7.3f} s")
    print(f"{'no-op, ours (one kernel)':40} {noop_ours_one:7.3f} s")
    print(f"{'no-op, dkms autoinstall (one kernel)':40} {noop_dkms_one:7.3f} s")
    checks = [
        ("ours / DKMS", ours / dkms_time, "<= 0.60", ours / dkms_time <= 0.6),
        ("ours / DKMS, one kernel", ours_one / dkms_one_time, "<= 0.60",
         ours_one / dkms_one_time <= 0.6),
        ("ours / floor", ours / floor_time, "<= 1.20", ours / floor_time <= 1.2),
        ("no-op ours (s)", noop_ours, "<  0.25", noop_ours < 0.25),
        ("no-op ours / dkms", noop_ours / noop_dkms, "<= 1.00", noop_ours <= noop_dkms),
        ("no-op one kernel ours / dkms", noop_ours_one / noop_dkms_one, "<= 1.00",
         noop_ours_one <= noop_dkms_one),
    ]
    print()
    for name, value, target, ok in checks:
        print(f"{name:30} {value:6.2f}   target {target}   {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
