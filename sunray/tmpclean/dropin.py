"""The systemd-tmpfiles drop-in, shared by patch-tmpwatch and the boot hook.

One file, ``/etc/tmpfiles.d/sunray.conf``: an ``x`` line per protected path
(never aged) and a ``d`` line that creates the esd directory at boot. Files in
/etc/tmpfiles.d override same-named ones in /usr/lib/tmpfiles.d, so the name
is ours alone.
"""

import re

from ..core.errors import UsageError
from ..core.templating import render

DROPIN = "/etc/tmpfiles.d/sunray.conf"

# tmpfiles.d fields are whitespace-separated: a path with blanks or control
# characters would be split or misread, so refuse it.
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._+@%/*?\[\]-]+$")


def check_path(path: str, what: str = "protected path") -> str:
    """``path`` when it is safe in a tmpfiles.d line; else a UsageError."""
    if not isinstance(path, str) or not _SAFE_PATH.match(path) or "/../" in path + "/":
        raise UsageError(f"{what} {path!r}: expected an absolute path without blanks or '..'")
    return path


def content(settings: dict) -> str:
    """The drop-in's text for these settings (protected paths, esd directory)."""
    protect = [check_path(p) for p in settings["tmp"]["protect"]]
    esd_dir = check_path(settings["esd"]["dir"], "esd directory")
    return render("tmpfiles-sunray.conf.j2", path=DROPIN,
                  protect=protect, esd_dir=esd_dir)

