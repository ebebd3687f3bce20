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
  change, so that ``esd-dir --revert`` puts it back (``esdrevert``).
"""

import os
import re
import stat
import time
from collections import namedtuple
from typing import Any, Dict, List, Optional

from .errors import JobFailed, UsageError
from .journal import Journal
from .report import Check, Report
from .rootfs import DIR_FLAGS, Root
from .safeio import exchange, temp_name

WANT_MODE = 0o1777
WANT_UID = 0
WANT_GID = 0

# esd-dir makes its directory mode 1777: only a plain name directly in one
# of the world-writable temporary directories may get that (never /etc).
_PARENTS = ("/tmp", "/var/tmp")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._+@-]+")


def esd_path(settings: Dict[str, Any]) -> str:
    """The configured esd directory (``sunray.esd.dir``), validated: a plain
    name directly in /tmp or /var/tmp."""
    path = (settings.get("esd") or {}).get("dir") or "/tmp/.esd"
    parent, _, name = path.rpartition("/") if isinstance(path, str) else ("", "", "")
    if parent not in _PARENTS or not _PLAIN_NAME.fullmatch(name) or name in (".", ".."):
        raise UsageError(f"sunray.esd.dir {path!r}: expected a plain name directly in "
                         f"{' or '.join(_PARENTS)}, e.g. /tmp/.esd")
    return path


def _describe_mode(st):
    return f"{st.st_uid}:{st.st_gid} {stat.S_IMODE(st.st_mode):04o}"


class _UnsafeParent(Exception):
    """The way to the parent directory is not a plain chain of directories."""


def _open_parent(root, path):
    """An fd of the parent directory of ``path`` under the root, reached
    without following any symlink; raises _UnsafeParent with the reason."""
    parts = path.split("/")[1:-1]
    fd = os.open(str(root.top), os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    walked = ""
    try:
        for part in parts:
            walked += "/" + part
            try:
                nfd = os.open(part, DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                raise _UnsafeParent(f"{walked} does not exist") from None
            except OSError:
                # ELOOP (a symlink) or ENOTDIR (a file): say which.
                try:
                    st = os.lstat(part, dir_fd=fd)
                except OSError as e:
                    raise _UnsafeParent(f"{walked}: {e.strerror}") from None
                if stat.S_ISLNK(st.st_mode):
                    target = os.readlink(part, dir_fd=fd)
                    raise _UnsafeParent(
                        f"{walked} is a symlink (-> {target}); refusing to follow it"
                    ) from None
                raise _UnsafeParent(f"{walked} is not a directory") from None
            os.close(fd)
            fd = nfd
    except BaseException:
        os.close(fd)
        raise
    return fd


def _classify(parent_fd, name, path):
    """Look at ``name`` in the parent (lstat, never following): a dict with
    ``state`` (ok, missing, symlink, not-a-directory, wrong-owner,
    wrong-mode) and details, plus the stat result (or None)."""
    try:
        st = os.lstat(name, dir_fd=parent_fd)
    except FileNotFoundError:
        return {"path": path, "state": "missing", "details": "nothing (missing)"}, None
    info = {"path": path, "uid": st.st_uid, "gid": st.st_gid,
            "mode": f"{stat.S_IMODE(st.st_mode):04o}"}
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(name, dir_fd=parent_fd)
        info.update(state="symlink", target=target, details=f"a symlink to {target}")
    elif not stat.S_ISDIR(st.st_mode):
        kind = "a regular file" if stat.S_ISREG(st.st_mode) else "not a directory"
        info.update(state="not-a-directory", details=f"{kind} ({_describe_mode(st)})")
    elif st.st_uid != WANT_UID:
        info.update(state="wrong-owner", details=f"a directory owned by {_describe_mode(st)}")
    elif st.st_gid != WANT_GID or stat.S_IMODE(st.st_mode) != WANT_MODE:
        info.update(state="wrong-mode", details=f"a directory with mode {_describe_mode(st)}")
    else:
        info.update(state="ok", details="root:root 1777")
    return info, st


def inspect(root: Root, settings: Dict[str, Any]) -> Dict[str, Any]:
    """Read-only look at the esd directory, for doctor.

    Returns ``{"path", "state", "details", ...}`` where state is one of ok,
    missing, symlink, not-a-directory, wrong-owner, wrong-mode, or
    unsafe-parent (a symlink or non-directory on the way to it).
    """
    path = esd_path(settings)
    try:
        parent_fd = _open_parent(root, path)
    except _UnsafeParent as e:
        return {"path": path, "state": "unsafe-parent", "details": str(e)}
    try:
        return _classify(parent_fd, path.rsplit("/", 1)[1], path)[0]
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
        from . import esdrevert

        return esdrevert.revert(root, settings, path, report, dry_run)
    parent_fd = open_parent(root, path)
    try:
        plan = _plan(parent_fd, name, path, report, dry_run)
        if dry_run:
            return report
        from . import esdrevert

        with Journal(root, settings, "esd-dir", [path] if plan else []) as journal:
            if journal.active:
                esdrevert.finish(root, settings, parent_fd, name)  # a killed run's last step
            if plan is not None:
                record = esdrevert.record_first(root, settings, path, plan)
                _fix(parent_fd, name, path, plan, record, report)
        report.notes.extend(journal.notes)
        return report
    finally:
        os.close(parent_fd)


def open_parent(root: Root, path: str) -> int:
    """The esd directory's parent, opened safely; JobFailed when unsafe."""
    try:
        return _open_parent(root, path)
    except _UnsafeParent as e:
        raise JobFailed(f"{path}: {e}; nothing was changed") from None


