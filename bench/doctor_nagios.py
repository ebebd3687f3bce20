#!/usr/bin/env python3
"""How long `sunray doctor --format nagios` takes: the monitoring plugin
guidelines ask a check to finish within about 10 s. Not a test: prints figures.

On a sandbox server (`sunray demo`: the CentOS 6 tree after apply, two
kernels with modules built) and on this machine's own / (the live mount
table, /proc/modules, /lib/modules of the host), it times, worst and best
of RUNS, the plugin as Nagios runs it, beside the peer every run pays
anyway: `sunray --version` (the interpreter's and the program's start).
Prints each worst time against the 10 s budget as a ratio (the aim: well
below 0.2), and the plugin's share over the bare start.

    .venv/bin/python bench/doctor_nagios.py [RUNS]      (also with the pyz:
    SUNRAY='python3 dist/sunray-0.1.0.pyz' .venv/bin/python bench/doctor_nagios.py)
"""

import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUDGET = 10.0


def program():
    if os.environ.get("SUNRAY"):
        return shlex.split(os.environ["SUNRAY"])
    return [sys.executable, "-m", "sunray"]


def times(argv, runs):
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              universal_newlines=True)
        out.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1, 2, 3):
            sys.exit(f"doctor_nagios: {' '.join(argv)} exited {proc.returncode}")
    return out


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    sunray = program()
    with tempfile.TemporaryDirectory() as scratch:
        demo = Path(scratch) / "demo"
        subprocess.run(sunray + ["demo", "--path", str(demo)], check=True, cwd=str(REPO),
                       stdout=subprocess.DEVNULL)
        peer = times(sunray + ["--version"], runs)
        print(f"{'run':<44} {'best':>7} {'worst':>7} {'worst/10s':>9} {'over start':>10}")
        print(f"{'sunray --version (the start, the peer)':<44} {min(peer):7.3f} {max(peer):7.3f}")
        for label, args in (("doctor --format nagios --root DEMO", ["--root", str(demo)]),
                            ("doctor --format nagios (this machine's /)", [])):
            spent = times(sunray + ["doctor", "--format", "nagios"] + args, runs)
            print(f"{label:<44} {min(spent):7.3f} {max(spent):7.3f} {max(spent) / BUDGET:9.3f} "
                  f"{min(spent) / min(peer):9.1f}x")


if __name__ == "__main__":
    main()
