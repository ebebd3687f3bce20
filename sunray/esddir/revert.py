"""``esd-dir --revert``: put back what esd-dir found before its first change.

``record_first()`` writes ``<state_dir>/esddir.json`` before esd-dir's first
change (the first change wins: later runs keep the record): the path, what
was found there (missing, a symlink and its target, a file or another
user's directory and the name it is moved aside to, a root directory with
the wrong mode and its inode), so that a revert after a run killed at any
instant knows what to put back.

``revert()`` checks first (nothing changes when the directory holds files,
a session's socket say, or when what it would put back is gone), then
removes the directory esd-dir made, puts back the symlink or the thing it
moved aside (or the old owner and mode), and drops the record. What it
found goes back in one step where the system can (``renameat2`` exchange
with the directory esd-dir made, which is then removed), so the name never
stands empty. Each step looks at what is there before acting, so a revert
killed half-way finishes when run again.
"""

import json
import os
import stat
from typing import Any, Dict

from ..core import statedir
from ..core.errors import JobFailed
from ..core.journal import Journal
from ..core.report import Report
from ..core.rootfs import Root
from ..core.safeio import atomic_write, exchange
from .place import aside_name, change, open_parent, open_subdir, put_old_aside

RECORD = "esddir.json"


def _record_path(root: Root, settings: Dict[str, Any]):
    return root.state(RECORD, settings=settings)


def load(root: Root, settings: Dict[str, Any]) -> Dict[str, Any]:
    """The record, or {} when there is none."""
    path = root.makedirs(root.server_path(_record_path(root, settings).parent),
                         create=False).host / RECORD
    return statedir.read_record(root, path)


def record_first(root: Root, settings: Dict[str, Any], path: str, plan: Any) -> Dict[str, Any]:
    """Write the record before esd-dir's first change (what it found), or
    add to the one there the names this change needs (a later run meeting a
    new file, say); the record in force."""
    found, st = plan
    name = path.rsplit("/", 1)[1]
    record = load(root, settings)
    if record.get("path") != path:
        record = {"path": path, "state": found["state"]}
        if found["state"] == "symlink":
            record["target"] = found["target"]
        elif found["state"] == "wrong-mode":
            record.update(uid=st.st_uid, gid=st.st_gid, mode=stat.S_IMODE(st.st_mode),
                          inode=[st.st_dev, st.st_ino])
    elif found["state"] in ("missing", "wrong-mode") or record.get("swap"):
        return record
    if found["state"] in ("symlink", "not-a-directory", "wrong-owner"):
        # The new directory is made as "swap", swapped with the old thing,
        # which then goes to "aside" (a symlink is removed instead).
        record["swap"] = f".{name}.{os.urandom(4).hex()}.sunray-swap"
        if found["state"] != "symlink" and not record.get("aside"):
            parent_fd = open_parent(root, path)
            try:
                record["aside"] = aside_name(parent_fd, name)
            finally:
                os.close(parent_fd)
    host = root.makedirs(root.server_path(_record_path(root, settings).parent)).host
    atomic_write(host / RECORD, (json.dumps(record, sort_keys=True) + "\n").encode(), mode=0o644)
    return record


def revert(root: Root, settings: Dict[str, Any], path: str, report: Report,
           dry_run: bool) -> Report:
    """Put back what the first esd-dir run found at ``path``."""
    with Journal(root, settings, "esd-dir", dry_run=dry_run, revert=True) as journal:
        record = load(root, settings) if journal.active or dry_run else {}
        if record.get("path") != path:
            report.notes.append(f"no change of {path} recorded by esd-dir: nothing to revert")
            return report
        name = path.rsplit("/", 1)[1]
        parent_fd = open_parent(root, path)
        try:
            steps = _check(parent_fd, name, path, record)
            verb = "would be restored" if dry_run else "restored"
            if not dry_run:
                _apply(parent_fd, name, record, steps)
                os.unlink(root.makedirs(
                    root.server_path(_record_path(root, settings).parent),
                    create=False).host / RECORD)
        finally:
            os.close(parent_fd)
        report.add(change(path, verb, "; ".join(text for _, text in steps) or "as it was"))
    report.notes.extend(journal.notes)
    return report


def _lstat(parent_fd, name):
    try:
        return os.lstat(name, dir_fd=parent_fd)
    except FileNotFoundError:
        return None


def _ours(st):
    """A directory esd-dir made (root-owned; the old thing never is one)."""
    return st is not None and stat.S_ISDIR(st.st_mode) and st.st_uid == 0


