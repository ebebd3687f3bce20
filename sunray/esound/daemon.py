"""Putting esd back into a spec that no longer ships it (the EL6 shape).

Fedora 8+ and RHEL 6 (and their derivatives) build esound but ship only
esound-libs, esound-tools and esound-devel: their %install deletes the
daemon (``rm -f $RPM_BUILD_ROOT%{_bindir}/esd ...esd.1*``), since they use
PulseAudio. A Sun Ray server needs the daemon, so ``restore_daemon()``:

* drops ``esd`` and ``esd.1*`` from the ``rm`` lines of %install (a line
  left with nothing to delete goes);
* when no %files section then lists /usr/bin/esd, adds it: in a new
  ``%{name}-daemon`` subpackage requiring the -libs package of the same
  EVR where the spec splits off -libs, else in the main package's %files.

A spec that already ships esd is returned unchanged. A pure text
transformation like spec.py, so ``--dry-run`` shows it.
"""

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Tuple

from .specsyntax import SECTION, logical_lines

ESD = "/usr/bin/esd"
ESD_MAN = "%{_mandir}/man1/esd.1*"

_LIBS_PACKAGE = re.compile(r"^%package\s+(libs|-n\s+(%\{name\}|esound)-libs)\s*$")
_BINDIR = re.compile(r"%\{?_bindir\}?|%\{?_exec_prefix\}?/bin|%\{?_prefix\}?/bin|%\{?_usr\}?/bin")
# A deletion argument naming the daemon or its man page.
_ESD_ARG = re.compile(r"""(^|/)esd(\.1(\.gz|\*)?|\*)?["']?$""")
# Any %install line that names esd (for saying where a build lost it).
_ESD_WORD = re.compile(r"(?<![\w.-])esd(?![\w-])")
_DELETES = re.compile(r"(^|[\s;&|(])(rm|unlink)\s|-delete\b")
_FILE_DIRECTIVE = re.compile(r"^(%(attr|config|verify|caps|lang)\([^)]*\)|%(config|doc|ghost|dir|license|readme))\s*")


@dataclass
class DaemonRestore:
    """The outcome of ``restore_daemon()``."""

    text: str                                         # the spec, esd put back if needed
    changes: List[str] = field(default_factory=list)  # what changed, one line each
    package: str = ""                                 # where esd now is, e.g. esound-daemon ("" = unchanged)


def _sections(lines: List[str]) -> Iterator[Tuple[int, str, str]]:
    """(index, section, section arguments) for every line."""
    section, args = "preamble", ""
    for i, line in enumerate(lines):
        m = SECTION.match(line)
        if m:
            section, args = m.group(1), m.group(2).strip()
        yield i, section, args


def esd_removals(spec_text: str) -> List[Tuple[int, str]]:
    """(line number, text) of every %install line that deletes something named esd."""
    lines = spec_text.splitlines()
    found = []
    for i, section, _args in _sections(lines):
        line = lines[i]
        if section == "install" and not line.lstrip().startswith("#") and _ESD_WORD.search(line) \
                and _DELETES.search(line):
            found.append((i + 1, line.strip()))
    return found


def _files_package(args: str) -> Tuple[str, bool]:
    """The package a %files header is for ("" = main), and whether it has -f."""
    words = args.split()
    has_list = "-f" in words
    name = ""
    skip = False
    for j, word in enumerate(words):
        if skip:
            skip = False
            continue
        if word == "-f":
            skip = True
        elif word == "-n" and j + 1 < len(words):
            name = words[j + 1]
            skip = True
        elif not word.startswith("-"):
            name = "%{name}-" + word
    return name, has_list


def esd_packaged(lines: List[str]) -> Tuple[Optional[str], bool]:
    """(the package whose %files lists /usr/bin/esd or None, whether any %files
    uses a -f file list we cannot read)."""
    listed, excluded, lists = None, False, False
    for i, section, args in _sections(lines):
        if section != "files":
            continue
        if SECTION.match(lines[i]):
            lists = lists or _files_package(args)[1]
            continue
        entry = lines[i].strip()
        if not entry or entry.startswith("#") or entry.startswith("%defattr"):
            continue
        exclude = entry.startswith("%exclude")
        if exclude:
            entry = entry[len("%exclude"):].strip()
        while True:
            stripped = _FILE_DIRECTIVE.sub("", entry, count=1)
            if stripped == entry:
                break
            entry = stripped
        path = _BINDIR.sub("/usr/bin", entry)
        if path and fnmatch.fnmatchcase(ESD, path):
            if exclude:
                excluded = True
            elif listed is None:
                listed = _files_package(args)[0] or "%{name}"
    return (None if excluded else listed), lists


