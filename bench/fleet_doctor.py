#!/usr/bin/env python3
"""Bench: `sunray fleet --task doctor` on 8 loopback hosts vs doctor on one host.

Both go through SSH (one real sshd per host on 127.0.0.2-9, started here as
root with generated keys); each host has its own sandbox root. Prints the
median wall time of each and the ratio; the target is <= 2.0 (the hosts run
in parallel, not one after another).

    .venv/bin/python bench/fleet_doctor.py [--rounds 5]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fleet_support import SUNRAY, healthy_server, ssh_fleet  # noqa: E402

HOSTS = 8


def timed_fleet(config, inventory, group, parallel=HOSTS):
    start = time.monotonic()
    proc = subprocess.run([str(SUNRAY), "-f", str(config), "fleet", "--inventory", str(inventory),
                           "--group", group, "--format", "json", "--parallel", str(parallel)],
                          capture_output=True, text=True)
    elapsed = time.monotonic() - start
    data = json.loads(proc.stdout)
    bad = [h["host"] for h in data["hosts"] if h["status"] != "ok"]
    if proc.returncode != 0 or bad:
        sys.exit(f"fleet failed on {bad}: {proc.stderr.strip()}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--login-bashrc", action="store_true",
                        help="let bash source root's ~/.bashrc for every command "
                        "(on this machine: pyenv init, 0.3 s of CPU per host)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sunray-bench-") as tmp, \
            ssh_fleet(tmp, [f"127.0.0.{i + 2}" for i in range(HOSTS)], [healthy_server] * HOSTS,
                      plain_shell=not args.login_bashrc, parallel=HOSTS) as lab:
        hosts, roots, config = lab["hosts"], lab["roots"], lab["config"]
        lines = ["groups:", "  one:", f"    - host: {hosts[0].spec}",
                 f"      root: {roots[0]}", "  all:"]
        for h, root in zip(hosts, roots):
            lines += [f"    - host: {h.spec}", f"      root: {root}"]
        inventory = lab["dir"] / "inventory.yaml"
        inventory.write_text("\n".join(lines) + "\n")

        timed_fleet(config, inventory, "one")  # warm the page cache
        one = [timed_fleet(config, inventory, "one") for _ in range(args.rounds)]
        eight = [timed_fleet(config, inventory, "all") for _ in range(args.rounds)]
        serial = [timed_fleet(config, inventory, "all", parallel=1)
                  for _ in range(max(1, args.rounds // 2))]

    one_s, eight_s = statistics.median(one), statistics.median(eight)
    ratio = eight_s / one_s
    print(f"doctor on 1 host over ssh : {one_s:.3f} s (median of {args.rounds})")
    print(f"fleet doctor on {HOSTS} hosts   : {eight_s:.3f} s (median of {args.rounds})")
    print(f"same, --parallel 1        : {statistics.median(serial):.3f} s (for comparison)")
    print(f"ratio                     : {ratio:.2f} x (target <= 2.0)")
    with open("/proc/loadavg") as f:
        print(f"load average              : {f.read().split()[0]} on {os.cpu_count()} CPUs "
              "(the 8 remote doctors share this machine's CPUs)")
    return 0 if ratio <= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
