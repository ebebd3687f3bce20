"""The systemd-tmpfiles drop-in, shared by patch-tmpwatch and the boot hook.

One file, ``/etc/tmpfiles.d/sunray.conf``: an ``x`` line per protected path
(never aged) and a ``d`` line that creates the esd directory at boot. Files in
/etc/tmpfiles.d override same-named ones in /usr/lib/tmpfiles.d, so the name
is ours alone.
"""

import re

from ..errors import UsageError
from ..templating import render

DROPIN = "/etc/tmpfiles.d/sunray.conf"

# tmpfiles.d fields are whitespace-separated: a path with blanks or control
# characters would be split or misread, so refuse it.
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._+@%/*?\[\]-]+$")


def check_path(path, what="protected path"):
    if not isinstance(path, str) or not _SAFE_PATH.match(path) or "/../" in path + "/":
        raise UsageError(f"{what} {path!r}: expected an absolute path without blanks or '..'")
    return path


def content(config):
    protect = [check_path(p) for p in config["tmp"]["protect"]]
    esd_dir = check_path(config["esd"]["dir"], "esd directory")
    return render("tmpfiles-sunray.conf.j2", path=DROPIN,
                  protect=protect, esd_dir=esd_dir)


def write(editor, config):
    """Write (or keep) the drop-in through a FileEditor; returns the FileChange."""
    return editor.write(DROPIN, content(config), mode=0o644)
