#!/usr/bin/env python3
"""How fast the one-file bundle starts (issue 10). Not a test: prints figures.

Times `PYTHON -I sunray-VERSION.pyz --help`, best of several runs, for each
server Python found (pyenv's 3.6, 3.8, 3.9, 3.11, or those named on the
command line), against the bar: under 0.3 s on 3.6, where the bundle carries
byte code. Also prints the bundle's size (bar: under 3 MB). CPU time (user +
sys) is printed beside wall time: on a busy machine the wall time waits for
a core, the CPU time does not.

Run it from the checkout: python3 bench/pyz_startup.py [--pyz FILE] [--runs N] [PYTHON ...]
(without --pyz it builds dist/sunray-VERSION.pyz first, as ./bootstrap dist does).
"""

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYENV = Path.home() / ".pyenv" / "versions"
DEFAULT_PYTHONS = ["3.6.15", "3.8.18", "3.9.18", "3.11.7"]
TARGET_36 = 0.3


def best_of(argv, runs):
    """(best wall seconds, best CPU seconds) of running argv ``runs`` times."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd="/")
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyz", type=Path, help="a built bundle (default: build one)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("pythons", nargs="*", help="interpreters (default: pyenv's 3.6, 3.8, 3.9, 3.11)")
    args = parser.parse_args()
    pyz = args.pyz
    if pyz is None:
        built = subprocess.run([sys.executable, str(REPO / "packaging/build_pyz.py")], check=True,
                               stdout=subprocess.PIPE, universal_newlines=True)
        pyz = Path(built.stdout.strip())
    size = pyz.stat().st_size
    print(f"{pyz}: {size / 1e6:.2f} MB (bar: under 3 MB)")
    pythons = args.pythons or [str(PYENV / v / "bin/python") for v in DEFAULT_PYTHONS]
    print(f"--help, best of {args.runs} runs")
    for python in pythons:
        if not os.access(python, os.X_OK):
            print(f"{python:44} missing")
            continue
        version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
        wall, cpu = best_of([python, "-I", str(pyz), "--help"], args.runs)
        bar = f"   target {TARGET_36:.1f} s   ratio {wall / TARGET_36:.2f}" if version == "3.6" else ""
        print(f"{version:5} {python:44} {wall:6.3f} s wall  {cpu:6.3f} s CPU{bar}")


if __name__ == "__main__":
    main()
