"""Rewriting a distribution's esound.spec into an OSS-only one.

A pure text transformation (no rpm needed), so ``--dry-run`` can show it and
tests can cover every configure form. What changes:

* every configure call in a build script (``%configure``, ``%{configure}``,
  ``%{_configure}``, ``./configure``; options on the same line or on
  backslash continuation lines) runs with ``--disable-alsa``; an explicit
  ``--enable-alsa`` becomes ``--disable-alsa``;
* ALSA build requirements (``alsa-lib-devel`` and friends, also inside a
  comma or space separated list) and ALSA runtime requirements are dropped;
* ``Release:`` gets ``.SUFFIX`` appended (``2%{?dist}`` -> ``2%{?dist}.oss``,
  i.e. ``2.el5.oss``: newer than the stock ``2.el5`` and recognisably ours);
* where the spec deletes the daemon or does not package it (the EL6
  shape), esd is put back (daemon.py);
* a ``%changelog`` entry on top says what changed, with the full EVR and a
  maintainer in ``Name <address>`` form (rpmlint's format).

No configure call found: ``UsageError`` (we cannot make that build OSS-only).
"""

import re
import time
from dataclasses import dataclass, field
from typing import List, Optional

from ..core.errors import UsageError
from .daemon import restore_daemon
from .specsyntax import SECTION, logical_lines

# The configure rewrite applies to the shell-script sections only, never to
# %description, %files or %changelog.
_SCRIPT_SECTIONS = {"prep", "build", "install", "check", "conf"}
_CONFIGURE = re.compile(
    r"(?<![\w%/.-])(%configure\b|%\{configure\}|%\{_configure\}|%_configure\b|\./configure\b)"
)
_ENABLE_ALSA = re.compile(r"--enable-alsa(=(yes|no))?(?![\w-])")
_DISABLE_ALSA = re.compile(r"--disable-alsa(?![\w-])")
_DEP_TAG = re.compile(r"^(BuildRequires|Requires)(\([^)]*\))?(\s*:\s*)(.*)$", re.IGNORECASE)
_RELEASE = re.compile(r"^(Release\s*:\s*)(\S+)(\s*)$", re.IGNORECASE)
# One dependency: a name, optionally followed by an operator and a version.
_DEP = re.compile(r"([^\s,]+)(\s*(?:<=|>=|=|<|>)\s*[^\s,]+)?")
ALSA_PACKAGES = re.compile(
    r"^(alsa-lib(-devel)?|alsa-devel|alsa-lib-dev|libasound2?(-dev(el)?)?|"
    r"pkgconfig\(alsa\)|libasound\.so\.2.*)$"
)

DEFAULT_PACKAGER = "sunray build-esound <root@localhost>"

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class SpecEdit:
    """The outcome of ``rewrite()``."""

    text: str                                        # the rewritten spec
    changes: List[str] = field(default_factory=list)  # what changed, one line each
    release: str = ""                                # the new Release: value
    daemon_package: str = ""                         # where esd was put back ("" = not needed)


def changelog_date(when: Optional[float] = None) -> str:
    """rpm's changelog date ("Mon Jan 26 2009"), independent of the locale."""
    t = time.gmtime(when)
    return f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} {t.tm_year}"


def _rewrite_configure(lines: List[str], changes: List[str]) -> List[str]:
    section = "preamble"
    found = 0
    out = list(lines)
    for group in logical_lines(lines):
        first = lines[group[0]]
        m = SECTION.match(first)
        if m:
            section = m.group(1)
            continue
        if section not in _SCRIPT_SECTIONS or first.lstrip().startswith("#"):
            continue
        joined = "".join(lines[i] for i in group)
        if not _CONFIGURE.search(joined):
            continue
        found += 1
        if _DISABLE_ALSA.search(joined) and not _ENABLE_ALSA.search(joined):
            continue
        if _ENABLE_ALSA.search(joined):
            for i in group:
                out[i] = _ENABLE_ALSA.sub("--disable-alsa", out[i])
            changes.append("configure: --enable-alsa replaced by --disable-alsa")
        else:
            for i in group:  # the first line of the call that names configure
                form = _CONFIGURE.search(lines[i])
                if form:
                    out[i] = _CONFIGURE.sub(lambda m: m.group(1) + " --disable-alsa", out[i], count=1)
                    changes.append(f"configure: --disable-alsa added ({form.group(1)})")
                    break
    if not found:
        raise UsageError(
            "the spec has no configure step (%configure or ./configure in %build) "
            "that could be given --disable-alsa; refusing to build"
        )
    return out


