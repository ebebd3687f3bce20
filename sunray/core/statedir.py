"""The toolkit's state directory (``sunray.state_dir``, /var/lib/sunray).

It holds the lock, the run journal, the backups of the files sunray changed
and each concern's records. ``check()`` looks at it as a target before a
run's first write. ``ensure()`` makes it when it is missing, with the list
of directories it had to create written inside it *before* it appears: the
missing chain is built under a temporary name (``.NAME.<random>.sunray-tmp``)
beside its first missing component, the record written into it, and the
whole renamed into place. A kill at any instant leaves either no state
directory (and a temporary one that the next run removes) or one that knows
which directories are sunray's.

``remove_if_unused()`` is what a revert does last: when nothing of sunray's
remains (only the lock, the journal, this record and backup directories
without records), the directories sunray created go in one rename (to a
temporary name beside the outermost of them, then removed), so a kill
leaves the whole state directory, record included, or none of it.

Making and removing it happen under ``flock`` on the directory it is made
in (the lock file cannot exist before the directory does): two runs that
both find it missing make it once, and a run sweeps only the temporary
trees of runs that are gone, never one another run is building.
"""

import contextlib
import json
import os
import posixpath
import shutil
import stat
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

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
    while True:
        made = root.makedirs(state_dir, create=False)
        if not made.created:
            return made.host
        first = made.created[0]
        parent_host = root.makedirs(posixpath.dirname(first) or "/", create=False).host
        with _dir_lock(parent_host, state_dir):
            again = root.makedirs(state_dir, create=False)
            if again.created == made.created:
                _make(parent_host, made.created, state_dir)
        # Made (by us or by a run that was quicker): look again.


def _make(parent_host: Path, created: List[str], state_dir: str) -> None:
    """Build the missing chain under a temporary name and rename it into
    place (under the directory lock)."""
    name = posixpath.basename(created[0])
    _remove_temp_trees(parent_host, name)  # a killed run's: we hold the lock
    tmp = parent_host / temp_name(name)
    try:
        inner = tmp
        for part in [None] + [posixpath.basename(d) for d in created[1:]]:
            inner = inner / part if part else inner
            os.mkdir(inner, 0o755)
            os.chmod(inner, 0o755)  # exactly, whatever the umask
        record = {"dirs": list(created)}
        atomic_write(inner / CREATED, (json.dumps(record) + "\n").encode(), mode=0o644)
        fsync_dir(inner)
        os.rename(tmp, parent_host / name)
        fsync_dir(parent_host)
    except OSError as e:
        raise JobFailed(f"cannot create the state directory {state_dir}: "
                        f"{e.strerror or e}; nothing was changed") from None
    finally:
        if os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


# How long a run waits for another that is making or removing the state
# directory (a few directory operations; a frozen run is given up on).
_DIR_LOCK_WAIT = 60.0


@contextlib.contextmanager
def _dir_lock(host_dir: Path, state_dir: str) -> Iterator[None]:
    """``flock`` on the directory the state directory is made in or removed
    from. Where a file system has no flock on directories, nothing (the
    rename still makes it appear whole)."""
    import fcntl
    import time

    try:
        fd = os.open(str(host_dir), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        yield  # it cannot be locked; the rename below fails alike
        return
    try:
        deadline = time.monotonic() + _DIR_LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise JobFailed(f"another run has been making or removing {state_dir} "
                                    f"for {_DIR_LOCK_WAIT:g} s; nothing was changed") from None
                time.sleep(0.02)
            except OSError:
                break  # no flock here (ENOLCK, EINVAL): go on without it
        yield
    finally:
        os.close(fd)


def _remove_temp_trees(parent_host: Path, name: str) -> List[Path]:
    """Temporary state directories a killed ensure() or removal left beside
    ``name`` (only under the directory lock, or read-only: ``remove=False``)."""
    return _temp_trees(parent_host, name, remove=True)


def _temp_trees(parent_host: Path, name: str, remove: bool = False) -> List[Path]:
    prefix = f".{name}."
    try:
        names = os.listdir(parent_host)
    except OSError:
        return []
    found = []
    for entry in names:
        if entry.startswith(prefix) and is_temp_name(entry):
            path = parent_host / entry
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode) and st.st_uid in (0, os.geteuid()):
                found.append(path)
                if remove:
                    shutil.rmtree(path, ignore_errors=True)  # never follows links
    return found


def _temp_parents(root: Root, state_dir: str) -> List[Tuple[Path, str]]:
    """(host directory, name) of each place a temporary state directory of
    a killed run may be: beside the state directory and beside each missing
    directory on its way."""
    made = root.makedirs(state_dir, create=False)
    places = []
    for server_dir in [state_dir] + list(made.created):
        parent = posixpath.dirname(server_dir) or "/"
        try:
            parent_made = root.makedirs(parent, create=False)
        except UsageError:
            continue
        if not parent_made.created:
            places.append((parent_made.host, posixpath.basename(server_dir)))
    return places


def temp_trees(root: Root, state_dir: str = DEFAULT) -> List[Path]:
    """Temporary state directories killed runs left (read-only)."""
    return [p for host, name in _temp_parents(root, state_dir) for p in _temp_trees(host, name)]


def leftover_temp_trees(root: Root, state_dir: str = DEFAULT) -> None:
    """Remove temporary state directories of a killed ensure() or removal
    (a revert when the state directory is not there)."""
    for host, name in _temp_parents(root, state_dir):
        with _dir_lock(host, state_dir):
            _remove_temp_trees(host, name)


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
    created for it, when nothing else of sunray's is in it. True when done.

    The directories sunray created go in one rename, the outermost that
    holds nothing but the state directory's chain, so that a kill leaves
    either all of them, record included (the next revert removes them), or
    none (a temporary tree that the next run sweeps)."""
    if in_use(root, state_dir):
        return False
    made = root.makedirs(state_dir, create=False)
    if made.created:
        return True
    host = made.host
    dirs = _created_dirs(host)
    if dirs and dirs[-1] == posixpath.normpath(state_dir):
        outermost = _outermost_removable(root, dirs)
        victim = root.makedirs(outermost, create=False).host
        with _dir_lock(victim.parent, state_dir):
            tmp = victim.parent / temp_name(victim.name)
            os.rename(victim, tmp)
            fsync_dir(victim.parent)
            shutil.rmtree(tmp, ignore_errors=True)  # never follows links
            fsync_dir(victim.parent)
        return True
    # A state directory that was there before sunray: only its bookkeeping goes.
    backup = host / "backup"
    if backup.is_dir() and not backup.is_symlink():
        shutil.rmtree(backup, ignore_errors=True)  # no records in it (in_use)
    for entry in os.listdir(host):
        if entry in BOOKKEEPING or is_temp_name(entry):
            try:
                os.unlink(host / entry)
            except OSError:
                pass
    fsync_dir(host)
    return True


def _outermost_removable(root: Root, dirs: List[str]) -> str:
    """Of the directories sunray created (outermost first, the state
    directory last), the outermost one that holds only the next of them."""
    chosen = dirs[-1]
    for outer, inner in reversed(list(zip(dirs, dirs[1:]))):
        try:
            names = os.listdir(root.makedirs(outer, create=False).host)
        except (OSError, UsageError):
            break
        if names != [posixpath.basename(inner)]:
            break
        chosen = outer
    return chosen
