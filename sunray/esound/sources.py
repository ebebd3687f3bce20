"""What build-esound builds from: the distribution's source RPM or an upstream tarball.

Both are untrusted input, checked before anything is built:

* a source RPM must be esound's, a source (not a binary) RPM whose payload
  matches the digest in its header and holds exactly one spec, which the
  OSS-only rewrite (spec.py) then changes;
* a tarball must be named esound-VERSION.tar.gz (.tgz, .tar.bz2, .tar.xz),
  hold nothing but esound-VERSION/ (no absolute or '..' names, no devices,
  no links leaving that tree) and a configure script; its spec is rendered
  from templates/esound.spec.j2.

Any problem is a ``UsageError`` naming the file; nothing has been written.
"""

import os
import posixpath
import re
import tarfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..core.errors import UsageError
from ..core.safeio import stat_input
from ..core.templating import render
from . import spec
from .rpm import FilePath, RpmPackage

PACKAGE = "esound"
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+){0,4}$")
_TARBALL = re.compile(r"^esound-([0-9][0-9.]*)\.(tar\.gz|tgz|tar\.bz2|tar\.xz)$")


@dataclass
class Sources:
    """What rpmbuild gets: the source files and the spec, before and after."""

    version: str                     # esound's version, e.g. "0.2.36"
    files: Dict[str, bytes]          # file name -> content, for SOURCES/
    spec_name: str                   # the spec's file name, for SPECS/
    old_spec: str                    # the SRPM's spec ("" for a tarball)
    new_spec: str                    # the spec rpmbuild runs
    spec_changes: List[str] = field(default_factory=list)  # one line each
    release: str = ""                # the SRPM's Release ("" for a tarball)
    daemon_package: str = ""         # where esd was put back ("" = not needed)


def read_sources(srpm: Optional[FilePath], tarball: Optional[FilePath], suffix: str,
                 when: float, packager: str = spec.DEFAULT_PACKAGER) -> Sources:
    """The checked ``Sources`` of exactly one of ``srpm`` and ``tarball``,
    with the OSS-only spec whose Release ends in ``.suffix`` and whose
    changelog entry names ``packager``."""
    if srpm and not tarball:
        facts, files, spec_name = read_srpm(srpm)
        old_spec = _decode_spec(files.pop(spec_name), os.path.basename(str(srpm)))
        edit = spec.rewrite(old_spec, suffix, facts["version"], facts["release"], when=when,
                            packager=packager, epoch=facts["epoch"])
        return Sources(facts["version"], files, spec_name, old_spec, edit.text, edit.changes,
                       release=facts["release"], daemon_package=edit.daemon_package)
    if tarball and not srpm:
        facts, files, spec_name, new_spec = read_tarball(tarball, suffix, when, packager)
        changes = [f"spec from templates/esound.spec.j2 for esound {facts['version']}"]
        return Sources(facts["version"], files, spec_name, "", new_spec, changes)
    raise UsageError("build-esound: give exactly one of --srpm FILE or --tarball FILE")


def read_srpm(path: FilePath) -> Tuple[Dict[str, str], Dict[str, bytes], str]:
    """Validate the esound SRPM; return (rpm facts, {member: bytes}, spec name)."""
    with RpmPackage(path) as rpm:
        label = os.path.basename(str(path))
        if not rpm.is_source:
            raise UsageError(f"{label}: a binary RPM ({rpm.nvr}.{rpm.arch}); give the esound source RPM (.src.rpm)")
        if rpm.name != PACKAGE:
            raise UsageError(f"{label}: the source RPM of {rpm.name!r}, not of {PACKAGE}")
        rpm.verify_payload_digest()
        files = rpm.read_all()
        facts = {"name": rpm.name, "version": rpm.version, "release": rpm.release, "epoch": rpm.epoch}
    specs = [name for name in files if name.endswith(".spec")]
    if len(specs) != 1:
        raise UsageError(f"{label}: expected one .spec file in the source RPM, found {len(specs)}")
    return facts, files, specs[0]


def _decode_spec(data: bytes, label: str) -> str:
    if b"\0" in data:
        raise UsageError(f"{label}: the spec file is binary data")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_tarball(path: FilePath, suffix: str, when: Optional[float],
                 packager: str = spec.DEFAULT_PACKAGER) -> Tuple[Dict[str, str], Dict[str, bytes], str, str]:
    """Validate an upstream tarball; return (facts, {name: bytes}, spec name, spec text)."""
    label = os.path.basename(str(path))
    m = _TARBALL.match(label)
    if not m or not _VERSION.match(m.group(1)):
        raise UsageError(f"{label}: expected an upstream tarball named esound-VERSION.tar.gz (or .tar.bz2, .tar.xz)")
    version = m.group(1)
    stat_input(path)
    topdir = f"esound-{version}"
    try:
        with tarfile.open(path, "r:*") as tar:
            has_configure = False
            for member in tar:
                _check_tar_member(member, topdir, label)
                if member.name.rstrip("/") == f"{topdir}/configure" and member.isfile():
                    has_configure = True
    except tarfile.TarError:
        raise UsageError(f"{label}: not a readable tar archive (gzip, bzip2 or xz)") from None
    except (EOFError, OSError, ValueError) as e:
        raise UsageError(f"{label}: corrupt or truncated tar archive ({type(e).__name__})") from None
    if not has_configure:
        raise UsageError(f"{label}: no {topdir}/configure in the tarball: not an esound release tarball")
    with open(path, "rb") as f:
        data = f.read()
    spec_text = render(
        "esound.spec.j2",
        version=version,
        suffix=suffix,
        source=label,
        topdir=topdir,
        date=spec.changelog_date(when),
        packager=packager,
    )
    facts = {"name": PACKAGE, "version": version, "release": f"1.{suffix}"}
    return facts, {label: data}, "esound.spec", spec_text


def _check_tar_member(member: tarfile.TarInfo, topdir: str, label: str) -> None:
    name = member.name
    parts = name.split("/")
    if name.startswith("/") or ".." in parts or parts[0] != topdir:
        raise UsageError(f"{label}: unsafe or unexpected member {name!r} (everything must be under {topdir}/)")
    if member.isdev() or member.isfifo():
        raise UsageError(f"{label}: device or fifo member {name!r}")
    if member.issym() or member.islnk():
        # Symlink targets are relative to the link's directory, hard link
        # targets to the archive's top; both must stay in the source tree.
        target = member.linkname
        base = "" if member.islnk() else posixpath.dirname(name)
        resolved = posixpath.normpath(posixpath.join(base, target))
        if target.startswith("/") or not (resolved == topdir or resolved.startswith(topdir + "/")):
            raise UsageError(f"{label}: link {name!r} -> {target!r} leaves the source tree")