# What _plan found (the dict of _classify and its stat result).
_Plan = namedtuple("_Plan", "found st")


def _plan(parent_fd, name, path, report, dry_run):
    """Look, report what was found, refuse what cannot be done; the plan, or
    None when the directory is right already. A dry run's report says what
    would be done."""
    found, st = _classify(parent_fd, name, path)
    state = found["state"]
    report.data["esd_dir"] = {"path": path, "found": found, "done": []}
    parent_st = os.fstat(parent_fd)
    if parent_st.st_mode & stat.S_IWOTH and not parent_st.st_mode & stat.S_ISVTX:
        report.warnings.append(
            f"{path.rsplit('/', 1)[0] or '/'} is world-writable without the sticky bit: "
            f"anyone can replace {path}"
        )
    if state == "ok":
        report.add(_change(path, "unchanged", "root:root 1777"))
        return None
    report.notes.append(f"{path}: found {found['details']}")
    if os.geteuid() != 0 and not dry_run:
        raise JobFailed(f"{path} is {found['details']}: only root can make it root-owned "
                        "(run as root); nothing was changed")
    if dry_run:
        done = report.data["esd_dir"]["done"]
        if state == "wrong-mode":
            done.append("repaired in place (chown 0:0, chmod 1777)")
            report.add(_change(path, "would be repaired",
                               f"was {_describe_mode(st)}; now root:root 1777"))
            return None
        if state == "symlink":
            done.append(f"removed the symlink, its target {found['target']} untouched")
        elif state in ("not-a-directory", "wrong-owner"):
            done.append(f"moved it aside to {_aside_name(parent_fd, name)}, kept for the admin")
        done.append("created root:root 1777")
        report.add(_change(path, "would be created", "; ".join(done)))
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
        report.add(_change(path, "repaired", f"was {_describe_mode(st)}; now root:root 1777"))
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
    report.add(_change(path, "created", "; ".join(done)))


