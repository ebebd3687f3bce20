"""systemd-tmpfiles (RHEL 7+, Debian): the drop-in ``/etc/tmpfiles.d/sunray.conf``.

The drop-in (see ``dropin``) holds an ``x`` line per protected path. It is
sunray's own file, so ``--cleaner tmpfiles`` writes it even where
systemd-tmpfiles was not found. The boot hook installs the same file.
"""

import fnmatch
import os
from typing import Iterator, List, Tuple

from ..core.rootfs import Root
from . import dropin
from .base import Cleaner, Plan, norm_path, refuse_symlink

# Searched in this order: a same-named file in an earlier directory wins.
TMPFILES_DIRS = ("/etc/tmpfiles.d", "/run/tmpfiles.d", "/usr/lib/tmpfiles.d")
TMPFILES_BINARIES = ("/usr/bin/systemd-tmpfiles", "/bin/systemd-tmpfiles",
                     "/usr/sbin/systemd-tmpfiles", "/sbin/systemd-tmpfiles")


def detect(root: Root) -> bool:
    """A tmpfiles.d directory (not /run: it is made at boot) or the binary."""
    return any(os.path.isdir(root.path(d)) for d in ("/etc/tmpfiles.d", "/usr/lib/tmpfiles.d")) or any(
        os.path.lexists(root.path(b)) for b in TMPFILES_BINARIES)


def _config_lines(root: Root) -> Iterator[Tuple[str, List[str]]]:
    """(server path of the file, fields) of every line of the tmpfiles.d
    files in force: a same-named file in /etc overrides /run's, which
    overrides /usr/lib's."""
    seen = set()
    for d in TMPFILES_DIRS:
        host = root.path(d)
        if not host.is_dir():
            continue
        for f in sorted(host.glob("*.conf")):
            if f.name in seen:
                continue
            seen.add(f.name)
            try:
                lines = f.read_text(errors="replace").splitlines()
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if len(fields) >= 2 and not fields[0].startswith("#"):
                    yield f"{d}/{f.name}", fields


def missing(root: Root, protect: List[str]) -> List[str]:
    """Paths no tmpfiles.d file excludes with an x line."""
    excluded = {norm_path(fields[1]) for _, fields in _config_lines(root) if fields[0] in ("x", "x!")}
    return [p for p in protect if norm_path(p) not in excluded]


# Types whose age field (the 6th) makes systemd-tmpfiles --clean delete what
# is below the path; D (contents) and R, r (the path itself) are removed by
# --remove, which runs at every boot.
_AGED_TYPES = ("d", "D", "e", "v", "q", "Q")
_REMOVED_TYPES = ("D", "R", "r")


def _deletes(fields: List[str], path: str) -> bool:
    kind = fields[0].rstrip("!-=~^+")  # modifiers: ! boot only, - errors ignored...
    target = norm_path(fields[1])
    below = path != target and any(fnmatch.fnmatchcase(parent, target) for parent in _parents(path))
    aged = kind in _AGED_TYPES and len(fields) >= 6 and fields[5] != "-" and below
    removed = kind in _REMOVED_TYPES and (below or (kind != "D" and fnmatch.fnmatchcase(path, target)))
    return aged or removed


def _parents(path: str) -> List[str]:
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts))] or ["/"]


def deleters(root: Root, paths: List[str]) -> List[str]:
    """The tmpfiles.d files (server paths) whose lines would delete one of
    ``paths``: an aged directory above it (``q /tmp 1777 root root 10d``) or
    one emptied at boot (``D /tmp``, Debian's /usr/lib/tmpfiles.d/tmp.conf)."""
    wanted = [norm_path(p) for p in paths]
    found = [name for name, fields in _config_lines(root) if any(_deletes(fields, p) for p in wanted)]
    return list(dict.fromkeys(found))


def plan(root: Root, settings: dict, protect: List[str]) -> Plan:
    """The drop-in as the settings want it; nothing to write when it already is."""
    refuse_symlink(root, dropin.DROPIN)
    edit = Plan(CLEANER.name, dropin.DROPIN)
    content = dropin.content(settings).encode()
    host = root.path(dropin.DROPIN)
    if host.is_file() and host.read_bytes() == content:
        edit.summary = "drop-in already in place"
    else:
        edit.content = content
        edit.added = list(protect)
        edit.summary = f"drop-in with x lines for {', '.join(protect)} and the esd directory"
    return edit


CLEANER = Cleaner(
    name="tmpfiles",
    file=dropin.DROPIN,
    looked_for="tmpfiles.d directories, systemd-tmpfiles",
    detect=detect,
    missing=missing,
    deleters=deleters,
    plan=plan,
    aliases=("systemd-tmpfiles",),
    own_file=True,
    revert_note=f"{dropin.DROPIN} is shared with install-boot-hook: run that task "
                "again if the boot hook should stay",
)
