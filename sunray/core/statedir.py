"""The toolkit's state directory (``sunray.state_dir``, /var/lib/sunray).

It holds the lock, the run journal, the backups of the files sunray changed
and each concern's records. ``ensure()`` makes it when it is missing, with
the list of directories it had to create written inside it *before* it
appears: the missing chain is built under a temporary name
(``.NAME.<random>.sunray-tmp``) beside its first missing component, the
record written into it, and the whole renamed into place. A kill at any
instant leaves either no state directory (and a temporary one that the next
run removes) or one that knows which directories are sunray's.

``remove_if_unused()`` is what a revert does last: when nothing of sunray's
remains (only the lock, the journal, this record and backup directories
without records), it removes them and the directories sunray created.
"""

import json
import os
import posixpath
import shutil
import stat
from pathlib import Path
from typing import Any, Dict, List

from .backuprecord import read_json
from .errors import JobFailed, UsageError
from .rootfs import Root
from .safeio import atomic_write, check_writable, fsync_dir, is_temp_name, temp_name

DEFAULT = "/var/lib/sunray"
CREATED = "created-dirs.json"  # the directories ensure() created, outermost first
# Bookkeeping that does not keep the state directory alive on its own.
BOOKKEEPING = ("sunray.lock", "journal.json", CREATED)


# What belongs in the state directory, checked before a run's first write.
_FILES = {"sunray.lock": "lock", "journal.json": "run journal", CREATED: "record"}


def check(root: Root, state_dir: str = DEFAULT) -> None:
    """Check the state directory like any other target, before a run's first
    write (nothing is created): its way stays inside the root and holds
    directories only, ``backup/`` is a directory inside the root, the lock,
    the journal and the record are regular files when there (a UsageError
    otherwise), and the directory (or, when missing, the one it would be
    made in) and the lock can be written (a JobFailed otherwise)."""
    made = root.makedirs(state_dir, create=False)
    if not made.created:
        root.makedirs(posixpath.join(state_dir, "backup"), create=False)
        for name, what in _FILES.items():
            try:
                st = os.lstat(made.host / name)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(st.st_mode):
                kind = "a symlink" if stat.S_ISLNK(st.st_mode) else "not a regular file"
                raise UsageError(f"{posixpath.join(state_dir, name)} is {kind} (sunray's "
                                 f"{what} belongs there); nothing was changed")
    check_writable(root, [posixpath.join(state_dir, n) for n in _FILES],
                   f"write the state directory {state_dir}")


def ensure(root: Root, state_dir: str = DEFAULT) -> Path:
    """The host path of the state directory, made (and recorded) if missing;
    UsageError when its way leads out of the root."""
    made = root.makedirs(state_dir, create=False)
    if not made.created:
        return made.host
    first = made.created[0]
    parent_host = root.makedirs(posixpath.dirname(first) or "/").host
    name = posixpath.basename(first)
    _remove_temp_trees(parent_host, name)
    tmp = parent_host / temp_name(name)
    try:
        inner = tmp
        for part in [None] + [posixpath.basename(d) for d in made.created[1:]]:
            inner = inner / part if part else inner
            os.mkdir(inner, 0o755)
            os.chmod(inner, 0o755)  # exactly, whatever the umask
        record = {"dirs": list(made.created)}
        atomic_write(inner / CREATED, (json.dumps(record) + "\n").encode(), mode=0o644)
        fsync_dir(inner)
        try:
            os.rename(tmp, parent_host / name)
        except OSError:
            if not os.path.isdir(parent_host / name):
                raise
            # Another run was quicker: use its directory.
        fsync_dir(parent_host)
    except OSError as e:
        raise JobFailed(f"cannot create the state directory {state_dir}: "
                        f"{e.strerror or e}; nothing was changed") from None
    finally:
        if os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return root.makedirs(state_dir, create=False).host


def _remove_temp_trees(parent_host: Path, name: str) -> None:
    """Temporary state directories a killed ensure() left beside ``name``."""
    prefix = f".{name}."
    try:
        names = os.listdir(parent_host)
    except OSError:
        return
    for entry in names:
        if entry.startswith(prefix) and is_temp_name(entry):
            path = parent_host / entry
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode) and st.st_uid in (0, os.geteuid()):
                shutil.rmtree(path, ignore_errors=True)  # never follows links


def leftover_temp_trees(root: Root, state_dir: str = DEFAULT) -> None:
    """Remove temporary state directories of a killed ensure() (a revert
    when the state directory never appeared)."""
    made = root.makedirs(state_dir, create=False)
    for server_dir in [state_dir] + list(made.created):
        parent = posixpath.dirname(server_dir) or "/"
        try:
            parent_made = root.makedirs(parent, create=False)
        except UsageError:
            continue
        if not parent_made.created:
            _remove_temp_trees(parent_made.host, posixpath.basename(server_dir))


def read_record(root: Root, host: Path) -> Dict[str, Any]:
    """A concern's JSON record in the state directory: {} when there is none
    (or it is not an object); a UsageError naming it when it is damaged, a
    JobFailed when it cannot be read."""
    try:
        record = read_json(host, root.server_path(host))
    except FileNotFoundError:
        return {}
    return record if isinstance(record, dict) else {}


def _no_records(backup: Path) -> bool:
    """Whether the backup tree holds no record (``meta/``): saved originals
    without one are what a run killed before its first record left."""
    for _dirpath, _dirnames, filenames in os.walk(backup / "meta"):
        if filenames:
            return False
    return True


def _created_dirs(host: Path) -> List[str]:
    try:
        record = json.loads((host / CREATED).read_text())
        dirs = record.get("dirs", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [d for d in dirs if isinstance(d, str) and d.startswith("/")]


def in_use(root: Root, state_dir: str = DEFAULT) -> bool:
    """Whether the state directory holds anything but bookkeeping."""
    made = root.makedirs(state_dir, create=False)
    if made.created:
        return False
    for entry in os.listdir(made.host):
        if entry in BOOKKEEPING or is_temp_name(entry):
            continue
        path = made.host / entry
        if entry == "backup" and path.is_dir() and not path.is_symlink() \
                and _no_records(path):
            continue
        return True
    return False


def remove_if_unused(root: Root, state_dir: str = DEFAULT) -> bool:
    """Remove the state directory's bookkeeping, and the directories sunray
    created for it, when nothing else of sunray's is in it. True when done."""
    if in_use(root, state_dir):
        return False
    made = root.makedirs(state_dir, create=False)
    if made.created:
        return True
    host = made.host
    dirs = _created_dirs(host)
    backup = host / "backup"
    if backup.is_dir() and not backup.is_symlink():
        shutil.rmtree(backup, ignore_errors=True)  # no records in it (in_use)
    for entry in os.listdir(host):
        if entry in BOOKKEEPING or is_temp_name(entry):
            try:
                os.unlink(host / entry)
            except OSError:
                pass
    for server_dir in sorted(dirs, key=lambda d: d.count("/"), reverse=True):
        try:
            os.rmdir(root.makedirs(server_dir, create=False).host)
        except (OSError, UsageError):
            pass
    fsync_dir(host.parent)
    return True
