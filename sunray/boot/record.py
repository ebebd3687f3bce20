"""The boot hook's record, ``<state_dir>/boothook.json``.

What an install writes (its paths, the directories it has to create, the
init kinds, whether chkconfig registered it, the program) is recorded
*before* its first write, so that ``install-boot-hook --revert`` removes
exactly that, even after an install killed half-way.
"""

import json
import os
from pathlib import Path, PurePosixPath
from typing import Any, Dict, Iterable, List, Set, Tuple

from ..core import statedir
from ..core.rootfs import Root
from ..core.safeio import atomic_write
from ..tmpclean import dropin

RECORD = "boothook.json"


def missing_dirs(root: Root, server_paths: Iterable[str]) -> Set[str]:
    """Directories (server paths) that writing ``server_paths`` will create."""
    missing = set()
    for path in server_paths:
        parent = PurePosixPath(path).parent
        while str(parent) != "/" and not os.path.lexists(root.path(str(parent))):
            missing.add(str(parent))
            parent = parent.parent
    return missing


def record_path(root: Root, settings: Dict[str, Any]) -> Path:
    """Host path of the record."""
    return root.state(RECORD, settings=settings)


def load(root: Root, settings: Dict[str, Any]) -> Dict[str, Any]:
    """The boot hook's record, or {} when there is none."""
    host = record_path(root, settings)
    return statedir.read_record(root, host)


def save(root: Root, settings: Dict[str, Any], record: Dict[str, Any]) -> None:
    """Write the record (through makedirs like every state write)."""
    host = record_path(root, settings)
    host = root.makedirs(root.server_path(host.parent)).host / host.name
    atomic_write(host, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode(), mode=0o644)


def planned(root: Root, record: Dict[str, Any], kind: str, files: Dict[str, Tuple[str, int]],
            targets: List[str], commands: List[List[str]], program: str) -> Dict[str, Any]:
    """The record of this install, made before its first write: what a
    revert removes (the paths, the directories about to be created)."""
    new = dict(record)
    new["inits"] = list(record.get("inits", []))
    if kind not in new["inits"]:
        new["inits"].append(kind)
    # The tmpfiles drop-in is shared with patch-tmpwatch: only revert it
    # when this task is the one that writes it.
    owned = [p for p in targets if p != dropin.DROPIN or p in record.get("paths", [])
             or _differs(root, p, files[p][0])]
    new["paths"] = sorted(set(record.get("paths", [])) | set(owned))
    new["dirs"] = sorted(set(record.get("dirs", [])) | missing_dirs(root, targets))
    new["chkconfig"] = record.get("chkconfig", False) or bool(commands)
    new["program"] = program
    return new


def _differs(root, server_path, content):
    try:
        return root.path(server_path).read_bytes() != content.encode()
    except OSError:
        return True