def put_old_aside(parent_fd: int, swap: str, record: Dict[str, Any], path: str,
                  seen: Optional[os.stat_result] = None) -> str:
    """What was at the name, now at ``swap``: a symlink is removed (the
    link itself), anything else renamed to the recorded aside name (or a
    fresh one when that is taken). Returns what was done."""
    now = os.lstat(swap, dir_fd=parent_fd)
    if seen is not None and not _same_inode(now, seen):
        raise _raced(path)
    if stat.S_ISLNK(now.st_mode):
        target = os.readlink(swap, dir_fd=parent_fd)
        os.unlink(swap, dir_fd=parent_fd)
        return f"removed the symlink, its target {target} untouched"
    aside = record.get("aside") or ""
    if not aside or _exists(parent_fd, aside):
        aside = _aside_name(parent_fd, path.rsplit("/", 1)[1])
    try:
        os.rename(swap, aside, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
    except OSError as e:
        raise JobFailed(f"cannot move the old {path} (now {swap}) to {aside}: "
                        f"{e.strerror}") from None
    return f"moved it aside to {aside}, kept for the admin"


def _rmdir_quietly(parent_fd, name):
    try:
        os.rmdir(name, dir_fd=parent_fd)
    except OSError:
        pass


def is_new_dir(parent_fd: int, name: str) -> bool:
    """Whether ``name`` is a directory esd-dir made and has not used yet:
    root:root 1777 and empty."""
    try:
        st = os.lstat(name, dir_fd=parent_fd)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or (st.st_uid, st.st_gid) != (WANT_UID, WANT_GID) \
            or stat.S_IMODE(st.st_mode) != WANT_MODE:
        return False
    fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    try:
        return not os.listdir(fd)
    finally:
        os.close(fd)


def _exchange_in(parent_fd, new, name, path, seen):
    """Swap the new directory ``new`` with what is at ``name`` (still the
    inode looked at); where the system cannot swap in one step, in three
    renames through a temporary name."""
    now = os.lstat(name, dir_fd=parent_fd)
    if not _same_inode(now, seen):
        raise _raced(path)
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


def _exists(parent_fd, name):
    try:
        os.lstat(name, dir_fd=parent_fd)
    except FileNotFoundError:
        return False
    return True


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


def _change(path, action, note):
    from .fileedit import FileChange

    return FileChange(path, action, note=note)


def _same_inode(a, b):
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _raced(path):
    return JobFailed(f"{path} changed while it was being fixed (someone else is "
                     "working on it?); run again")


def _aside_name(parent_fd, name):
    base = f"{name}.sunray-moved-{time.strftime('%Y%m%dT%H%M%S')}"
    candidate, n = base, 1
    while True:
        try:
            os.lstat(candidate, dir_fd=parent_fd)
        except FileNotFoundError:
            return candidate
        n += 1
        candidate = f"{base}.{n}"


def _fix_fd(fd, path):
    """chown 0:0 then chmod 1777 through an open directory fd, and verify."""
    try:
        os.fchown(fd, WANT_UID, WANT_GID)
        os.fchmod(fd, WANT_MODE)
    except OSError as e:
        raise JobFailed(f"cannot make {path} root:root 1777: {e.strerror}") from None
    st = os.fstat(fd)
    if (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) != (WANT_UID, WANT_GID, WANT_MODE):
        raise JobFailed(f"{path} is still {_describe_mode(st)} after the repair")


def _open_subdir(parent_fd, name, path):
    """The directory ``name`` in ``parent_fd``, opened without following a
    link; failing that, something changed it under us."""
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except OSError:
        raise _raced(path) from None


def _repair(parent_fd, name, path, seen):
    fd = _open_subdir(parent_fd, name, path)
    try:
        if not _same_inode(os.fstat(fd), seen):
            raise _raced(path)
        _fix_fd(fd, path)
    finally:
        os.close(fd)


def _create(parent_fd, name, path):
    """Make directory ``name`` (a temporary name) 0700, then root:root 1777
    through its fd once it is ours; nothing else is touched on a failure."""
    try:
        os.mkdir(name, 0o700, dir_fd=parent_fd)
    except FileExistsError:
        raise _raced(path) from None
    except OSError as e:
        raise JobFailed(f"cannot create {path}: {e.strerror}; nothing was changed") from None
    try:
        fd = _open_subdir(parent_fd, name, path)
        try:
            st = os.fstat(fd)
            # Still the directory we just made (ours, 0700), not a swapped-in one.
            if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
                raise _raced(path)
            _fix_fd(fd, path)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        try:
            os.rmdir(name, dir_fd=parent_fd)
        except OSError:
            pass
        raise


def check_esd_dir(root: Root, settings: Dict[str, Any]) -> List[Check]:
    """/tmp/.esd is a root-owned directory with mode 1777 (not a symlink)."""
    from .boot import hook

    state = inspect(root, settings)
    title = "esd socket directory"
    path = state["path"]
    if state["state"] == "ok":
        return [Check("esd-dir", title, "ok", f"{path} is root:root 1777")]
    if state["state"] == "missing" and hook.status(root, settings)["installed"] != "none":
        return [Check("esd-dir", title, "warn",
                      f"{path} is missing; the boot hook creates it at the next boot",
                      "sunray esd-dir")]
    detail = state.get("details") or state["state"]
    return [Check("esd-dir", title, "fail", f"{path}: {detail} (esd sound fails)",
                  "sunray esd-dir")]


CHECKS = (check_esd_dir,)
