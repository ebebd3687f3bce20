#!/usr/bin/env python3
"""Bench: the sunray.server collection on 1 host vs 8 hosts, against `sunray fleet`.

Eight real sshd servers on 127.0.0.2-9 (started here as root with generated
keys), each with its own sandbox server tree; ansible-playbook (ansible-core
2.16 from .venv-ansible216, forks 8) runs `sunray.server.doctor` on them,
the target interpreter the Python 3.6 copy of the checkout, no sunray
installed: the first run sends the pyz to every host, the second finds it
kept and sends nothing. `sunray fleet --task doctor --parallel 8` runs on
the same hosts with the checkout's sunray. Prints the times and the ratios:
the targets are 8 hosts <= 2 x one host, and a second run costing about
what the fleet costs (nothing left to transfer).

    .venv/bin/python bench/ansible_fleet.py [--rounds 3]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from ansible_support import PYTHON36, build_and_install, ini_inventory, playbook  # noqa: E402
from fleet_support import SUNRAY, healthy_server, ssh_fleet  # noqa: E402

HOSTS = 8
BOOK = """
- hosts: "{{ target }}"
  gather_facts: false
  tasks:
    - name: doctor
      sunray.server.doctor: {root: "{{ srv_root }}", pyz_dir: "{{ pyz_dir }}", fail_on: never}
"""


def timed_playbook(work, collections, inventory, book, target):
    start = time.monotonic()
    proc, data = playbook("2.16", work, collections, inventory, book, "-e", f"target={target}")
    elapsed = time.monotonic() - start
    if proc.returncode != 0 or data is None:
        sys.exit(f"ansible-playbook failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    sent = [r.get("pyz_transferred") for t in data["plays"][0]["tasks"] for r in t["hosts"].values()]
    return elapsed, sent


def timed_fleet(config, inventory, group):
    start = time.monotonic()
    proc = subprocess.run([str(SUNRAY), "-f", str(config), "fleet", "--inventory", str(inventory),
                           "--group", group, "--format", "json", "--parallel", str(HOSTS)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"fleet failed: {proc.stderr.strip()}")
    return time.monotonic() - start


def forget_kept(lab):
    for n in range(HOSTS):
        shutil.rmtree(lab["dir"] / f"kept{n}", ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sunray-bench-") as tmp, \
            ssh_fleet(Path(tmp), [f"127.0.0.{i + 2}" for i in range(HOSTS)],
                      [healthy_server] * HOSTS, parallel=HOSTS) as lab:
        work = Path(tmp) / "ansible"
        work.mkdir()
        _, _, collections = build_and_install(work)
        hosts = [(f"h{n}", h, PYTHON36, {"srv_root": root, "pyz_dir": lab["dir"] / f"kept{n}"})
                 for n, (h, root) in enumerate(zip(lab["hosts"], lab["roots"]))]
        inventory = ini_inventory(work / "hosts.ini", lab, hosts)
        book = work / "doctor.yml"
        book.write_text(BOOK)
        lines = ["groups:", "  one:", f"    - host: {lab['hosts'][0].spec}",
                 f"      root: {lab['roots'][0]}", "  all:"]
        for h, root in zip(lab["hosts"], lab["roots"]):
            lines += [f"    - host: {h.spec}", f"      root: {root}"]
        fleet_inventory = lab["dir"] / "fleet.yaml"
        fleet_inventory.write_text("\n".join(lines) + "\n")

        timed_playbook(work, collections, inventory, book, "h0")  # warm caches
        results = {}
        for label, target in (("1 host", "h0"), (f"{HOSTS} hosts", "all")):
            first, second = [], []
            for _ in range(args.rounds):
                forget_kept(lab)
                elapsed, sent = timed_playbook(work, collections, inventory, book, target)
                assert all(sent), sent
                first.append(elapsed)
                elapsed, sent = timed_playbook(work, collections, inventory, book, target)
                assert not any(sent), sent
                second.append(elapsed)
            results[label] = (statistics.median(first), statistics.median(second))
        fleet_one = statistics.median(timed_fleet(lab["config"], fleet_inventory, "one")
                                      for _ in range(args.rounds))
        fleet_all = statistics.median(timed_fleet(lab["config"], fleet_inventory, "all")
                                      for _ in range(args.rounds))

    one_first, one_second = results["1 host"]
    all_first, all_second = results[f"{HOSTS} hosts"]
    print(f"ansible doctor, 1 host  : first {one_first:.2f} s (sends the pyz), second {one_second:.2f} s")
    print(f"ansible doctor, {HOSTS} hosts : first {all_first:.2f} s, second {all_second:.2f} s (forks {HOSTS})")
    print(f"sunray fleet doctor     : 1 host {fleet_one:.2f} s, {HOSTS} hosts {fleet_all:.2f} s")
    print(f"ratio {HOSTS} hosts / 1 host : first {all_first / one_first:.2f} x, "
          f"second {all_second / one_second:.2f} x (target <= 2.0)")
    print(f"transfer cost           : 1 host {one_first - one_second:+.2f} s, "
          f"{HOSTS} hosts {all_first - all_second:+.2f} s (first minus second run)")
    print(f"ansible / fleet         : 1 host {one_second / fleet_one:.2f} x, "
          f"{HOSTS} hosts {all_second / fleet_all:.2f} x (second runs)")
    with open("/proc/loadavg") as f:
        print(f"load average            : {f.read().split()[0]} on {os.cpu_count()} CPUs")
    return 0 if all_second / one_second <= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
