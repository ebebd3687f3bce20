"""systemd-tmpfiles (RHEL 7+, Debian): the drop-in ``/etc/tmpfiles.d/sunray.conf``.

The drop-in (see ``dropin``) holds an ``x`` line per protected path. It is
sunray's own file, so ``--cleaner tmpfiles`` writes it even where
systemd-tmpfiles was not found. The boot hook installs the same file.
"""

import os
from typing import List

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


def missing(root: Root, protect: List[str]) -> List[str]:
    """Paths no tmpfiles.d file excludes with an x line (same-named files in
    /etc override /run, which override /usr/lib)."""
    seen, excluded = set(), set()
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
                if len(fields) >= 2 and fields[0] in ("x", "x!"):
                    excluded.add(norm_path(fields[1]))
    return [p for p in protect if norm_path(p) not in excluded]


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
    plan=plan,
    aliases=("systemd-tmpfiles",),
    own_file=True,
    revert_note=f"{dropin.DROPIN} is shared with install-boot-hook: run that task "
                "again if the boot hook should stay",
)
