"""Is /tmp mounted nodev? The one place that knows where to look.

SRSS makes device nodes under /tmp/SUNWut; a /tmp mounted ``nodev`` makes
them useless (no sound, no USB storage on the Sun Rays). Three things can
mount /tmp nodev:

* ``/etc/fstab``: its last /tmp line (``/tmp/`` counts too);
* systemd's ``tmp.mount``: the first unit file in /etc, /run, /usr/lib,
  /lib/systemd/system, its ``Options=`` as the ``tmp.mount.d/*.conf`` drop-ins
  leave it, and only when some ``*.target.wants``/``*.target.requires`` link
  enables it (a link to /dev/null masks it);
* the running system (``/proc/self/mounts``), looked at only when the root is
  the host: another root's /tmp is not mounted here.

Files are read inside the root only: links are followed the way the server
would follow them, never out of the tree. Nothing is changed.

``nodev_findings(root)`` returns ``Finding`` rows; doctor turns them into its
check row, the boot hook into warning lines.
"""

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Dict, List, Optional, Union

from ..core.errors import UsageError
from ..core.report import Check
from ..core.rootfs import Root
from ..core.safeio import read_text

MOUNTS = "/proc/self/mounts"
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system",
             "/usr/lib/systemd/system", "/lib/systemd/system")
WHY = "SRSS makes device nodes under /tmp/SUNWut"

FIX_REMOUNT = "`mount -o remount,dev /tmp`"
FIX_FSTAB = f"edit /etc/fstab: drop 'nodev' from the /tmp line, then {FIX_REMOUNT}"
FIX_UNIT = ("`systemctl edit tmp.mount` and set [Mount] Options= without nodev "
            "(e.g. Options=mode=1777,strictatime,nosuid), then " + FIX_REMOUNT)

# Finding kinds.
NODEV = "nodev"          # /tmp is, or after the next boot will be, mounted nodev
DORMANT = "dormant"      # nodev is configured where nothing uses it yet (unit not enabled)
UNCHECKED = "unchecked"  # a source could not be read: nobody knows


@dataclass(frozen=True)
class Finding:
    """One reason to worry about /tmp and nodev."""

    source: str  # the file that says so (a server path) or /proc/self/mounts
    reason: str  # one line, starting with what is wrong
    fix: str     # the step (or command) that mends it
    kind: str = NODEV

    def warning(self) -> str:
        """The finding as one plain warning line for an admin."""
        if self.kind == NODEV:
            return f"{self.reason}: {WHY}; fix: {self.fix}"
        return f"{self.reason}; fix: {self.fix}"

    def to_dict(self) -> Dict[str, str]:
        return {"source": self.source, "reason": self.reason, "fix": self.fix,
                "kind": self.kind}


# --- parsing (pure text in, options out) -----------------------------------


def fstab_tmp_entry(text: str) -> Optional[List[str]]:
    """The fields of the last /tmp line of an fstab text, or None."""
    entry = None
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 4 and fields[1].rstrip("/") == "/tmp":
            entry = fields
    return entry


def fstab_tmp_options(text: str) -> Optional[List[str]]:
    """Mount options of the last /tmp line of an fstab text, or None."""
    entry = fstab_tmp_entry(text)
    return entry[3].split(",") if entry else None


def unit_options(text: str) -> Optional[List[str]]:
    """The last ``Options=`` of a mount unit's [Mount] section, or None.

    An empty ``Options=`` resets to no options (``[]``), as in systemd.
    """
    options, section = None, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "Mount" and "=" in line:
            key, value = line.split("=", 1)
            if key.strip() == "Options":
                options = [o for o in value.strip().split(",") if o]
    return options


def mounted_tmp_options(mounts_text: str) -> Optional[List[str]]:
    """Options of the /tmp mount in a /proc/self/mounts text, or None (not a mount)."""
    options = None
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[1] == "/tmp":
            options = fields[3].split(",")  # the last mount on /tmp is the one seen
    return options


# --- reading inside the root ------------------------------------------------


def _read(root, server_path, what):
    """Text of a file under the root, or None when it is absent or /dev/null.

    Links are followed inside the root (``Root.resolve``); a file that is
    not a regular text file raises UsageError naming it.
    """
    resolved = root.resolve(server_path)
    if resolved is None or resolved == "/dev/null":
        return None
    return read_text(root, resolved, what)


def _entry(root, server_path):
    """Host path of ``server_path`` itself (not followed), its directory
    resolved inside the root; None when it does not exist."""
    path = PurePosixPath(server_path)
    parent = root.resolve(str(path.parent))
    if parent is None:
        return None
    host = root.path(parent) / path.name
    return host if os.path.lexists(host) else None


def _names(root, server_dir):
    """Entry names of a directory under the root (resolved inside it), sorted."""
    resolved = root.resolve(server_dir)
    if resolved is None:
        return resolved, []
    try:
        return resolved, sorted(os.listdir(root.path(resolved)))
    except (NotADirectoryError, FileNotFoundError):
        return resolved, []


def _dropins(root):
    """Server paths of tmp.mount's drop-ins in the order systemd applies them:
    by file name, a name in an earlier directory hiding the same name later."""
    chosen = {}
    for directory in UNIT_DIRS:
        resolved, names = _names(root, f"{directory}/tmp.mount.d")
        for name in names:
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = f"{resolved}/{name}"
    return [chosen[name] for name in sorted(chosen)]


