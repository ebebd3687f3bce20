"""check-esound: prove that esound RPMs, or the installed esd, have no ALSA in them.

``check_rpms()`` reads binary RPMs: no requirement on libasound or
alsa-lib, no ELF file in the payload that needs libasound, and
/usr/bin/esd among them. ``check_installed()`` reads the installed esd and
libesd under a root, following library links only inside it. Both return
a ``CheckReport`` whose ``failure`` names every offending file; the
doctor's check (checks.py) and build-esound (build.py) use them too.
"""

import glob
import os
import posixpath
import stat
from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence, Union

from ..core.errors import UsageError
from ..core.report import Report
from ..core.rootfs import Root
from . import elf
from .rpm import FilePath, RpmPackage

ESD = "/usr/bin/esd"
ALSA_LIB = "libasound.so"
BUILD_HINT = ("build it with: sunray build-esound --srpm esound-*.src.rpm, "
              "then rpm -Uvh dist/esound-*.oss.*.rpm")
INSTALLED_PATTERNS = (ESD, "/usr/lib*/libesd.so*", "/usr/lib/*-linux-gnu/libesd.so*")


@dataclass
class FileCheck:
    """One checked ELF file: where, what it needs, whether that is ALSA."""

    path: str
    needed: List[str] = field(default_factory=list)
    alsa: bool = False
    source: str = ""      # the RPM it came from ("" for installed files)
    error: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return {"path": self.path, "source": self.source or None, "needed": self.needed,
                "alsa": self.alsa, "error": self.error or None}


class CheckReport(Report):
    """check-esound's result: ALSA requirements and ELF files found."""

    def to_text(self) -> str:
        lines = list(self.notes)
        for req in self.data.get("alsa_requires", []):
            lines.append(f"ALSA  {req['rpm']}: requires {req['requires']}")
        for f in self.data.get("files", []):
            where = f"{f['source']}: " if f.get("source") else ""
            if f.get("error"):
                lines.append(f"??    {where}{f['path']}: {f['error']}")
            elif f["alsa"]:
                alsa = [n for n in f["needed"] if n.startswith(ALSA_LIB)]
                lines.append(f"ALSA  {where}{f['path']} needs {', '.join(alsa)}")
            else:
                lines.append(f"ok    {where}{f['path']} (needs {', '.join(f['needed']) or 'nothing'})")
        if self.failure:
            lines.append(f"FAIL: {self.failure}")
        elif self.data.get("installed", True):
            lines.append("OK: no ALSA in esound")
        return "\n".join(lines)


def _elf_check(path: str, data_or_path: Union[bytes, str], source: str = "") -> FileCheck:
    """``path`` checked from its bytes (an RPM member) or its host path."""
    try:
        if isinstance(data_or_path, (bytes, bytearray)):
            info = elf.parse(data_or_path)
        else:
            info = elf.parse_file(data_or_path)
    except elf.ElfError as e:
        return FileCheck(path=path, source=source, error=str(e))
    return FileCheck(path=path, needed=info.needed, alsa=info.needs(ALSA_LIB), source=source)


def _is_esound_elf(name: str) -> bool:
    return name == ESD or posixpath.basename(name).startswith("libesd.so")


def check_rpms(paths: Sequence[FilePath]) -> CheckReport:
    """Check binary esound RPMs: no libasound requirement, no libasound in
    the DT_NEEDED of their ELF files, and /usr/bin/esd among them."""
    if not paths:
        raise UsageError("check-esound: give RPM files or --installed")
    report = CheckReport(task="check-esound", data={"files": [], "alsa_requires": [], "rpms": []})
    has_esd, offenders = False, []
    for path in paths:
        with RpmPackage(path) as rpm:
            label = os.path.basename(str(path))
            if rpm.is_source:
                raise UsageError(f"{label}: a source RPM; check-esound checks binary RPMs")
            report.data["rpms"].append({"path": str(path), "nvr": rpm.nvr, "arch": rpm.arch})
            for req in rpm.requires:
                if req.startswith(ALSA_LIB) or req.startswith("alsa-lib"):
                    report.data["alsa_requires"].append({"rpm": label, "requires": req})
                    offenders.append(f"{label} requires {req}")
            for member in rpm.members():
                if member.kind != "file" or member.name.startswith("/usr/lib/debug/"):
                    continue
                if member.name == ESD:
                    has_esd = True
                # Every ELF file is checked, not just esd and libesd: an esd
                # helper (esdplay, ...) linking ALSA is just as wrong.
                data = rpm.read(member)
                if not elf.is_elf(data):
                    continue
                result = _elf_check(member.name, data, source=label)
                report.data["files"].append(result.to_dict())
                if result.alsa:
                    offenders.append(f"{member.name} in {label} needs libasound")
                elif result.error and _is_esound_elf(member.name):
                    offenders.append(f"{member.name} in {label}: {result.error}")
    report.data["alsa_found"] = offenders
    report.data["ships_esd"] = has_esd
    if offenders:
        report.failure = "ALSA found: " + "; ".join(offenders)
    elif not has_esd:
        report.failure = f"{ESD} is in none of the RPMs checked: not an esound build"
    return report


def check_installed(root: Root) -> CheckReport:
    """Check the installed esd and libesd under ``root``.

    Exit status through the report: failure when a file needs libasound (or
    cannot be read as ELF). esound not installed at all is not a failure:
    ``data["installed"]`` is False and a note says so (nothing can crash).
    libesd without esd (the EL6 shape) is not one either, but the note says
    the daemon is missing and how to build it (``data["daemon_missing"]``).
    """
    report = CheckReport(task="check-esound", root=str(root.top), data={"files": [], "installed": True})
    seen, offenders = set(), []
    for pattern in INSTALLED_PATTERNS:
        # Escape the root itself: only the pattern part may be a glob.
        base = "" if root.is_host else glob.escape(str(root.top))
        for host in sorted(glob.glob(base + pattern)):
            server = root.server_path(host)
            target = host
            if os.path.islink(host):
                # Follow a library link only inside the root (an image's
                # absolute link must not lead us to the build host's files).
                real = os.path.realpath(host)
                if not root.contains(real):
                    report.warnings.append(f"{server}: link leads outside the root, skipped")
                    continue
                target = real
                server = root.server_path(real)
            if target in seen:
                continue
            seen.add(target)
            try:
                if not stat.S_ISREG(os.stat(target).st_mode):
                    continue
            except OSError:
                report.warnings.append(f"{server}: dangling link, skipped")
                continue
            result = _elf_check(server, target)
            report.data["files"].append(result.to_dict())
            if result.alsa:
                offenders.append(f"{server} needs libasound")
            elif result.error:
                offenders.append(f"{server}: {result.error}")
    if not os.path.lexists(root.path(ESD)):
        report.data["installed"] = False
        if report.data["files"]:
            # libesd without esd: the EL6 / Fedora 8+ shape (esound-libs only).
            report.data["daemon_missing"] = True
            report.notes.append(f"the esound daemon is missing under {root.top}: libesd is installed but "
                                f"not {ESD} (RHEL 6 and Fedora 8+ ship only esound-libs); {BUILD_HINT}")
        else:
            report.notes.append(f"esound is not installed under {root.top} ({ESD} not found): nothing to check")
    if offenders:
        report.failure = "ALSA found: " + "; ".join(offenders)
    return report
