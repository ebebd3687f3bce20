#!/usr/bin/env python3
"""build-esound's wall time against a plain `rpmbuild --rebuild`, side by side.

Both build the same stand-in esound SRPM (tests/fixtures/esound) in a fresh
private _topdir, with --nodeps (Debian's rpm database is empty). The runs
alternate, so load from other processes hits both alike; the figures are
medians. Three columns:

  rpmbuild   rpmbuild --rebuild --nodeps SRPM
  sunray     the sunray program: build-esound --srpm SRPM --output DIR
             (interpreter start, SRPM checks, spec rewrite, rpmbuild -ba,
             check of the result, copy)
  in-proc    sunray.esound.build() called in this process (no interpreter
             start: the toolkit's own work on top of rpmbuild)

Usage: python3 bench/esound_build.py [--runs N]      (target: overhead <= 10 %)
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

HERE = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(HERE), str(HERE / "tests")]

from esound_support import make_srpm  # noqa: E402  (the test suite's SRPM maker)


def timed(func: Callable[[], None]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not shutil.which("rpmbuild"):
        sys.exit("bench: rpmbuild is not installed (Debian package rpm)")

    from sunray.config import defaults
    from sunray.esound.build import build

    work = Path(tempfile.mkdtemp(prefix="sunray-bench-esound-"))
    try:
        srpm = make_srpm(work / "srpm")

        def rpmbuild_rebuild() -> None:
            top = tempfile.mkdtemp(dir=work)
            subprocess.run(
                ["rpmbuild", "--rebuild", "--nodeps", "--define", f"_topdir {top}", str(srpm)],
                check=True, capture_output=True,
            )

        def sunray_program() -> None:
            out = tempfile.mkdtemp(dir=work)
            subprocess.run(
                [sys.executable, "-m", "sunray", "build-esound", "--srpm", str(srpm), "--output", out],
                check=True, capture_output=True, cwd=HERE,
            )

        def in_process() -> None:
            out = tempfile.mkdtemp(dir=work)
            report = build(defaults(), srpm=str(srpm), output=out)
            assert not report.failure, report.failure

        runs: Dict[str, List[float]] = {"rpmbuild": [], "sunray": [], "in-proc": []}
        # One warm-up each (page cache, compiler), not counted.
        for func in (rpmbuild_rebuild, sunray_program, in_process):
            func()
        for _ in range(args.runs):
            runs["rpmbuild"].append(timed(rpmbuild_rebuild))
            runs["sunray"].append(timed(sunray_program))
            runs["in-proc"].append(timed(in_process))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    base = statistics.median(runs["rpmbuild"])
    print(f"stand-in esound SRPM, {args.runs} alternating runs each, median wall time")
    for name, times in runs.items():
        med = statistics.median(times)
        print(f"  {name:9} {med:7.3f} s  (min {min(times):.3f}, max {max(times):.3f})"
              f"  ratio {med / base:5.2f}  overhead {100 * (med / base - 1):+6.1f} %")
    overhead = statistics.median(runs["sunray"]) - base
    print(f"build-esound adds {overhead:.3f} s per build (fixed cost: interpreter start, checks, -bs)")
    print("target: overhead <= 10 %")


if __name__ == "__main__":
    main()
