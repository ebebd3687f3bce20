"""Which sunray program the hooks call (boot hook, kernel hooks, timers).

Every hook sunray installs runs ``sunray TASK``; the path it runs goes
verbatim into a shell script and an ``ExecStart=`` line, so it is chosen
once here and checked.
"""

import os
import re
import shutil
import sys
from typing import Any, Dict, Optional

from .errors import UsageError
from .rootfs import Root

DEFAULT_PROGRAM = "/usr/bin/sunray"
# How every launcher of sunray starts its message when it finds no Python
# it can run (packaging/sunray.launcher, the pyz's __main__ on an old
# Python); the hooks recognise it, so the text lives here once and the
# tests hold those two files to it.
NO_PYTHON = "sunray: no usable Python"
# Plain characters only (no blanks, quotes, '$' or systemd's '%' specifiers).
_SAFE_PROGRAM = re.compile(r"^/[A-Za-z0-9._+@/-]+$")

# Where an installed toolkit puts its program (the RPM: /usr/bin/sunray).
INSTALLED_PROGRAMS = ("/usr/bin/sunray", "/usr/local/bin/sunray")


def program_path(settings: Dict[str, Any], root: Optional[Root] = None) -> str:
    """Absolute path of the sunray program hooks should run.

    ``sunray.program`` when set; else, for a root other than / (an image, a
    chroot), the program installed in that tree (/usr/bin/sunray,
    /usr/local/bin/sunray); else the running program when it is called
    ``sunray`` (argv[0]), else ``sunray`` on PATH, else /usr/bin/sunray.
    """
    program = settings.get("program") or ""
    if not program and root is not None and not root.is_host:
        program = next((p for p in INSTALLED_PROGRAMS
                        if os.access(root.path(p), os.X_OK) and root.path(p).is_file()), "")
    if not program:
        argv0 = sys.argv[0] if sys.argv else ""
        if os.path.basename(argv0) == "sunray" and os.access(argv0, os.X_OK):
            program = os.path.abspath(argv0)
        else:
            found = shutil.which("sunray")
            program = os.path.abspath(found) if found else DEFAULT_PROGRAM
    if not isinstance(program, str) or not _SAFE_PROGRAM.match(program) or "/../" in program:
        raise UsageError(
            f"sunray.program {program!r}: expected an absolute path without blanks, "
            "quotes or '%'"
        )
    return program