def _drop_alsa_deps(line: str, changes: List[str]) -> Optional[str]:
    m = _DEP_TAG.match(line.rstrip("\n"))
    if not m:
        return line
    tag, qualifier, sep, value = m.group(1), m.group(2) or "", m.group(3), m.group(4)
    deps = [(d.group(1), d.group(0)) for d in _DEP.finditer(value)]
    kept = [text.strip() for name, text in deps if not ALSA_PACKAGES.match(name)]
    dropped = [name for name, _text in deps if ALSA_PACKAGES.match(name)]
    if not dropped:
        return line
    changes.append(f"{tag}: dropped {', '.join(dropped)}")
    if not kept:
        return None
    return f"{tag}{qualifier}{sep}{', '.join(kept)}\n"


def rewrite(spec_text: str, suffix: str, version: str, release: str, when: Optional[float] = None,
            packager: str = DEFAULT_PACKAGER, epoch: str = "") -> SpecEdit:
    """Rewrite ``spec_text``; ``epoch``, ``version`` and ``release`` (from the
    SRPM header) name the new build in the changelog entry, by ``packager``
    ("Name <address>")."""
    evr = f"{epoch}:%{{version}}-%{{release}}" if epoch else "%{version}-%{release}"
    restored = restore_daemon(spec_text, evr)
    lines = restored.text.splitlines(keepends=True)
    changes: List[str] = list(restored.changes)
    lines = _rewrite_configure(lines, changes)

    out, section, new_release, changelog_at = [], "preamble", None, None
    for line in lines:
        m = SECTION.match(line)
        if m:
            section = m.group(1)
            if section == "changelog" and changelog_at is None:
                out.append(line)
                changelog_at = len(out)
                continue
        if section in ("preamble", "package"):
            rm = _RELEASE.match(line.rstrip("\n"))
            if rm and section == "preamble" and new_release is None:
                value = rm.group(2)
                if value.endswith("." + suffix):
                    new_release = value
                    changes.append(f"Release: {value} already ends in .{suffix}")
                else:
                    new_release = f"{value}.{suffix}"
                    line = f"{rm.group(1)}{new_release}\n"
                    changes.append(f"Release: {value} -> {new_release}")
            else:
                kept = _drop_alsa_deps(line, changes)
                if kept is None:
                    continue
                line = kept
        out.append(line)
    if new_release is None:
        raise UsageError("the spec has no Release: line; refusing to build")

    full = f"{epoch}:{version}" if epoch else version
    entry = [
        f"* {changelog_date(when)} {packager} - {full}-{release}.{suffix}\n",
        "- Rebuilt for Sun Ray servers: OSS only, ALSA disabled\n",
        "  (--disable-alsa, ALSA build requirements dropped, Release suffix "
        f".{suffix}).\n",
    ]
    if restored.package:
        entry.append(f"- The daemon put back: /usr/bin/esd ships in {restored.package}.\n")
    entry.append("\n")
    if changelog_at is None:
        if out and out[-1].strip():
            out.append("\n")
        out.append("%changelog\n")
        out.extend(entry)
    else:
        out[changelog_at:changelog_at] = entry
    changes.append("%changelog: entry added")
    return SpecEdit(text="".join(out), changes=changes, release=new_release,
                    daemon_package=restored.package)
