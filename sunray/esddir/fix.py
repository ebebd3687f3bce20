"""/tmp/.esd: a root-owned directory with mode 1777, made safely (task esd-dir).

esound 0.2.36-0.2.38 (RHEL 5) put each Sun Ray session's socket below
``/tmp/.esd``; without that directory (root, 1777, like /tmp) there is no
sound. Its parent is world-writable, so whatever sits at that name may have
been put there by anyone: a symlink to /etc, a file, a directory of their own.

The rules, all enforced with file-descriptor calls so that nothing is ever
followed:

* the path to the parent is walked from the root's top one component at a
  time with ``O_DIRECTORY|O_NOFOLLOW``: a symlink anywhere on the way is
  refused, and everything below works relative to the parent's fd;
* a symlink at the name is swapped out and unlinked (the link itself; its
  target is never touched);
* a file or any other non-directory is swapped out to a name in the same
  directory (``.esd.sunray-moved-<time>``) and kept for the admin to look at;
* a directory not owned by root is treated like a file: someone else made
  it, and whatever they planted inside (sockets, links, files) must not
  become part of root's directory, so it is swapped out (kept for the
  admin) for a fresh directory;
* a root-owned directory with another mode or group is opened with
  ``O_NOFOLLOW|O_DIRECTORY``, checked to be the same inode that was looked
  at, and repaired through that fd (fchown 0:0, fchmod 1777);
* the new directory is made first (a full disk changes nothing), with
  mode 0700, and only widened to 1777 after it is ours (root:root), so
  nobody can race into it while it is open to all: under a temporary name
  (``..esd.<random>.sunray-tmp``) renamed into place when nothing is at the
  name, else under the recorded swap name (``..esd.<random>.sunray-swap``)
  and swapped with what is there in one step
  (``renameat2(RENAME_EXCHANGE)``; where the system cannot, in three
  renames), so the name always holds the old thing or the new directory;
  the old thing, now at the swap name, is then removed or renamed aside;
* what was found is recorded (``<state_dir>/esddir.json``) before the first
  change, so that ``esd-dir --revert`` puts it back (``revert``).
"""


import os
import stat
from collections import namedtuple
from typing import Any, Dict

from ..core.errors import JobFailed
from ..core.journal import Journal
from ..core.report import Report
from ..core.rootfs import Root
from ..core.safeio import exchange, temp_name
from . import revert as esd_revert
from .place import (
    UnsafeParent,
    aside_name,
    change,
    check_parent_writable,
    classify,
    describe_mode,
    esd_path,
    fix_fd,
    is_new_dir,
    open_parent,
    open_subdir,
    put_old_aside,
    raced,
    same_inode,
    walk_to_parent,
)


def inspect(root: Root, settings: Dict[str, Any]) -> Dict[str, Any]:
    """Read-only look at the esd directory, for doctor.

    Returns ``{"path", "state", "details", ...}`` where state is one of ok,
    missing, symlink, not-a-directory, wrong-owner, wrong-mode, or
    unsafe-parent (a symlink or non-directory on the way to it).
    """
    path = esd_path(settings)
    try:
        parent_fd = walk_to_parent(root, path)
    except UnsafeParent as e:
        return {"path": path, "state": "unsafe-parent", "details": str(e)}
    try:
        return classify(parent_fd, path.rsplit("/", 1)[1], path)[0]
    finally:
        os.close(parent_fd)


def ensure(root: Root, settings: Dict[str, Any], dry_run: bool = False,
           revert: bool = False) -> Report:
    """Make the esd directory exist now: root:root, mode 1777, never
    following anything. Returns a Report (``data["esd_dir"]`` holds what was
    found and what was done). With ``revert``, put back what the first
    change found (``esdrevert``)."""
    path = esd_path(settings)
    name = path.rsplit("/", 1)[1]
    report = Report("esd-dir", root=str(root.top), dry_run=dry_run)
    if revert:
        return esd_revert.revert(root, settings, path, report, dry_run)
    parent_fd = open_parent(root, path)
    try:
        plan = _plan(parent_fd, name, path, report, dry_run)
        if dry_run:
            return report
        if plan is not None:
            check_parent_writable(parent_fd, path)
        with Journal(root, settings, "esd-dir", [path] if plan else []) as journal:
            if journal.active:
                esd_revert.finish(root, settings, parent_fd, name)  # a killed run's last step
            if plan is not None:
                # Another run may have fixed it while this one waited for
                # the lock: look again, under the lock, before acting.
                report = Report("esd-dir", root=str(root.top), dry_run=dry_run)
                plan = _plan(parent_fd, name, path, report, dry_run)
            if plan is not None:
                record = esd_revert.record_first(root, settings, path, plan)
                _fix(parent_fd, name, path, plan, record, report)
        report.notes.extend(journal.notes)
        return report
    finally:
        os.close(parent_fd)


# What _plan found (the dict of classify and its stat result).
_Plan = namedtuple("_Plan", "found st")


