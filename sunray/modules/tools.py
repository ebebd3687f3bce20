"""The tools builds and installs run (make, patch, modinfo, depmod), run
with a clean environment into a log, the safe way to the directories and
files they write under the root, and the build scratch directories a killed
run may leave behind (``sunray-kbuild-<random>`` in DIR/var/tmp; its
temporary files are safeio's ``.NAME.<random>.sunray-tmp``)."""

import os
import re
import shutil
import stat
from pathlib import Path
from typing import Dict, List, Optional, TextIO, Union

from ..core.errors import JobFailed
from ..core.rootfs import Root

SCRATCH_PREFIX = "sunray-kbuild-"
# The compilers' TMPDIR inside a scratch directory.
SCRATCH_TMP = "tmp"
_SCRATCH_NAME = re.compile(r"^sunray-kbuild-[A-Za-z0-9_]{8}$")  # mkdtemp's 8 characters

# Environment variables that would make our make calls stack -j or inherit a
# parent make's state.
_MAKE_ENV = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS")


def find_tool(name: str) -> str:
    """The program ``name`` on PATH or in the sbin directories (JobFailed
    naming the package when it is missing)."""
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}", f"/usr/bin/{name}")
         if os.access(p, os.X_OK)), None)
    if not found:
        package = {"depmod": "kmod", "modinfo": "kmod"}.get(name, name)
        raise JobFailed(f"{name} not found: install the {package} package")
    return found


def clean_env() -> Dict[str, str]:
    """The environment for the tools: no outer make's state, C locale."""
    env = {k: v for k, v in os.environ.items() if k not in _MAKE_ENV}
    env["LC_ALL"] = "C"
    return env


def run_logged(cmd: List[str], log: TextIO, cwd: Optional[str] = None,
               env: Optional[Dict[str, str]] = None) -> int:
    """Run cmd (an argument list), appending stdout+stderr to the open log;
    its exit status. ``env``: variables set on top of clean_env()."""
    import subprocess

    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                          env=dict(clean_env(), **(env or {})), stdin=subprocess.DEVNULL)
    log.flush()
    return proc.returncode


def modinfo(field_name: str, path: Union[str, Path]) -> Optional[str]:
    """One field of a .ko's modinfo, or None when modinfo fails."""
    from ..core.subprocesses import run_captured

    proc = run_captured([find_tool("modinfo"), "-F", field_name, str(path)])
    if proc.returncode != 0:
        return None
    return proc.stdout.strip()


def safe_dir(root: Root, host_dir: Path, create: bool = True) -> Path:
    """``host_dir`` (a path under the root) made, or only checked with
    create=False, by Root.makedirs: its real location, reached without a
    symlink out of the root (UsageError otherwise)."""
    return root.makedirs(root.server_path(host_dir), create=create).host


def open_nofollow(path: str, flags: int) -> int:
    """open() opener: never write through a symlink at a log's name."""
    return os.open(path, flags | os.O_NOFOLLOW, 0o644)


def scratch_leftovers(base: Optional[str]) -> List[Path]:
    """Build scratch directories (``sunray-kbuild-XXXXXXXX``) in ``base``:
    real directories, owned by root or by us. Under the lock, all of them
    are a killed run's."""
    if base is None:
        return []
    found = []
    try:
        names = os.listdir(base)
    except OSError:
        return []
    for name in sorted(names):
        if not _SCRATCH_NAME.match(name):
            continue
        path = Path(base) / name
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_uid in (0, os.geteuid()):
            found.append(path)
    return found
