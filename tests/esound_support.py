"""Helpers for the esound tests: stand-in source tarballs and SRPMs built
with the real rpmbuild (private _topdir), running build-esound, and reading
RPMs back. The fixtures built from them are in esound_fixtures.py.

The stand-in (tests/fixtures/esound) behaves like the real esound: its
configure links libasound when ALSA headers exist, unless --disable-alsa.
"""

import io
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from conftest import run_sunray

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "esound"
STOCK_SPEC = (FIXTURE / "esound.spec").read_text()
# The EL6 shape (RHEL 6's esound 0.2.41-3.1): split packages, no daemon.
EL6 = FIXTURE / "el6"
EL6_SPEC = (EL6 / "esound.spec").read_text()
EL6_PATCHES = {p.name: p.read_bytes() for p in sorted(EL6.glob("*.patch"))}

PathArg = Union[str, Path]


def make_tarball(dest: PathArg, name: str = "esound", version: str = "0.2.36", compression: str = "bz2",
                 extra: Optional[Dict[str, bytes]] = None, skip: Iterable[str] = ()) -> Path:
    """Tar the stand-in source as NAME-VERSION/ (our own fixture code)."""
    top = f"{name}-{version}"
    ext = {"bz2": "tar.bz2", "gz": "tar.gz"}[compression]
    path = Path(dest) / f"{top}.{ext}"
    with tarfile.open(path, f"w:{compression}") as tar:
        for f in sorted((FIXTURE / "src").iterdir()):
            if f.name in skip:
                continue
            tar.add(f, arcname=f"{top}/{f.name}")
        for arcname, data in (extra or {}).items():
            info = tarfile.TarInfo(arcname)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def make_srpm(workdir: PathArg, spec_text: str = STOCK_SPEC, name: str = "esound", version: str = "0.2.36",
              defines: Sequence[str] = (), sources: Optional[Dict[str, bytes]] = None,
              extra: Optional[Dict[str, bytes]] = None, skip: Iterable[str] = ()) -> Path:
    """Package the stand-in (and ``sources``, e.g. patches) into an SRPM
    with `rpmbuild -bs`; return its path. ``extra`` and ``skip`` change the
    tarball (see ``make_tarball``)."""
    workdir = Path(workdir)
    top = workdir / "topdir"
    (top / "SOURCES").mkdir(parents=True, exist_ok=True)
    (top / "SPECS").mkdir(parents=True, exist_ok=True)
    make_tarball(top / "SOURCES", name=name, version=version, extra=extra, skip=skip)
    for source_name, data in (sources or {}).items():
        (top / "SOURCES" / source_name).write_bytes(data)
    spec = top / "SPECS" / f"{name}.spec"
    spec.write_text(spec_text)
    cmd = ["rpmbuild", "-bs", "--define", f"_topdir {top}"]
    for d in defines:
        cmd += ["--define", d]
    proc = subprocess.run(cmd + [str(spec)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (srpm,) = (top / "SRPMS").glob("*.src.rpm")
    return srpm


def make_el6_srpm(workdir: PathArg, spec_text: str = EL6_SPEC) -> Path:
    """The EL6-shaped SRPM: esound-0.2.41-3.1.el6 with its two patches."""
    return make_srpm(workdir, spec_text, version="0.2.41", defines=["dist .el6"], sources=EL6_PATCHES)


def stock_rebuild(workdir: PathArg, srpm: PathArg) -> Path:
    """What a distribution build does: `rpmbuild --rebuild` (nodeps: Debian rpmdb)."""
    (rpm,) = stock_rebuild_all(workdir, srpm)
    return rpm


def stock_rebuild_all(workdir: PathArg, srpm: PathArg) -> List[Path]:
    """`rpmbuild --rebuild` of ``srpm``: every binary RPM it made."""
    top = Path(workdir) / "rebuild-topdir"
    proc = subprocess.run(
        ["rpmbuild", "--rebuild", "--nodeps", "--define", f"_topdir {top}", str(srpm)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return sorted((top / "RPMS").glob("*/*.rpm"))


def rpm_facts(path: PathArg) -> Dict[str, Any]:
    """Headers and regular-file contents of an RPM, read with rpmfile."""
    import rpmfile

    with rpmfile.open(str(path)) as rpm:
        h = rpm.headers
        files = {}
        for m in rpm.getmembers():
            if not m.issymlink:
                files["/" + m.name.lstrip("./")] = rpm.extractfile(m).read()
        links = ["/" + m.name.lstrip("./") for m in rpm.getmembers() if m.issymlink]
        return {
            "name": h["name"].decode(),
            "version": h["version"].decode(),
            "release": h["release"].decode(),
            "requires": [r.decode() for r in h.get("requirename", [])],
            "sourcepackage": h.get("sourcepackage"),
            "files": files,
            "links": links,
        }


def dist_tag() -> str:
    out = subprocess.run(["rpm", "--eval", "%{?dist}"], capture_output=True, text=True)
    return out.stdout.strip()


def listing(directory: PathArg) -> Optional[List[str]]:
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else None


def build_esound(*args: Any, tmpdir: Path) -> "subprocess.CompletedProcess[str]":
    """Run build-esound with a private TMPDIR, to see that nothing is left there."""
    tmpdir.mkdir(parents=True, exist_ok=True)
    return run_sunray("build-esound", *args, env={"TMPDIR": str(tmpdir)})


def binary_rpm(out: PathArg) -> Path:
    """The one binary RPM build-esound wrote to ``out``."""
    (rpm,) = [p for p in Path(out).glob("*.rpm") if not p.name.endswith(".src.rpm")]
    return rpm


def install_rpm(root: Path, rpm: PathArg) -> Path:
    """Put an RPM's esd and libesd into a sandbox root (like rpm -i would)."""
    facts = rpm_facts(rpm)
    for path, data in facts["files"].items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.chmod(target, 0o755)
    lib = next(p for p in facts["files"] if "/libesd.so." in p)
    (root / lib.lstrip("/")).parent.joinpath("libesd.so.0").symlink_to(Path(lib).name)
    return root
