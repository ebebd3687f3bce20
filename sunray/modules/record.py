"""The per-kernel record and the build logs.

The record, DIR/var/lib/sunray/modules/K.json, says what each installed
module of kernel K was built from (the digest of its inputs) and which .ko
files, with their digests, it installed: when nothing changed, a run costs a
few stat calls and digests, no subprocess. It also says what a removal must
give back: the directories under /lib/modules/K sunray created (``dirs``)
and whether depmod's index is sunray's alone (``index_ours``: there was no
modules.dep before sunray's first install).

It is written twice per install: before the first change, with a
``pending`` entry naming the files and directories about to appear (so that
a removal after a kill knows them), and last, after depmod, without it. It
holds no time stamp: the same build gives the same record. The build logs
live in DIR/var/log/sunray/modules/K/MODULE.log (and depmod.log).
"""

import json
from pathlib import Path
from typing import Any, Dict, List, Union

from ..core.safeio import atomic_write
from .settings import Job
from .tools import safe_dir

# Lines of a failed build's log the report shows.
LOG_TAIL_LINES = 20

Record = Dict[str, Any]


def record_path(job: Job, kernel: str) -> Path:
    """Host path of kernel K's record."""
    return job.root.state("modules", f"{kernel}.json", settings=job.settings)


def read_record(path: Path) -> Record:
    """The record at ``path``; an empty one when it is missing or damaged
    (a damaged record only costs a rebuild)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {"modules": {}}
    if not isinstance(data, dict) or not isinstance(data.get("modules"), dict):
        return {"modules": {}}
    return data


def recorded_files(record: Record) -> List[str]:
    """The .ko file names the record lists, for every module."""
    return [name for entry in record["modules"].values() for name in (entry.get("files") or {})]


def pending(record: Record) -> Dict[str, Any]:
    """The record's ``pending`` entry: what an install that has not
    finished was about to put in place (empty when none)."""
    entry = record.get("pending")
    return entry if isinstance(entry, dict) else {}


def string_list(value: Any) -> List[str]:
    """``value`` when it is a list of strings, else an empty list (a
    damaged record costs a rebuild, never a wrong removal)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return []


def write_record(job: Job, kernel: str, record: Record) -> None:
    """Replace kernel K's record atomically, never writing through a symlink
    out of the root."""
    path = record_path(job, kernel)
    path = safe_dir(job.root, path.parent) / path.name
    job.root.ensure_inside(path)
    atomic_write(path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())


def log_dir(job: Job, kernel: str) -> Path:
    """Host path of kernel K's log directory."""
    return job.root.path(job.settings.get("log_dir", "/var/log/sunray")) / "modules" / kernel


def log_path(job: Job, kernel: str, module: str) -> Path:
    """Host path of one module's build log for kernel K."""
    return log_dir(job, kernel) / f"{module}.log"


def tail(path: Union[str, Path], n: int = LOG_TAIL_LINES) -> List[str]:
    """The last ``n`` lines of a log (none when it cannot be read)."""
    try:
        with open(path, errors="replace") as f:
            return [line.rstrip("\n") for line in f.readlines()[-n:]]
    except OSError:
        return []