def _check(parent_fd, name, path, record):
    """The steps of the revert as (action, what it says), after checking that
    each can be done; a JobFailed (nothing changed) otherwise. Each step
    looks at what is there, so a run or revert killed at any instant is
    finished."""
    st = _lstat(parent_fd, name)
    state = record.get("state")
    swap, aside = record.get("swap") or "", record.get("aside") or ""
    if state == "wrong-mode":
        if _ours(st) and [st.st_dev, st.st_ino] == record.get("inode"):
            return [("chmod", f"owner and mode put back ({record['uid']}:{record['gid']} "
                              f"{record['mode']:04o})")]
        return []
    steps = []
    swap_st = _lstat(parent_fd, swap) if swap else None
    if _ours(swap_st):  # killed after making the new directory, before the swap
        if not _is_empty(parent_fd, swap, path):
            raise JobFailed(f"{swap} is not empty; nothing was reverted")
        steps.append(("rmdir-swap", "removed the new directory esd-dir had not used"))
        swap_st = None
    if _ours(st):
        if not _is_empty(parent_fd, name, path):
            raise JobFailed(f"{path} is not empty (a session's files?); nothing was reverted: "
                            "empty it, or leave it")
        steps.append(("rmdir", "removed the directory esd-dir made"))
    elif st is not None:
        # What was there is back already (a revert killed half-way); an
        # exchange killed before its rmdir left our directory at the aside name.
        if aside and _ours(_lstat(parent_fd, aside)):
            if not _is_empty(parent_fd, aside, path):
                raise JobFailed(f"{aside} is not empty; nothing was reverted")
            steps.append(("rmdir-aside", "removed the directory esd-dir made"))
        return steps
    if swap_st is not None:
        steps.append(("swap-back", f"moved {swap} back"))
    elif aside and _lstat(parent_fd, aside) is not None:
        steps.append(("aside-back", f"moved {aside} back"))
    elif state == "symlink":
        steps.append(("symlink", f"put back the symlink to {record.get('target')}"))
    elif state != "missing":
        raise JobFailed(f"{aside or 'what esd-dir moved aside'} is gone; nothing was reverted")
    return steps


def finish(root: Root, settings: Dict[str, Any], parent_fd: int, name: str) -> None:
    """What a killed esd-dir run left at its swap name: its unused new
    directory (removed: this run makes it again) or, after the swap, the old
    thing (removed if a symlink, else moved to the aside name)."""
    record = load(root, settings)
    aside = str(record.get("aside") or "")
    if aside and _ours(_lstat(parent_fd, aside)):
        # A revert killed after putting the old thing back in one step
        # (exchange) and before removing our directory, now at the aside name.
        os.rmdir(aside, dir_fd=parent_fd)  # refused (OSError) when not empty
    swap = str(record.get("swap") or "")
    st = _lstat(parent_fd, swap) if swap else None
    if st is None:
        return
    if _ours(st):
        os.rmdir(swap, dir_fd=parent_fd)  # refused (OSError) when not empty
    else:
        put_old_aside(parent_fd, swap, record, str(record.get("path") or name))


def _is_empty(parent_fd, name, path):
    fd = open_subdir(parent_fd, name, path)
    try:
        return not os.listdir(fd)
    finally:
        os.close(fd)


# The steps that put back what esd-dir found at the name.
_PUT_BACK = ("swap-back", "aside-back", "symlink")


def _apply(parent_fd, name, record, steps):
    actions = [action for action, _ in steps]
    try:
        done_back = False
        for i, action in enumerate(actions):
            if done_back and action in _PUT_BACK:
                continue
            if action == "rmdir":
                later = [a for a in actions[i + 1:] if a in _PUT_BACK]
                if later and _put_back_in_one_step(parent_fd, name, record, later[0]):
                    done_back = True
                    continue
            _step(parent_fd, name, record, action)
        os.fsync(parent_fd)
    except OSError as e:
        raise JobFailed(f"cannot revert {record['path']}: {e.strerror}") from None


def _put_back_in_one_step(parent_fd, name, record, action):
    """Swap what esd-dir found (at the swap or aside name; a symlink made
    at the swap name) with the directory esd-dir made, in one step, then
    remove that directory: the name never stands empty. False (nothing
    done) where the system cannot swap."""
    if action == "symlink":
        source = record.get("swap") or ""
        if not source:
            return False  # a record of an older version: no name to make it at
        os.symlink(record["target"], source, dir_fd=parent_fd)
    else:
        source = record["swap" if action == "swap-back" else "aside"]
    if not exchange(parent_fd, source, name):
        if action == "symlink":
            os.unlink(source, dir_fd=parent_fd)
        return False
    os.fsync(parent_fd)
    os.rmdir(source, dir_fd=parent_fd)  # the directory esd-dir made, empty (checked)
    return True


def _step(parent_fd, name, record, action):
    if action == "chmod":
        fd = open_subdir(parent_fd, name, record["path"])
        try:
            os.fchown(fd, record["uid"], record["gid"])
            os.fchmod(fd, record["mode"])
        finally:
            os.close(fd)
    elif action == "rmdir":
        os.rmdir(name, dir_fd=parent_fd)
    elif action in ("rmdir-swap", "rmdir-aside"):
        os.rmdir(record["swap" if action == "rmdir-swap" else "aside"], dir_fd=parent_fd)
    elif action == "symlink":
        os.symlink(record["target"], name, dir_fd=parent_fd)
    elif action in ("swap-back", "aside-back"):
        source = record["swap" if action == "swap-back" else "aside"]
        os.rename(source, name, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
