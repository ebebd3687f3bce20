#!/usr/bin/env python3
"""Build dist/sunray-toolkit_VERSION-REVISION_all.deb for Debian 10+ and Ubuntu 18.04+.

    python3 packaging/build_deb.py [--output DIR] [--revision N] [--pyz FILE]

(``./bootstrap dist`` runs it.) No debhelper: the package is assembled
from the files in packaging/deb/ (control, maintainer scripts, copyright,
changelog) and packed with ``dpkg-deb --build --root-owner-group``:

  /usr/bin/sunray                          packaging/sunray.launcher
  /usr/share/sunray-toolkit/sunray-V.pyz   the bundle (build_pyz.py)
  /etc/kernel/{postinst,header_postinst,postrm}.d/sunray-modules
                                           the kernel hooks (conffiles),
                                           from templates/ (package_hooks.py)
  /usr/share/man/man1/sunray.1.gz          docs/sunray.1
  /usr/share/doc/sunray-toolkit/           copyright, changelog.Debian.gz

The maintainer is $DEBFULLNAME <$DEBEMAIL> when both are set (a site
that publishes the package names itself), else the project's own line.
``--revision`` makes VERSION-N (N > 1 adds a changelog entry on top): how
the tests build an upgrade. Prints the path of the built package.
"""

import argparse
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_pyz  # noqa: E402
import package_hooks  # noqa: E402

CHECKOUT = Path(__file__).resolve().parent.parent
DEB = CHECKOUT / "packaging" / "deb"
NAME = package_hooks.PACKAGE
LIBDIR = f"/usr/share/{NAME}"
DOCDIR = f"/usr/share/doc/{NAME}"
# The project has no mailing address; Debian's Maintainer field needs one
# of this form. A site that publishes the package sets DEBFULLNAME/DEBEMAIL.
DEFAULT_MAINTAINER = "sunray-toolkit project <sunray-toolkit@localhost.invalid>"
# Fixed file times: the same checkout builds the same package.
EPOCH = 1795564800  # 2026-11-25, the first changelog entry


def maintainer() -> str:
    name, email = os.environ.get("DEBFULLNAME", ""), os.environ.get("DEBEMAIL", "")
    return f"{name} <{email}>" if name and email else DEFAULT_MAINTAINER


def _gzip(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0, filename="") as f:
        f.write(data)
    return out.getvalue()


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)


def changelog(version: str, revision: int, who: str) -> str:
    text = (DEB / "changelog").read_text(encoding="utf-8").replace("@MAINTAINER@", who)
    if revision > 1:
        text = (f"{NAME} ({version}-{revision}) unstable; urgency=medium\n\n"
                f"  * Rebuilt as revision {revision}.\n\n"
                f" -- {who}  Thu, 26 Nov 2026 00:00:00 +0000\n\n") + text
    return text


def stage(top: Path, pyz: Path, version: str, revision: int) -> None:
    """The package's tree (DEBIAN/ included) under ``top``."""
    who = maintainer()
    launcher = (CHECKOUT / "packaging" / "sunray.launcher").read_text(encoding="utf-8")
    _write(top / "usr/bin/sunray",
           launcher.replace("@PYZ@", f"{LIBDIR}/sunray-{version}.pyz").encode(), 0o755)
    _write(top / LIBDIR.lstrip("/") / f"sunray-{version}.pyz", pyz.read_bytes())
    hooks = package_hooks.write_hooks("deb", top)
    _write(top / "usr/share/man/man1/sunray.1.gz", _gzip((CHECKOUT / "docs" / "sunray.1").read_bytes()))
    doc = top / DOCDIR.lstrip("/")
    _write(doc / "copyright", (DEB / "copyright").read_bytes())
    _write(doc / "changelog.Debian.gz", _gzip(changelog(version, revision, who).encode()))

    files = sorted(p for p in top.rglob("*") if p.is_file())
    size_kib = sum((p.stat().st_size + 1023) // 1024 for p in files) + len(
        [p for p in top.rglob("*") if p.is_dir()])
    control = (DEB / "control").read_text(encoding="utf-8")
    control = (control.replace("@VERSION@", f"{version}-{revision}").replace("@MAINTAINER@", who)
               .replace("@INSTALLED_SIZE@", str(size_kib)))
    meta = top / "DEBIAN"
    _write(meta / "control", control.encode())
    _write(meta / "conffiles", "".join(f"{path}\n" for path in sorted(hooks)).encode())
    md5sums = "".join(f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(top).as_posix()}\n"
                      for p in files if not p.relative_to(top).as_posix().startswith("etc/"))
    _write(meta / "md5sums", md5sums.encode())
    for script in ("preinst", "postinst", "prerm"):
        _write(meta / script, (DEB / script).read_bytes(), 0o755)
    for path in [top, *top.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
        os.utime(str(path), (EPOCH, EPOCH), follow_symlinks=False)


def build(output: Path, revision: int = 1, pyz: Optional[Path] = None) -> Path:
    """Write ``output``/sunray-toolkit_VERSION-REVISION_all.deb; returns its path."""
    if shutil.which("dpkg-deb") is None:
        raise RuntimeError("dpkg-deb not found (Debian package dpkg)")
    version = build_pyz.version()
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sunray-deb.") as scratch:
        if pyz is None:
            pyz = build_pyz.build(Path(scratch) / "pyz", CHECKOUT / "build" / "pyz-downloads")
        top = Path(scratch) / "tree"
        top.mkdir()
        stage(top, pyz, version, revision)
        target = output / f"{NAME}_{version}-{revision}_all.deb"
        partial = output / f".{target.name}.{os.getpid()}.part"
        env = dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH))
        proc = subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(top), str(partial)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              env=env)
        if proc.returncode != 0:
            partial.unlink(missing_ok=True)
            raise RuntimeError(f"dpkg-deb failed ({proc.returncode}):\n{proc.stderr}")
        partial.replace(target)
    return target


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=CHECKOUT / "dist",
                        help="directory for the .deb (default: dist/)")
    parser.add_argument("--revision", type=int, default=1, help="the Debian revision (default 1)")
    parser.add_argument("--pyz", type=Path, help="the bundle to package (default: build it)")
    args = parser.parse_args(argv)
    if args.revision < 1:
        parser.error("--revision must be 1 or more")
    try:
        print(build(args.output.absolute(), args.revision, args.pyz))
    except (RuntimeError, OSError) as e:
        print(f"build_deb: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
