"""build-esound: the OSS-only esound RPMs, built, checked and only then delivered.

The distribution's esd links ALSA and crashes on a Sun Ray server, whose
audio is SRSS's emulated OSS device. ``build()`` reads the distribution's
own esound source RPM, or an upstream tarball with our spec template
(sources.py, spec.py), runs ``rpmbuild -ba`` as the build user
(builduser.py) in a private tree (buildtree.py), checks the result like
check-esound (check.py) and copies it to the output directory. A failed
build keeps its log there instead.
"""

import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..core.config import as_bool
from ..core.errors import JobFailed, UsageError
from ..core.fileedit import FileChange
from ..core.report import Report
from ..core.safeio import atomic_write, unified_diff
from ..core.subprocesses import run_captured
from .buildtree import make_tree, rpmbuild_command, take_results, work_dir
from .builduser import BuildUser, build_user, run_build
from .daemon import esd_removals
from .host import host_mismatch
from .rpm import FilePath
from .scan import ESD, CheckReport, check_rpms
from .sources import Sources, read_sources
from .spec import DEFAULT_PACKAGER

_SUFFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+]{0,31}$")
# rpm's changelog maintainer: "Name <address>", on one line.
_PACKAGER = re.compile(r"^[^<>\n]*[^<>\s] <[^<>@\s]+@[^<>\s]+>$")
LOG_TAIL_LINES = 25


class BuildReport(Report):
    """build-esound's result: the spec changes, what was written, the check."""

    def to_text(self) -> str:
        lines = []
        if self.dry_run:
            lines.append(self.data.get("spec_diff", "").rstrip("\n"))
        lines.extend(self.notes)
        for path in self.data.get("outputs", []):
            lines.append(f"wrote  {path}")
        tail = self.data.get("log_tail")
        if tail:
            lines.append("--- last lines of the build log ---")
            lines.append(tail.rstrip("\n"))
        check = self.data.get("check")
        if check:
            lines.append(check)
        return "\n".join(line for line in lines if line is not None)