def _enabled(root):
    """A ``*.target.wants`` or ``*.target.requires`` link pulls tmp.mount in."""
    for directory in UNIT_DIRS:
        resolved, names = _names(root, directory)
        for name in names:
            if (name.endswith((".target.wants", ".target.requires"))
                    and _entry(root, f"{resolved}/{name}/tmp.mount") is not None):
                return True
    return False


def tmp_mount_unit(root: Root) -> Optional[Dict[str, Any]]:
    """What systemd would use for /tmp, or None when there is no tmp.mount.

    A dict: ``path`` (the unit file found first), ``masked`` (a link to
    /dev/null), ``enabled``, ``options`` (after the drop-ins) and
    ``options_from`` (the file whose Options= counts: the unit or a drop-in).
    Raises UsageError when one of these files cannot be read as text.
    """
    unit, host = None, None
    for directory in UNIT_DIRS:
        host = _entry(root, f"{directory}/tmp.mount")
        if host is not None:
            unit = f"{directory}/tmp.mount"
            break
    if unit is None or host is None:  # both or neither
        return None
    if os.path.islink(host) and os.readlink(host) == "/dev/null":
        return {"path": unit, "masked": True, "enabled": False,
                "options": [], "options_from": unit}
    options = unit_options(_read(root, unit, "unit file") or "")
    options_from = unit
    for dropin in _dropins(root):
        override = unit_options(_read(root, dropin, "drop-in") or "")
        if override is not None:
            options, options_from = override, dropin
    return {"path": unit, "masked": False, "enabled": _enabled(root),
            "options": options or [], "options_from": options_from}


# --- findings ---------------------------------------------------------------


def _unchecked(source, error):
    return Finding(source, f"cannot check {source} for a nodev /tmp: {error}",
                   "look at the file named, then check again", UNCHECKED)


def fstab_findings(root: Root) -> List[Finding]:
    """/etc/fstab mounts /tmp nodev (its last /tmp line counts)."""
    try:
        entry = fstab_tmp_entry(_read(root, "/etc/fstab", "fstab") or "")
    except UsageError as e:
        return [_unchecked("/etc/fstab", e)]
    if entry is None or "nodev" not in entry[3].split(","):
        return []
    return [Finding("/etc/fstab", f"/tmp is mounted nodev by /etc/fstab ({' '.join(entry[:4])})",
                    FIX_FSTAB)]


def unit_findings(root: Root) -> List[Finding]:
    """systemd's tmp.mount mounts /tmp nodev (or would, once enabled)."""
    try:
        unit = tmp_mount_unit(root)
    except UsageError as e:
        return [_unchecked("systemd's tmp.mount", e)]
    if unit is None or unit["masked"] or "nodev" not in unit["options"]:
        return []
    where = unit["path"]
    if unit["options_from"] != where:
        where += f" with {unit['options_from']}"
    if not unit["enabled"]:
        return [Finding(unit["options_from"],
                        f"{where} has nodev but is not enabled: enabling it would break SRSS",
                        FIX_UNIT, DORMANT)]
    return [Finding(unit["options_from"],
                    f"/tmp is mounted nodev by {where} (enabled, "
                    f"Options={','.join(unit['options'])})", FIX_UNIT)]


def live_findings(root: Root, mounts: Optional[Union[str, Path]] = None) -> List[Finding]:
    """/tmp is mounted nodev right now. Only for the host's own root.

    ``mounts`` is a file in /proc/self/mounts format (None: ``MOUNTS``, ""
    skips the look); a missing or unreadable one (a container) says nothing.
    """
    if mounts is None:
        mounts = MOUNTS
    if not root.is_host or not mounts:
        return []
    try:
        options = mounted_tmp_options(Path(mounts).read_text(errors="replace"))
    except OSError:
        return []
    if options is None or "nodev" not in options:
        return []
    return [Finding(str(mounts), f"/tmp is mounted nodev now ({mounts})", FIX_REMOUNT)]


def nodev_findings(root: Root, mounts: Optional[Union[str, Path]] = None) -> List[Finding]:
    """Every reason /tmp is, will be, or could be mounted nodev (see ``Finding.kind``)."""
    return fstab_findings(root) + unit_findings(root) + live_findings(root, mounts)


def check_tmp_nodev(root: Root, settings: Dict[str, Any],
                    mounts: Optional[Union[str, Path]] = None) -> List[Check]:
    """SRSS keeps device nodes under /tmp/SUNWut: /tmp must not be nodev.

    ``mounts`` stands in for /proc/self/mounts (see ``live_findings``).
    """
    title = "/tmp allows device nodes"
    findings = nodev_findings(root, mounts)
    nodev = [f for f in findings if f.kind == NODEV]
    if nodev:
        return [Check("tmp-nodev", title, "fail",
                      "; ".join(f.reason for f in nodev) + f" ({WHY})", nodev[0].fix)]
    if findings:  # nodev waiting in a unit not enabled, or a file that could not be read
        return [Check("tmp-nodev", title, "warn",
                      "; ".join(f.reason for f in findings), findings[0].fix)]
    return [Check("tmp-nodev", title, "ok", "/tmp is not mounted nodev")]


CHECKS = (check_tmp_nodev,)
