#!/usr/bin/env python3
"""How fast the command line answers (issue 2, Speed). Not a test: prints figures.

Times, best of several runs, as the admin would type them:
  invoke --list                     (in the checkout)       target 0.5 s
  sunray --help                                             target 0.5 s
  sunray patch-tmpwatch --root SANDBOX   (already patched)  target 0.3 s
and prints each against its target as a ratio (below 1.0 is within target).

Run it with the venv's Python: .venv/bin/python bench/cli_speed.py [RUNS]
"""

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests/fixtures/tmpwatch/rhel6-days"


def program(name):
    """The program from the same venv as this Python, else from PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        sys.exit(f"cli_speed: {name} not found (install the toolkit into the venv first)")
    return found


def best_of(argv, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with tempfile.TemporaryDirectory(prefix="sunray-bench-") as tmp:
        cron = Path(tmp) / "etc/cron.daily/tmpwatch"
        cron.parent.mkdir(parents=True)
        shutil.copyfile(FIXTURE, cron)
        noop = [program("sunray"), "patch-tmpwatch", "--root", tmp]
        subprocess.run(noop, check=True, stdout=subprocess.DEVNULL)  # patch once: then a no-op
        cases = [
            ("invoke --list", [program("invoke"), "--list"], 0.5),
            ("sunray --help", [program("sunray"), "--help"], 0.5),
            ("sunray patch-tmpwatch (no-op)", noop, 0.3),
        ]
        print(f"best of {runs} runs")
        for label, argv, target in cases:
            seconds = best_of(argv, runs)
            print(f"{label:32} {seconds:6.3f} s   target {target:.1f} s   "
                  f"ratio {seconds / target:.2f}")


if __name__ == "__main__":
    main()