def _plan(parent_fd, name, path, report, dry_run):
    """Look, report what was found, refuse what cannot be done; the plan, or
    None when the directory is right already. A dry run's report says what
    would be done."""
    found, st = classify(parent_fd, name, path)
    state = found["state"]
    report.data["esd_dir"] = {"path": path, "found": found, "done": []}
    parent_st = os.fstat(parent_fd)
    if parent_st.st_mode & stat.S_IWOTH and not parent_st.st_mode & stat.S_ISVTX:
        report.warnings.append(
            f"{path.rsplit('/', 1)[0] or '/'} is world-writable without the sticky bit: "
            f"anyone can replace {path}"
        )
    if state == "ok":
        report.add(change(path, "unchanged", "root:root 1777"))
        return None
    report.notes.append(f"{path}: found {found['details']}")
    if os.geteuid() != 0 and not dry_run:
        raise JobFailed(f"{path} is {found['details']}: only root can make it root-owned "
                        "(run as root); nothing was changed")
    if dry_run:
        done = report.data["esd_dir"]["done"]
        # What would be done, said as such: a dry run did nothing.
        if state == "wrong-mode":
            done.append("would repair it in place (chown 0:0, chmod 1777)")
            report.add(change(path, "would be repaired",
                               f"is {describe_mode(st)}; would be root:root 1777"))
            return None
        if state == "symlink":
            done.append(f"would remove the symlink, leaving its target {found['target']} "
                        "untouched")
        elif state in ("not-a-directory", "wrong-owner"):
            done.append(f"would move it aside to {aside_name(parent_fd, name)}, kept for "
                        "the admin")
        done.append("would make it root:root 1777")
        report.add(change(path, "would be created", "; ".join(done)))
    return _Plan(found, st)


def _fix(parent_fd, name, path, plan, record, report):
    """Carry out the plan. The new directory is made first (a full disk
    changes nothing): under a temporary name renamed into place when nothing
    is at the name; else under the recorded swap name and swapped with what
    is there in one step (``renameat2(RENAME_EXCHANGE)``), so that the name
    always holds the old thing or the new directory. Then the old thing, now
    at the swap name, is removed (a symlink) or renamed aside."""
    found, st = plan
    state = found["state"]
    done = report.data["esd_dir"]["done"]
    if state == "wrong-mode":
        _repair(parent_fd, name, path, st)
        done.append("repaired in place (chown 0:0, chmod 1777)")
        report.add(change(path, "repaired", f"was {describe_mode(st)}; now root:root 1777"))
        return
    new = record["swap"] if state != "missing" else temp_name(name)
    _create(parent_fd, new, path)
    try:
        if state == "missing":
            _swap_in(parent_fd, new, name, path, done)
        else:
            _exchange_in(parent_fd, new, name, path, st)
    except BaseException:
        if state == "missing" or is_new_dir(parent_fd, new):
            _rmdir_quietly(parent_fd, new)
        raise
    if state != "missing":
        done.append(put_old_aside(parent_fd, new, record, path, st))
    if state == "wrong-owner":
        report.warnings.append(f"{path} was a directory of uid {st.st_uid}: moved aside "
                               f"with its contents ({done[-1]}); check it, then delete it")
    done.append("created root:root 1777")
    report.add(change(path, "created", "; ".join(done)))


def _rmdir_quietly(parent_fd, name):
    try:
        os.rmdir(name, dir_fd=parent_fd)
    except OSError:
        pass


def _exchange_in(parent_fd, new, name, path, seen):
    """Swap the new directory ``new`` with what is at ``name`` (still the
    inode looked at); where the system cannot swap in one step, in three
    renames through a temporary name."""
    now = os.lstat(name, dir_fd=parent_fd)
    if not same_inode(now, seen):
        raise raced(path)
    try:
        if exchange(parent_fd, new, name):
            return
    except OSError as e:
        raise JobFailed(f"cannot put the new {path} in place: {e.strerror}; "
                        "nothing was changed") from None
    held = temp_name(name)
    try:
        os.rename(new, held, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
        os.rename(name, new, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
    except OSError as e:
        raise JobFailed(f"cannot move {path} aside: {e.strerror}") from None
    _swap_in(parent_fd, held, name, path, [f"the old one is at {new}"])


def _swap_in(parent_fd, tmp, name, path, done):
    """Rename the new directory into place; a failure names where the old
    one went (the admin must be able to find it)."""
    try:
        os.rename(tmp, name, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
    except OSError as e:
        where = f" ({'; '.join(done)})" if done else ""
        raise JobFailed(f"cannot put the new {path} in place: {e.strerror}{where}") from None
    try:
        os.fsync(parent_fd)
    except OSError:
        pass


def _repair(parent_fd, name, path, seen):
    fd = open_subdir(parent_fd, name, path)
    try:
        if not same_inode(os.fstat(fd), seen):
            raise raced(path)
        fix_fd(fd, path)
    finally:
        os.close(fd)


def _create(parent_fd, name, path):
    """Make directory ``name`` (a temporary name) 0700, then root:root 1777
    through its fd once it is ours; nothing else is touched on a failure."""
    try:
        os.mkdir(name, 0o700, dir_fd=parent_fd)
    except FileExistsError:
        raise raced(path) from None
    except OSError as e:
        raise JobFailed(f"cannot create {path}: {e.strerror}; nothing was changed") from None
    try:
        fd = open_subdir(parent_fd, name, path)
        try:
            st = os.fstat(fd)
            # Still the directory we just made (ours, 0700), not a swapped-in one.
            if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
                raise raced(path)
            fix_fd(fd, path)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        try:
            os.rmdir(name, dir_fd=parent_fd)
        except OSError:
            pass
        raise
