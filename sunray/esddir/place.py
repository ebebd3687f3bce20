"""Where the esd directory is, and the safe steps on it that the fix and
its revert share.

Everything works through the parent directory's fd, reached from the root's
top one component at a time with ``O_DIRECTORY|O_NOFOLLOW``: nothing at or
on the way to ``/tmp/.esd`` is ever followed (the rules: ``fix``).
"""

import os
import re
import stat
import time
from typing import Any, Dict, Optional, Tuple

from ..core.errors import JobFailed, UsageError
from ..core.fileedit import FileChange
from ..core.rootfs import DIR_FLAGS, Root

WANT_MODE = 0o1777

WANT_UID = 0

WANT_GID = 0

# esd-dir makes its directory mode 1777: only a plain name directly in one
# of the world-writable temporary directories may get that (never /etc).
_PARENTS = ("/tmp", "/var/tmp")

# Its swap and aside names add about 40 characters; a name is at most 255.
MAX_NAME = 200

_PLAIN_NAME = re.compile(r"[A-Za-z0-9._+@-]+")


def esd_path(settings: Dict[str, Any]) -> str:
    """The configured esd directory (``sunray.esd.dir``), validated: a plain
    name directly in /tmp or /var/tmp."""
    path = (settings.get("esd") or {}).get("dir") or "/tmp/.esd"
    parent, _, name = path.rpartition("/") if isinstance(path, str) else ("", "", "")
    if parent not in _PARENTS or not _PLAIN_NAME.fullmatch(name) or name in (".", "..") \
            or len(name) > MAX_NAME:
        raise UsageError(f"sunray.esd.dir {path!r}: expected a plain name (at most {MAX_NAME} "
                         f"characters) directly in {' or '.join(_PARENTS)}, e.g. /tmp/.esd")
    return path


def describe_mode(st: os.stat_result) -> str:
    return f"{st.st_uid}:{st.st_gid} {stat.S_IMODE(st.st_mode):04o}"


class UnsafeParent(Exception):
    """The way to the parent directory is not a plain chain of directories."""


def walk_to_parent(root: Root, path: str) -> int:
    """An fd of the parent directory of ``path`` under the root, reached
    without following any symlink; raises UnsafeParent with the reason."""
    parts = path.split("/")[1:-1]
    fd = os.open(str(root.top), os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    walked = ""
    try:
        for part in parts:
            walked += "/" + part
            try:
                nfd = os.open(part, DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                raise UnsafeParent(f"{walked} does not exist") from None
            except OSError:
                # ELOOP (a symlink) or ENOTDIR (a file): say which.
                try:
                    st = os.lstat(part, dir_fd=fd)
                except OSError as e:
                    raise UnsafeParent(f"{walked}: {e.strerror}") from None
                if stat.S_ISLNK(st.st_mode):
                    target = os.readlink(part, dir_fd=fd)
                    raise UnsafeParent(
                        f"{walked} is a symlink (-> {target}); refusing to follow it"
                    ) from None
                raise UnsafeParent(f"{walked} is not a directory") from None
            os.close(fd)
            fd = nfd
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_parent(root: Root, path: str) -> int:
    """The esd directory's parent, opened safely; a UsageError when the way
    to it is not a plain chain of directories (a symlink, a file)."""
    try:
        return walk_to_parent(root, path)
    except UnsafeParent as e:
        raise UsageError(f"{path}: {e}; nothing was changed") from None


def check_parent_writable(parent_fd: int, path: str) -> None:
    """JobFailed, before anything is written, when the parent directory
    cannot be written (read-only, immutable)."""
    parent = path.rsplit("/", 1)[0]
    if not os.access(f"/proc/self/fd/{parent_fd}", os.W_OK | os.X_OK):
        why = "is not writable (immutable, or its permissions?)"
        try:
            if os.fstatvfs(parent_fd).f_flag & os.ST_RDONLY:
                why = "is not writable: it is on a read-only file system"
        except OSError:
            pass
        raise JobFailed(f"cannot fix {path}: {parent} {why}; nothing was changed")


def classify(parent_fd: int, name: str,
             path: str) -> Tuple[Dict[str, Any], Optional[os.stat_result]]:
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
        info.update(state="not-a-directory", details=f"{kind} ({describe_mode(st)})")
    elif st.st_uid != WANT_UID:
        info.update(state="wrong-owner", details=f"a directory owned by {describe_mode(st)}")
    elif st.st_gid != WANT_GID or stat.S_IMODE(st.st_mode) != WANT_MODE:
        info.update(state="wrong-mode", details=f"a directory with mode {describe_mode(st)}")
    else:
        info.update(state="ok", details="root:root 1777")
    return info, st


def put_old_aside(parent_fd: int, swap: str, record: Dict[str, Any], path: str,
                  seen: Optional[os.stat_result] = None) -> str:
    """What was at the name, now at ``swap``: a symlink is removed (the
    link itself), anything else renamed to the recorded aside name (or a
    fresh one when that is taken). Returns what was done."""
    now = os.lstat(swap, dir_fd=parent_fd)
    if seen is not None and not same_inode(now, seen):
        raise raced(path)
    if stat.S_ISLNK(now.st_mode):
        target = os.readlink(swap, dir_fd=parent_fd)
        os.unlink(swap, dir_fd=parent_fd)
        return f"removed the symlink, its target {target} untouched"
    aside = record.get("aside") or ""
    if not aside or exists(parent_fd, aside):
        aside = aside_name(parent_fd, path.rsplit("/", 1)[1])
    try:
        os.rename(swap, aside, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
    except OSError as e:
        raise JobFailed(f"cannot move the old {path} (now {swap}) to {aside}: "
                        f"{e.strerror}") from None
    return f"moved it aside to {aside}, kept for the admin"


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


def exists(parent_fd: int, name: str) -> bool:
    try:
        os.lstat(name, dir_fd=parent_fd)
    except FileNotFoundError:
        return False
    return True


def change(path: str, action: str, note: str) -> FileChange:
    return FileChange(path, action, note=note)


def same_inode(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def raced(path: str) -> JobFailed:
    return JobFailed(f"{path} changed while it was being fixed (someone else is "
                     "working on it?); run again")


def aside_name(parent_fd: int, name: str) -> str:
    base = f"{name}.sunray-moved-{time.strftime('%Y%m%dT%H%M%S')}"
    candidate, n = base, 1
    while True:
        try:
            os.lstat(candidate, dir_fd=parent_fd)
        except FileNotFoundError:
            return candidate
        n += 1
        candidate = f"{base}.{n}"


def fix_fd(fd: int, path: str) -> None:
    """chown 0:0 then chmod 1777 through an open directory fd, and verify."""
    try:
        os.fchown(fd, WANT_UID, WANT_GID)
        os.fchmod(fd, WANT_MODE)
    except OSError as e:
        raise JobFailed(f"cannot make {path} root:root 1777: {e.strerror}") from None
    st = os.fstat(fd)
    if (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) != (WANT_UID, WANT_GID, WANT_MODE):
        raise JobFailed(f"{path} is still {describe_mode(st)} after the repair")


def open_subdir(parent_fd: int, name: str, path: str) -> int:
    """The directory ``name`` in ``parent_fd``, opened without following a
    link; failing that, something changed it under us."""
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except OSError:
        raise raced(path) from None