def build(settings: Dict[str, Any], srpm: Optional[FilePath] = None, tarball: Optional[FilePath] = None,
          output: Optional[FilePath] = None, suffix: Optional[str] = None, dry_run: bool = False,
          when: Optional[float] = None, allow_root_build: bool = False) -> BuildReport:
    """Build the OSS-only esound RPMs from ``srpm`` or ``tarball``.

    ``settings`` is the ``sunray`` section; its ``esound`` part holds
    suffix, output, nodeps and build_user. As root, rpmbuild (and with it
    the source RPM's %prep/%build/%install) runs as build_user; see
    ``builduser.build_user()``. Returns a BuildReport; raises UsageError for
    bad input (nothing written) and JobFailed when rpmbuild fails.
    """
    esound_settings = settings.get("esound", {})
    suffix = _validate_suffix(suffix or esound_settings.get("suffix") or "oss")
    output = output or esound_settings.get("output") or "./dist"
    when = time.time() if when is None else when
    packager = esound_settings.get("packager") or DEFAULT_PACKAGER
    if not _PACKAGER.match(packager):
        raise UsageError(f"sunray.esound.packager {packager!r}: expected 'Name <address>', "
                         f"e.g. {DEFAULT_PACKAGER}")
    sources = read_sources(srpm, tarball, suffix, when, packager)

    report = BuildReport(task="build-esound", dry_run=dry_run)
    report.data.update({
        "input": str(srpm or tarball),
        "version": sources.version,
        "spec_changes": sources.spec_changes,
        "spec_diff": unified_diff(f"SPECS/{sources.spec_name}", sources.old_spec, sources.new_spec),
        "outputs": [],
    })
    report.notes.extend(f"spec: {line}" for line in sources.spec_changes)
    if sources.daemon_package:
        report.data["daemon_restored"] = sources.daemon_package
        report.notes.append(f"restored: {ESD} (deleted or not packaged by the spec) "
                            f"ships in {sources.daemon_package}")
    mismatch = host_mismatch(sources.release) if sources.release else None
    report.data["host_mismatch"] = mismatch
    user = build_user(esound_settings, allow_root_build)
    report.data["build_user"] = user.name
    if os.geteuid() == 0 and not user.dropped:
        report.warnings.append("rpmbuild runs as root (--allow-root-build): the source "
                               "RPM's build scripts can do anything to this host")
    if dry_run:
        if mismatch:
            report.notes.append(f"note: {mismatch}")
        report.notes.append("dry run: nothing built")
        return report
    if mismatch:
        # Said now, before a build that may take minutes.
        print(f"sunray: note: {mismatch}", file=sys.stderr, flush=True)

    out_dir = _output_dir(output)
    nodeps = _needs_nodeps(esound_settings.get("nodeps", "auto"))
    rpmbuild = shutil.which("rpmbuild")
    if rpmbuild is None:
        raise JobFailed("rpmbuild not found: install rpm-build (RHEL) or rpm (Debian)")
    work = work_dir(user)
    try:
        log_path = os.path.join(work, "build.log")
        returncode, rpms, srpms = _build_in_tree(report, work, sources, user, rpmbuild, nodeps, log_path)
        if returncode != 0 or not rpms:
            kept = _keep_log(log_path, out_dir, sources.version, suffix)
            report.data["log_tail"] = _tail(log_path)
            report.data["log"] = str(kept)
            report.failure = f"rpmbuild failed (exit {returncode}); full log: {kept}"
            return report

        check = check_rpms(rpms)
        report.data["check"] = check.to_text()
        report.data["check_result"] = check.to_dict()
        if check.failure:
            kept = _keep_log(log_path, out_dir, sources.version, suffix)
            report.failure = f"{_check_failure(check, sources.old_spec, sources.new_spec)} (build log: {kept})"
            return report
        _deliver(report, rpms + srpms, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report


def _check_failure(check: CheckReport, old_spec: str, new_spec: str) -> str:
    """The closing line for built RPMs that failed the check: what is really wrong."""
    causes = []
    if check.data.get("alsa_found"):
        causes.append(f"built RPMs still use ALSA, not copied: {check.failure}")
    if not check.data.get("ships_esd", True):
        # Said with the line number of the SRPM's own spec, which the admin has.
        left = {text for _line, text in esd_removals(new_spec)}
        removals = [r for r in esd_removals(old_spec) if r[1] in left] or esd_removals(new_spec)
        if removals:
            line, text = removals[0]
            why = f"the spec deletes it in %install, line {line}: {text}"
        else:
            why = "the spec's %files do not list it"
        causes.append(f"no built RPM ships {ESD} ({why}), not copied")
    return "; ".join(causes) or f"built RPMs failed the check, not copied: {check.failure}"


def _validate_suffix(suffix: str) -> str:
    if not isinstance(suffix, str) or not _SUFFIX.match(suffix):
        raise UsageError(
            f"--suffix {suffix!r}: expected letters, digits, '_' or '+' (at most 32), e.g. oss"
        )
    return suffix


def _needs_nodeps(setting: Any) -> bool:
    """Whether rpmbuild must skip its BuildRequires check.

    On Debian (and any host whose rpm database does not even know the rpm
    package itself) the database cannot know the build requirements, so
    rpmbuild would refuse every BuildRequires: use --nodeps there only.
    """
    if setting != "auto":
        return as_bool(setting, "sunray.esound.nodeps")
    if shutil.which("rpm") is None:
        return True
    probe = run_captured(["rpm", "-q", "--quiet", "rpm"], text=False)
    return probe.returncode != 0


def _output_dir(output: FilePath) -> Path:
    out = Path(output)
    if out.is_symlink():
        raise UsageError(f"--output {output}: is a symlink; give the real directory")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--output {output}: exists and is not a directory")
    return out


def _build_in_tree(report: BuildReport, work: str, sources: Sources, user: BuildUser, rpmbuild: str,
                   nodeps: bool, log_path: str) -> Tuple[int, List[str], List[str]]:
    """Run rpmbuild on ``sources`` in a fresh tree in ``work``, logging to
    ``log_path``; returns its exit code, the binary RPMs and the source RPMs
    (as copied out of the tree into ``work/results``)."""
    topdir, spec_path = make_tree(work, sources.files, sources.spec_name, sources.new_spec, user)
    cmd = rpmbuild_command(rpmbuild, topdir, spec_path, nodeps)
    if nodeps:
        report.notes.append(
            "rpmbuild --nodeps: this host's rpm database does not know the "
            "build requirements (Debian, or an empty rpmdb)"
        )
    report.notes.append(f"rpmbuild runs as {user.name} (uid {user.uid}) in a new "
                        "session: no terminal, minimal environment")
    with open(log_path, "wb") as log:
        returncode = run_build(cmd, topdir, user, log)
    staging = os.path.join(work, "results")
    os.mkdir(staging, 0o700)
    rpms, srpms = take_results(topdir, staging)
    return returncode, rpms, srpms


def _deliver(report: BuildReport, results: List[str], out_dir: Path) -> None:
    """Copy the checked ``results`` into ``out_dir``, refusing any symlink in the way."""
    targets = [out_dir / os.path.basename(p) for p in results]
    for target in targets:
        if target.is_symlink():
            raise UsageError(f"{target}: is a symlink; refusing to write through it")
    out_dir.mkdir(parents=True, exist_ok=True)
    for src in results:
        existed = (out_dir / os.path.basename(src)).exists()
        written = str(_copy_atomic(src, out_dir))
        report.data["outputs"].append(written)
        report.add(FileChange(path=written, action="replaced" if existed else "created"))


def _tail(log_path: str, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with open(log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _copy_atomic(src: str, dest_dir: Path) -> Path:
    """Copy ``src`` into ``dest_dir`` atomically; never through a symlink."""
    target = dest_dir / os.path.basename(src)
    with open(src, "rb") as f:
        atomic_write(target, f.read(), mode=0o644)
    return target


def _keep_log(log_path: str, out_dir: Path, version: str, suffix: str) -> Path:
    """Copy the build log next to the results, where the admin can read it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"esound-{version}.{suffix}.build.log"
    if target.is_symlink():
        raise UsageError(f"{target}: is a symlink; refusing to write through it")
    with open(log_path, "rb") as f:
        atomic_write(target, f.read(), mode=0o644)
    return target
