#!/usr/bin/env python3
"""Build the sunray-toolkit RPM from this checkout's working tree.

    python3 packaging/build_rpm.py OUTDIR [--nodeps] [--define 'MACRO VALUE']

The source tarball holds the files git knows (tracked, plus new files not
ignored) as they are in the working tree, so uncommitted edits are built
too; the payload, sunray-VERSION.pyz, is built from the same tree by
build_pyz.py (its downloads cached under build/pyz-downloads), and the
kernel hooks are rendered from its templates (package_hooks.py). rpmbuild
runs with a private _topdir under OUTDIR; on a machine whose rpm database
does not know the build requirements (Debian) pass --nodeps.
Prints the path of the built RPM.
"""

import argparse
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_pyz  # noqa: E402
import package_hooks  # noqa: E402

CHECKOUT = Path(__file__).resolve().parent.parent
SPEC = CHECKOUT / "packaging" / "sunray-toolkit.spec"


def spec_field(name, spec=SPEC):
    match = re.search(rf"^{name}:\s*(\S+)", spec.read_text(), re.M)
    if not match:
        raise SystemExit(f"{spec}: no {name}: line")
    return match.group(1)


def source_tarball(directory):
    """``NAME-VERSION.tar.gz`` of the working tree's files, in ``directory``."""
    prefix = f"{spec_field('Name')}-{spec_field('Version')}"
    listing = subprocess.run(
        ["git", "-C", str(CHECKOUT), "ls-files", "-z", "--cached", "--others",
         "--exclude-standard"],
        check=True, capture_output=True).stdout.decode().split("\0")
    tarball = Path(directory) / f"{prefix}.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name in sorted(n for n in listing if n):
            path = CHECKOUT / name
            if path.is_symlink() or path.exists():  # deleted but not yet committed: skip
                tar.add(path, arcname=f"{prefix}/{name}", recursive=False)
    return tarball


def hooks_tarball(directory):
    """``sunray-kernel-hooks-VERSION.tar.gz`` (Source2): the kernel hooks the
    RPM ships, rendered from templates/ (package_hooks.py), as etc/kernel/..."""
    tarball = Path(directory) / f"sunray-kernel-hooks-{spec_field('Version')}.tar.gz"
    with tempfile.TemporaryDirectory() as scratch:
        package_hooks.write_hooks("rpm", Path(scratch))
        with tarfile.open(tarball, "w:gz") as tar:
            for path in sorted(Path(scratch).rglob("*")):
                tar.add(path, arcname=path.relative_to(scratch).as_posix(), recursive=False)
    return tarball


def build(outdir, nodeps=False, defines=()):
    """Build the binary RPM under ``outdir``; returns its path."""
    top = Path(outdir).resolve()
    for sub in ("SOURCES", "BUILD", "RPMS", "SRPMS", "SPECS", "BUILDROOT"):
        (top / sub).mkdir(parents=True, exist_ok=True)
    source_tarball(top / "SOURCES")
    hooks_tarball(top / "SOURCES")
    build_pyz.build(top / "SOURCES", CHECKOUT / "build" / "pyz-downloads")
    argv = ["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}"]
    for define in defines:
        argv += ["--define", define]
    if nodeps:
        argv.append("--nodeps")
    proc = subprocess.run(argv + [str(SPEC)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"rpmbuild failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    rpms = sorted((top / "RPMS").rglob("*.rpm"))
    if len(rpms) != 1:
        raise RuntimeError(f"expected one RPM, found {rpms}")
    return rpms[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--nodeps", action="store_true", help="pass --nodeps to rpmbuild")
    parser.add_argument("--define", action="append", default=[], help="an rpmbuild --define")
    args = parser.parse_args()
    try:
        print(build(args.outdir, nodeps=args.nodeps, defines=args.define))
    except (RuntimeError, OSError) as e:
        print(f"build_rpm: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
