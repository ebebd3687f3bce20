"""The tools builds and installs run (make, patch, modinfo, depmod), run
with a clean environment into a log, the safe way to the directories and
files they write under the root, and the temporary names a killed run may
leave behind: ``.NAME.<random>.sunray-tmp`` (staged .ko files, the old ones
kept aside while a kernel's set is swapped, logs being written) and
``sunray-kbuild-<random>`` (build scratch space in DIR/var/tmp), each
removed by the next run or removal under the lock."""

import os
import re
import shutil
import stat
from pathlib import Path
from typing import Dict, List, Optional, TextIO, Union

from ..errors import JobFailed
from ..rootfs import Root

# .NAME.<random>.sunray-tmp: temp_name()'s, or mkstemp's (safeio.atomic_write).
_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.sunray-tmp$")
SCRATCH_PREFIX = "sunray-kbuild-"
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


def run_logged(cmd: List[str], log: TextIO, cwd: Optional[str] = None) -> int:
    """Run cmd (an argument list), appending stdout+stderr to the open log;
    its exit status."""
    import subprocess

    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                          env=clean_env(), stdin=subprocess.DEVNULL)
    log.flush()
    return proc.returncode


def modinfo(field_name: str, path: Union[str, Path]) -> Optional[str]:
    """One field of a .ko's modinfo, or None when modinfo fails."""
    from ..subprocesses import run_captured

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


def temp_name(name: str) -> str:
    """A temporary name for ``name`` in the same directory."""
    return f".{name}.{os.urandom(4).hex()}.sunray-tmp"


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one of sunray's temporary names."""
    return bool(_TEMP_NAME.match(name))


def remove_temp_files(directory: Union[str, Path]) -> List[str]:
    """Remove the temporary files (never directories) a killed run left
    directly in ``directory``: names of the pattern, owned by root or by us,
    not followed. The names removed."""
    removed: List[str] = []
    try:
        dfd = os.open(str(directory), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return removed
    try:
        for name in os.listdir(dfd):
            if not is_temp_name(name):
                continue
            try:
                st = os.lstat(name, dir_fd=dfd)
                if st.st_uid in (0, os.geteuid()) and not stat.S_ISDIR(st.st_mode):
                    os.unlink(name, dir_fd=dfd)
                    removed.append(name)
            except OSError:
                continue  # gone already
    finally:
        os.close(dfd)
    return removed


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