def _drop_deletions(lines: List[str], changes: List[str]) -> Tuple[List[str], bool]:
    """``lines`` without esd and esd.1* in the rm lines of %install; and
    whether the man page was among them."""
    out: List[str] = []
    man = False
    section = "preamble"
    for indices in logical_lines(lines):
        m = SECTION.match(lines[indices[0]])
        if m:
            section = m.group(1)
        if lines[indices[-1]].rstrip("\n").endswith("\\"):  # the spec ends mid-line
            out.extend(lines[j] for j in indices)
            continue
        joined = " ".join(lines[j].rstrip("\n").rstrip("\\").strip() for j in indices)
        words = joined.split()
        if section != "install" or not words or words[0] not in ("rm", "/bin/rm", "%{__rm}"):
            out.extend(lines[j] for j in indices)
            continue
        dropped = [w for w in words[1:] if not w.startswith("-") and _ESD_ARG.search(w)]
        if not dropped:
            out.extend(lines[j] for j in indices)
            continue
        man = man or any(".1" in w for w in dropped)
        kept = [w for w in words if w not in dropped]
        where = f"line {indices[0] + 1}"
        if [w for w in kept[1:] if not w.startswith("-")]:
            indent = lines[indices[0]][:len(lines[indices[0]]) - len(lines[indices[0]].lstrip())]
            out.append(indent + " ".join(kept) + "\n")
            changes.append(f"%install: {where} no longer deletes {' '.join(dropped)}")
        else:
            changes.append(f"%install: {where} ({joined.strip()}) dropped: it deleted the daemon")
    return out, man


def _daemon_package(evr: str) -> List[str]:
    return [
        "%package daemon\n",
        "Summary: The EsounD sound daemon, OSS only (put back by sunray build-esound)\n",
        "Group: System Environment/Daemons\n",
        "License: GPLv2+\n",
        f"Requires: %{{name}}-libs%{{?_isa}} = {evr}\n",
        "\n",
        "%description daemon\n",
        "esd, the Enlightened Sound Daemon: it mixes several digitized audio streams\n",
        "for playback by a single audio device. The distribution's spec no longer\n",
        "ships it; sunray build-esound put it back, built for OSS only (no ALSA),\n",
        "for Sun Ray servers.\n",
        "\n",
    ]


def _files_lines(man: bool) -> List[str]:
    return ["%{_bindir}/esd\n"] + ([ESD_MAN + "\n"] if man else [])


def _insert_before(lines: List[str], section: str, new: List[str]) -> List[str]:
    """``new`` before the first ``%section`` header (at the end without one)."""
    for i, line in enumerate(lines):
        m = SECTION.match(line)
        if m and m.group(1) == section:
            return lines[:i] + new + lines[i:]
    tail = [] if not lines or not lines[-1].strip() else ["\n"]
    return lines + tail + new


def _add_to_main_files(lines: List[str], man: bool) -> List[str]:
    """esd (and its man page) at the end of the main package's %files."""
    start = None
    for i, section, args in _sections(lines):
        if section == "files" and SECTION.match(lines[i]) and not _files_package(args)[0]:
            start = i
            break
    if start is None:
        block = ["%files\n", "%defattr(-,root,root,-)\n"] + _files_lines(man) + ["\n"]
        return _insert_before(lines, "changelog", block)
    end = start + 1
    while end < len(lines) and not SECTION.match(lines[end]):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return lines[:end] + _files_lines(man) + lines[end:]


def restore_daemon(spec_text: str, evr: str) -> DaemonRestore:
    """Put esd back into ``spec_text`` when it deletes or does not package it.

    ``evr`` is what the daemon subpackage requires of -libs (a literal
    ``1:0.2.41-%{release}`` or macros). Unchanged when esd is shipped.
    """
    lines = spec_text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    changes: List[str] = []
    lines, man = _drop_deletions(lines, changes)
    package, lists = esd_packaged(lines)
    if package is not None or (lists and not changes):
        # Shipped already (or by a file list we cannot see, with nothing deleted).
        if changes:
            changes.append(f"%files: {ESD} now ships in {_literal(package)} (its %files already lists it)")
        return DaemonRestore("".join(lines), changes, _literal(package) if changes else "")
    if any(_LIBS_PACKAGE.match(line) for line in lines):
        package = "%{name}-daemon"
        lines = _insert_before(lines, "prep", _daemon_package(evr))
        files = ["%files daemon\n", "%defattr(-,root,root,-)\n"] + _files_lines(man) + ["\n"]
        lines = _insert_before(lines, "changelog", files)
        changes.append(f"%package daemon added (esound-daemon: {ESD}"
                       f"{' and its man page' if man else ''}, requires esound-libs = {evr})")
    else:
        package = "%{name}"
        lines = _add_to_main_files(lines, man)
        changes.append(f"%files: {ESD}{' and its man page' if man else ''} added to the main package")
    return DaemonRestore("".join(lines), changes, _literal(package))


def _literal(package: Optional[str]) -> str:
    # Said in the plan and the %changelog, where rpm would expand a macro.
    return (package or "").replace("%{name}", "esound")
