"""A kernel's module index: depmod, and whether it names our modules.

``depmod -b DIR K`` writes /lib/modules/K/modules.dep (and its siblings);
modprobe finds a module only through it. A run never takes depmod's exit
status on trust: a kernel is settled when modules.dep names every .ko we
installed (one file read), otherwise depmod runs again. A removal gives the
index back as it was: depmod again when modules.dep was there before sunray
first installed, else depmod's files are removed.
"""

import os
import re
from pathlib import Path
from typing import Iterable, List, Optional

from ..core.safeio import temp_name
from .record import log_dir
from .settings import Job
from .tools import find_tool, open_nofollow, run_logged, safe_dir

# The files depmod (kmod) writes into /lib/modules/K; modules.order,
# modules.builtin and modules.builtin.modinfo come with the kernel package.
DEPMOD_FILES = (
    "modules.alias", "modules.alias.bin", "modules.builtin.alias.bin", "modules.builtin.bin",
    "modules.dep", "modules.dep.bin", "modules.devname", "modules.softdep",
    "modules.symbols", "modules.symbols.bin", "modules.weakdep",
)
# kmod's temporary name for each: NAME.PID.USEC.SEC
_DEPMOD_TEMP = re.compile(r"^(modules\.[a-z.]+)\.(\d+)\.(\d+)\.(\d+)$")


def names_all(job: Job, kernel: str, dest_rel: str, files: Iterable[str]) -> bool:
    """Whether the kernel's modules.dep has an entry for every one of
    ``files`` (.ko names in /lib/modules/K/<dest_rel>)."""
    wanted = {f"{dest_rel}/{name}" for name in files}
    if not wanted:
        return True
    prefix = f"/lib/modules/{kernel}/"
    try:
        with open(job.kernel_dir(kernel) / "modules.dep", errors="replace") as f:
            for line in f:
                key = line.split(":", 1)[0]
                # kmod writes paths relative to the kernel's directory;
                # old module-init-tools (RHEL 5) absolute ones.
                wanted.discard(key[len(prefix):] if key.startswith(prefix) else key)
                if not wanted:
                    return True
    except OSError:
        return False
    return not wanted


def depmod(job: Job, kernel: str) -> Optional[str]:
    """depmod -b DIR K; its output goes to the kernel's depmod.log (which
    appears whole, by rename). None or a problem."""
    log_path = safe_dir(job.root, log_dir(job, kernel)) / "depmod.log"
    job.root.ensure_inside(log_path)
    tmp = log_path.with_name(temp_name(log_path.name))
    with open(tmp, "x", opener=open_nofollow) as log:
        argv = [find_tool("depmod"), "-b", str(job.root.top)]
        config = job.root.path("/etc/depmod.d")
        if not job.root.is_host and config.is_dir() and not config.is_symlink():
            # depmod reads the host's configuration even with -b: the tree's
            # own (its search order: RHEL's ends in weak-updates) wins.
            argv += ["-C", str(config)]
        rc = run_logged(argv + [kernel], log)
    os.replace(tmp, log_path)
    if rc != 0:
        return f"depmod for {kernel} exited {rc} (see {job.root.server_path(log_path)})"
    return None


def update(job: Job, kernel: str, dest_rel: str, files: Iterable[str]) -> Optional[str]:
    """depmod, then check that modules.dep names ``files``: None, or the problem."""
    problem = depmod(job, kernel)
    if problem:
        return problem
    if not names_all(job, kernel, dest_rel, files):
        return (f"depmod for {kernel} ran, but /lib/modules/{kernel}/modules.dep does not "
                f"name the modules in {dest_rel}")
    return None


def depmod_files(job: Job, kernel: str) -> List[Path]:
    """depmod's files in /lib/modules/K, as they are there now."""
    kdir = job.kernel_dir(kernel)
    try:
        names = os.listdir(kdir)
    except OSError:
        return []
    return [kdir / n for n in sorted(names) if n in DEPMOD_FILES]


def depmod_leftovers(job: Job, kernel: str) -> List[Path]:
    """Temporary files a killed depmod left in /lib/modules/K
    (``NAME.PID.USEC.SEC``, NAME one of depmod's files, PID no longer
    running); a live depmod's are not touched."""
    kdir = job.kernel_dir(kernel)
    try:
        names = os.listdir(kdir)
    except OSError:
        return []
    found = []
    for name in sorted(names):
        m = _DEPMOD_TEMP.match(name)
        if m and m.group(1) in DEPMOD_FILES and not _running(int(m.group(2))):
            found.append(kdir / name)
    return found


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's, alive
    return True


def has_index(job: Job, kernel: str) -> bool:
    """Whether /lib/modules/K has a modules.dep now."""
    return os.path.lexists(job.kernel_dir(kernel) / "modules.dep")
