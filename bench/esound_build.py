#!/usr/bin/env python3
"""build-esound's wall time against a plain `rpmbuild --rebuild`, side by side.

Both build the same esound SRPM in a fresh private _topdir, with --nodeps
(Debian's rpm database is empty). By default (--size realistic) that is the
stand-in (tests/fixtures/esound) grown to upstream esound 0.2.41's size: 40
generated C files, about 20,000 lines, compiled into libesd and esd, so
rpmbuild's compile time is what it is on the real source; --size standin
builds the three-file stand-in alone (mostly fixed costs). The runs
alternate, so load from other processes hits both alike; the figures are
medians. Three columns:

  rpmbuild   rpmbuild --rebuild --nodeps SRPM
  sunray     the sunray program: build-esound --srpm SRPM --output DIR
             (interpreter start, SRPM checks, spec rewrite, rpmbuild -ba,
             check of the result, copy)
  in-proc    sunray.esound.build() called in this process (no interpreter
             start: the toolkit's own work on top of rpmbuild)

Usage: python3 bench/esound_build.py [--runs N] [--size realistic|standin]
(target: overhead <= 5 %)
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

# Upstream esound 0.2.41: about 40 C files and 20,000 lines.
GENERATED_FILES = 40
FUNCTIONS_PER_FILE = 29

MAKEFILE = """# Stand-in esound build grown to upstream size (bench, generated).
include config.mk

LIB_SRC = libesd.c {lib}
ESD_SRC = esd.c {esd}

all: esd libesd.so.0

%.lo: %.c esd.h
\t$(CC) $(CFLAGS) $(ALSA_CFLAGS) -fPIC -c -o $@ $<

%.o: %.c esd.h
\t$(CC) $(CFLAGS) $(ALSA_CFLAGS) -c -o $@ $<

libesd.so.0: $(LIB_SRC:.c=.lo)
\t$(CC) $(CFLAGS) -shared -Wl,-soname,libesd.so.0 $(LDFLAGS) -o $@ $^ $(ALSA_LIBS)

esd: $(ESD_SRC:.c=.o) libesd.so.0
\t$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(ESD_SRC:.c=.o) libesd.so.0 $(ALSA_LIBS)

install: all
\tinstall -d $(DESTDIR)$(bindir) $(DESTDIR)$(libdir) $(DESTDIR)$(includedir)
\tinstall -m 755 esd $(DESTDIR)$(bindir)/esd
\tinstall -m 755 libesd.so.0 $(DESTDIR)$(libdir)/libesd.so.0.2.36
\tln -sf libesd.so.0.2.36 $(DESTDIR)$(libdir)/libesd.so.0
\tinstall -m 644 esd.h $(DESTDIR)$(includedir)/esd.h

.PHONY: all install
"""


def _generated_c(index: int) -> str:
    """One C file of sample-mixing code (a few hundred lines), unique per index."""
    out = [f"/* Generated for the build-esound bench: module {index}. */", "#include <stddef.h>", ""]
    for f in range(FUNCTIONS_PER_FILE):
        name = f"esd_mix_{index}_{f}"
        out += [
            f"int {name}(short *dst, const short *src, size_t n, int volume)",
            "{",
            "    long peak = 0;",
            "    for (size_t i = 0; i < n; i++) {",
            f"        long v = (long)dst[i] + ((long)src[i] * volume >> {8 + f % 4});",
            "        if (v > 32767) v = 32767;",
            "        if (v < -32768) v = -32768;",
            "        dst[i] = (short)v;",
            "        if (v > peak) peak = v;",
            "    }",
            f"    switch ((int)(peak % {3 + f % 5})) {{",
            f"    case 0: return (int)peak ^ {index * 31 + f};",
            "    case 1: return (int)(peak >> 1);",
            "    default: return (int)peak;",
            "    }",
            "}",
            "",
        ]
    return "\n".join(out) + "\n"


def realistic_sources(version: str = "0.2.36") -> Dict[str, bytes]:
    """The extra tarball members that grow the stand-in to upstream's size."""
    top = f"esound-{version}"
    names = [f"gen{i:02d}.c" for i in range(GENERATED_FILES)]
    lib, esd = names[: GENERATED_FILES * 3 // 4], names[GENERATED_FILES * 3 // 4:]
    files = {f"{top}/{name}": _generated_c(i).encode() for i, name in enumerate(names)}
    files[f"{top}/Makefile"] = MAKEFILE.format(lib=" ".join(lib), esd=" ".join(esd)).encode()
    return files


def timed(func: Callable[[], None]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", choices=("realistic", "standin"), default="realistic")
    args = parser.parse_args()
    if not shutil.which("rpmbuild"):
        sys.exit("bench: rpmbuild is not installed (Debian package rpm)")

    from sunray.core.config import defaults
    from sunray.esound.build import build

    work = Path(tempfile.mkdtemp(prefix="sunray-bench-esound-"))
    try:
        if args.size == "realistic":
            srpm = make_srpm(work / "srpm", extra=realistic_sources(), skip=["Makefile"])
        else:
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
    size = (f"{GENERATED_FILES} generated C files (upstream 0.2.41's size)" if args.size == "realistic"
            else "the three-file stand-in")
    print(f"esound SRPM with {size}, {args.runs} alternating runs each, median wall time")
    for name, times in runs.items():
        med = statistics.median(times)
        print(f"  {name:9} {med:7.3f} s  (min {min(times):.3f}, max {max(times):.3f})"
              f"  ratio {med / base:5.2f}  overhead {100 * (med / base - 1):+6.1f} %")
    overhead = statistics.median(runs["sunray"]) - base
    print(f"build-esound adds {overhead:.3f} s per build (fixed cost: interpreter start, checks, -bs)")
    print("target: overhead <= 5 %")


if __name__ == "__main__":
    main()
