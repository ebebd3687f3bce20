"""The backup records of ``FileEditor`` (``<state_dir>/backup/meta/<path>.json``).

A record holds the original state of a file sunray changed (content kept
beside it under ``backup/files/``), ``wrote`` (what sunray last put there),
``writing`` (what it is about to put there, while a change is under way)
and ``dirs`` (the directories made for it). A state is {"kind": "file",
"sha256"}, {"kind": "symlink", "target"}, {"kind": "absent"} or {"kind":
"other"}.
"""

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any, Dict, Tuple, Union

from .errors import JobFailed, UsageError
from .safeio import atomic_write


def sha256_of(data: bytes) -> str:
    """The hex SHA-256 of ``data``, as records keep it."""
    return hashlib.sha256(data).hexdigest()


def state_of(host: Union[str, Path]) -> Dict[str, Any]:
    """What is at ``host`` now, in the form the backup meta records what
    sunray wrote: {"kind": "file", "sha256"}, {"kind": "symlink", "target"},
    {"kind": "absent"}, or {"kind": "other"}."""
    try:
        st = os.lstat(host)
    except FileNotFoundError:
        return {"kind": "absent"}
    if stat.S_ISLNK(st.st_mode):
        return {"kind": "symlink", "target": os.readlink(host)}
    if stat.S_ISREG(st.st_mode):
        return {"kind": "file", "sha256": sha256_of(Path(host).read_bytes())}
    return {"kind": "other"}


def original_of(meta: Dict[str, Any], data_path: Path) -> Tuple[Dict[str, Any], str]:
    """The saved original as a state (see state_of), and where it is kept."""
    kind = meta["kind"]
    if kind == "file":
        return ({"kind": "file", "sha256": sha256_of(data_path.read_bytes())},
                f"the original is kept at {data_path}")
    if kind == "symlink":
        return ({"kind": "symlink", "target": meta.get("target")},
                f"the original was a symlink to {meta.get('target')}")
    return {"kind": "absent"}, "there was no original (sunray created it)"


def changed_by_others(now: Dict[str, Any], meta: Dict[str, Any],
                      original: Dict[str, Any]) -> bool:
    """Whether the file is neither absent, nor what sunray last wrote, nor
    what it was about to write (a run killed between its rename and its
    record), nor the saved original: someone (an admin, a package update)
    replaced it."""
    wrote = meta.get("wrote")
    ours = (wrote, meta.get("writing"), original)
    return wrote is not None and now["kind"] != "absent" and now not in ours


def load_meta(meta_path: Path, name: str = "") -> Dict[str, Any]:
    """A backup record; a UsageError naming it (``name``: as the server
    sees it) when it is damaged (not UTF-8, not JSON, not a record), a
    JobFailed when it cannot be read."""
    name = name or str(meta_path)
    meta = read_json(meta_path, f"the backup record {name}")
    if not isinstance(meta, dict) or meta.get("kind") not in ("file", "symlink", "absent"):
        raise UsageError(f"the backup record {name} is damaged; nothing was changed")
    return meta


def read_json(path: Union[str, Path], what: str) -> Any:
    """The JSON document in ``path``: FileNotFoundError when missing, a
    UsageError saying what is wrong (not UTF-8, not JSON) when damaged, a
    JobFailed when unreadable. ``what`` names it ("the backup record X")."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise
    except OSError as e:
        raise JobFailed(f"cannot read {what}: {e.strerror}; nothing was changed") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{what} is damaged (not UTF-8 text); nothing was changed: "
                         "move it away, or restore it from a backup") from None
    try:
        return json.loads(text)
    except ValueError:
        raise UsageError(f"{what} is damaged (not JSON); nothing was changed: "
                         "move it away, or restore it from a backup") from None


def store_meta(meta_path: Path, meta: Dict[str, Any]) -> None:
    """Write a backup record atomically."""
    atomic_write(meta_path, (json.dumps(meta, sort_keys=True) + "\n").encode(), mode=0o600)


def prune_empty(directory: Union[str, Path], stop: Path) -> None:
    """Remove ``directory`` and its parents while they are empty, up to (not
    including) ``stop``."""
    directory = Path(directory)
    while directory != stop and stop in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent
