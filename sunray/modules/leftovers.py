"""What a killed rebuild or removal leaves behind, found and removed.

Only sunray's own names, in the directories sunray writes to for the
kernels at hand: build scratch directories ``sunray-kbuild-XXXXXXXX`` in
DIR/var/tmp (never the system's temporary directory, which other trees'
runs share), ``.NAME.XXXXXXXX.sunray-tmp`` files in /lib/modules/K/<dest>,
the log directory and the record directory, and temporary files of a
depmod that is no longer running. Finding them is a few directory reads
(a run with nothing to do stays cheap); removing them happens under the
lock, where every one of them belongs to a run that is gone. (A killed
run's journal, and its holder line left in the lock file, are the journal's
to finish: their presence only makes a run with nothing else to do enter it.)
"""

import os
import shutil
from pathlib import Path
from typing import List, Sequence

from ..core import statedir
from ..core.journal import JOURNAL
from ..core.runlock import LOCK_NAME
from ..core.safeio import is_temp_name, remove_temp_files
from . import index
from .build import scratch_base
from .record import log_dir, read_record, record_path
from .settings import Job, valid_dest
from .tools import scratch_leftovers


def _temp_dirs(job: Job, kernels: Sequence[str]) -> List[Path]:
    """The directories where our temporary files may be, for these kernels."""
    dirs = [job.root.state("modules", settings=job.settings)]
    for kernel in kernels:
        dests = {job.module_settings.dest}
        recorded = read_record(record_path(job, kernel)).get("dest")
        if isinstance(recorded, str) and valid_dest(recorded):
            dests.add(recorded.strip("/"))
        dirs.extend(job.root.path(f"/lib/modules/{kernel}/{d}") for d in sorted(dests))
        dirs.append(log_dir(job, kernel))
    return [d for d in dirs if job.root.contains(d)]


def find_leftovers(job: Job, kernels: Sequence[str]) -> List[str]:
    """Server paths of what killed runs left for these kernels (read-only).
    A run journal, a lock file still naming a holder, or a temporary file
    in the state directory count too: entering the journal finishes them."""
    found = [job.root.server_path(p) for p in scratch_leftovers(scratch_base(job.root))]
    # A state directory a killed run was making (the journal sweeps it).
    found.extend(job.root.server_path(p) for p in
                 statedir.temp_trees(job.root, job.settings.get("state_dir", statedir.DEFAULT)))
    state = job.root.state(settings=job.settings)
    if not state.is_symlink():
        lock = state / LOCK_NAME
        if os.path.lexists(state / JOURNAL) or (lock.is_file() and lock.stat().st_size):
            found.append(job.root.server_path(state / JOURNAL))
        try:
            found.extend(job.root.server_path(state / n) for n in sorted(os.listdir(state))
                         if is_temp_name(n))
        except OSError:
            pass
    for d in _temp_dirs(job, kernels):
        if d.is_symlink():
            continue
        try:
            names = os.listdir(d)
        except OSError:
            continue
        found.extend(job.root.server_path(d / n) for n in sorted(names) if is_temp_name(n))
    for kernel in kernels:
        found.extend(job.root.server_path(p) for p in index.depmod_leftovers(job, kernel))
    return found


def remove_leftovers(job: Job, kernels: Sequence[str]) -> List[str]:
    """Remove what killed runs left for these kernels (under the lock); the
    server paths removed."""
    removed = []
    for path in scratch_leftovers(scratch_base(job.root)):
        shutil.rmtree(path, ignore_errors=True)  # rmtree never follows a link
        removed.append(job.root.server_path(path))
    for d in _temp_dirs(job, kernels):
        if not d.is_symlink():
            removed.extend(job.root.server_path(d / n) for n in remove_temp_files(d))
    for kernel in kernels:
        for path in index.depmod_leftovers(job, kernel):
            try:
                os.unlink(path)
                removed.append(job.root.server_path(path))
            except OSError:
                pass
    return removed
