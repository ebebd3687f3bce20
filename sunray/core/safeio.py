"""Low-level safe file I/O shared by every task: read inputs strictly, write atomically.

* ``read_text``: a file under the root as text, refusing what is not a
  regular readable text file (config files are untrusted input);
* ``check_writable``: every target of a plan checked before the first write;
* ``atomic_write``: temp file in the same directory, fsync, rename, keeping
  mode, owner and extended attributes; ``fsync_dir`` makes the rename durable;
* ``temp_name`` / ``is_temp_name``: the one pattern of sunray's temporary
  names (``.NAME.<random>.sunray-tmp``), so that a rerun or a revert can
  remove what a killed run left (``remove_temp_files``);
* ``exchange``: two names swapped in one step (``renameat2``);
* ``restorecon``: new files on the live system get their SELinux label.

``sunray.core.fileedit.FileEditor`` builds backed-up, revertible edits on these.
"""

import difflib
import errno
import os
import posixpath
import re
import stat
import tempfile
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from .errors import JobFailed, UsageError
from .rootfs import Root


def read_text(root: Root, server_path: str, what: str = "file") -> str:
    """Text of a file under the root, or a UsageError naming the problem.

    Refuses files that are not regular, not readable, or not text: config
    files and scripts are untrusted input.
    """
    return read_text_with_encoding(root, server_path, what)[0]


def read_text_with_encoding(root: Root, server_path: str, what: str = "file") -> Tuple[str, str]:
    """``(text, encoding)`` of a file under the root, read once, with the
    same checks as ``read_text``. The encoding is "utf-8", or "latin-1" for
    older files that are not valid UTF-8; ``text.encode(encoding)`` gives the
    file's bytes back, so an edit leaves every other byte as it was.
    """
    host = root.path(server_path)
    try:
        st = os.stat(host)
    except FileNotFoundError:
        raise UsageError(f"{server_path}: no such {what}") from None
    except OSError as e:
        raise UsageError(f"{server_path}: cannot read {what}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{server_path}: not a regular file")
    try:
        data = host.read_bytes()
    except OSError as e:
        raise UsageError(f"{server_path}: cannot read {what}: {e.strerror}") from None
    if b"\0" in data:
        raise UsageError(f"{server_path}: binary data, not a text {what}")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"  # latin-1 decodes any bytes


def check_writable(root: Root, server_paths: Iterable[str], what: str) -> None:
    """Refuse before the first write when a file cannot be replaced, so a
    read-only or immutable file system never leaves a job half done.

    For each server path: its directory is walked as a write would reach it
    (``Root.makedirs`` without creating: a symlink out of the root or a file
    on the way is a UsageError), then the file itself when it is there as a
    regular file, and the nearest directory that exists on its way up (where
    the new file, and any missing directories, would be created), must be
    writable (JobFailed otherwise, one line). ``what`` completes "cannot
    ...", e.g. "install the boot hook".
    """
    for server_path in server_paths:
        parent = posixpath.dirname(server_path.rstrip("/")) or "/"
        try:
            made = root.makedirs(parent, create=False)
        except UsageError as e:
            raise UsageError(f"cannot {what}: {e}; nothing was changed") from None
        host = made.host / posixpath.basename(server_path.rstrip("/"))
        directory = made.host
        while not os.path.lexists(directory) and directory != root.top:
            directory = directory.parent
        probes = [(directory, os.W_OK | os.X_OK)]
        if os.path.isfile(host) and not os.path.islink(host):
            probes.insert(0, (host, os.W_OK))
        for probe, mode in probes:
            if not os.access(probe, mode):
                raise JobFailed(f"cannot {what}: {root.server_path(probe)} "
                                f"{_why_not_writable(probe)}; nothing was changed")


def _why_not_writable(path: Path) -> str:
    """The cause worth naming at 3 a.m.: a read-only mount is fixed
    elsewhere than an immutable bit or a permission."""
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "is not writable: it is on a read-only file system"
    except OSError:
        pass
    return "is not writable (immutable, or its permissions?)"


def stat_input(path: Union[str, os.PathLike], label: Optional[str] = None) -> os.stat_result:
    """``os.stat`` of an input file named by the admin (an SRPM, a tarball, a
    proposal): a UsageError unless it exists and is a regular file."""
    label = label or str(path)
    try:
        st = os.stat(path)
    except OSError as e:
        raise UsageError(f"{label}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{label}: not a regular file")
    return st


def unified_diff(server_path: str, old: Union[str, bytes], new: Union[str, bytes]) -> str:
    """A unified diff of two texts (or bytes) for ``--dry-run`` and reports."""
    if isinstance(old, bytes) or isinstance(new, bytes):
        try:
            old = old.decode() if isinstance(old, bytes) else old
            new = new.decode() if isinstance(new, bytes) else new
        except UnicodeDecodeError:
            return f"Binary file {server_path} differs\n"
    name = server_path.lstrip("/")
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{name}" if old else "/dev/null",
            tofile=f"b/{name}" if new else "/dev/null",
        )
    )


TEMP_SUFFIX = ".sunray-tmp"
# .NAME.<random>.sunray-tmp: mkstemp's random part, or temp_name()'s.
_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.sunray-tmp$")


def temp_name(name: str) -> str:
    """A temporary name for ``name`` in the same directory (the pattern
    every temporary file, link and directory of sunray's has)."""
    return f".{name}.{os.urandom(4).hex()}{TEMP_SUFFIX}"


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one of sunray's temporary names."""
    return bool(_TEMP_NAME.match(name))


def remove_temp_files(directory: Union[str, Path]) -> List[str]:
    """Remove sunray's leftover temporary files and links (and empty
    temporary directories) directly in ``directory``; the names removed.

    Only names of the pattern, owned by root or by us, are touched; nothing
    is followed (``directory`` may be world-writable, like /tmp).
    """
    removed: List[str] = []
    try:
        dfd = os.open(str(directory), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return removed
    try:
        for name in os.listdir(dfd):
            if not is_temp_name(name):
                continue
            try:
                st = os.lstat(name, dir_fd=dfd)
                if st.st_uid not in (0, os.geteuid()):
                    continue
                if stat.S_ISDIR(st.st_mode):
                    os.rmdir(name, dir_fd=dfd)
                else:
                    os.unlink(name, dir_fd=dfd)
            except OSError:
                continue  # not empty, or gone already: leave it
            removed.append(name)
    finally:
        os.close(dfd)
    return removed


def atomic_write(host_path: Union[str, Path], data: bytes, mode: int = 0o644,
                 uid: Optional[int] = None, gid: Optional[int] = None) -> None:
    """Replace ``host_path`` by ``data`` atomically (temp file, fsync, rename).

    When a regular file is replaced, its extended attributes (SELinux label,
    POSIX ACL, ``user.*``) go to the new inode too: a rename would drop them.
    """
    host_path = Path(host_path)
    directory = host_path.parent
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{host_path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), stat.S_IMODE(mode))
            if uid is not None and (os.geteuid() == 0 or uid == os.geteuid()):
                os.fchown(f.fileno(), uid, gid if gid is not None else -1)
                # chown clears set-id bits: put the mode back afterwards.
                os.fchmod(f.fileno(), stat.S_IMODE(mode))
            # After the mode: an ACL's mask must win over fchmod's group bits.
            copy_xattrs(host_path, f.fileno())
            os.fsync(f.fileno())
        os.rename(tmp, host_path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError):
            # A write's or an fsync's error names no file: name the one that
            # was being replaced, which is as it was (one_line says so).
            e.filename, e.filename2 = str(host_path), None
            e.left_as_it_was = True  # type: ignore[attr-defined]
        raise
    fsync_dir(directory)


# Attributes that describe the old *content* (file capabilities, IMA/EVM
# signatures) must not be carried over to new content; the kernel drops
# security.capability on a write for the same reason.
_XATTRS_OF_CONTENT = ("security.capability", "security.ima", "security.evm")
# Per attribute, these mean "cannot be copied here": skip it quietly.
_XATTR_SKIP_ERRNOS = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM, errno.EACCES,
                      errno.ENODATA, errno.EINVAL}


def copy_xattrs(src_path: Union[str, Path], dst_fd: int) -> None:
    """Copy the extended attributes of regular file ``src_path`` (if it is
    one; symlinks are not followed) onto the open file ``dst_fd``."""
    try:
        if not stat.S_ISREG(os.lstat(src_path).st_mode):
            return
        names = os.listxattr(src_path, follow_symlinks=False)
    except OSError:
        return  # no file, or a file system without xattrs: nothing to keep
    for name in names:
        if name in _XATTRS_OF_CONTENT:
            continue
        try:
            os.setxattr(dst_fd, name, os.getxattr(src_path, name, follow_symlinks=False))
        except OSError as e:
            if e.errno not in _XATTR_SKIP_ERRNOS:
                raise


# SELinux is enabled when its file system is mounted (RHEL 7+: /sys/fs/selinux,
# RHEL 5/6: /selinux).
SELINUX_ENFORCE_FILES = ("/sys/fs/selinux/enforce", "/selinux/enforce")


def restorecon(host_paths: Sequence[Union[str, Path]]) -> str:
    """Give new files on the live system their SELinux label (``restorecon
    -F``), when SELinux is enabled and restorecon is installed. Returns a
    problem text or ""."""
    if not host_paths or not any(os.path.exists(p) for p in SELINUX_ENFORCE_FILES):
        return ""
    import shutil
    import subprocess

    from .subprocesses import run_captured

    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    tool = shutil.which("restorecon", path=search)
    if tool is None:
        return ""
    try:
        proc = run_captured([tool, "-F", *map(str, host_paths)], stdin=subprocess.DEVNULL, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"restorecon failed: {e}"
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        return f"restorecon exited {proc.returncode}" + (f": {detail[-1]}" if detail else "")
    return ""


def fsync_dir(directory: Union[str, Path]) -> None:
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def exchange(parent_fd: int, first: str, second: str) -> bool:
    """Swap two names in one directory atomically (``renameat2`` with
    ``RENAME_EXCHANGE``); False when the C library and kernel cannot (then
    nothing happened), OSError when the swap itself fails."""
    import ctypes
    import platform

    libc = ctypes.CDLL(None, use_errno=True)
    args = (ctypes.c_int(parent_fd), ctypes.c_char_p(os.fsencode(first)),
            ctypes.c_int(parent_fd), ctypes.c_char_p(os.fsencode(second)),
            ctypes.c_uint(_RENAME_EXCHANGE))
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        result = renameat2(*args)
    else:  # glibc before 2.28 (RHEL 7): the system call itself
        number = _RENAMEAT2.get(platform.machine())
        if number is None:
            return False
        result = libc.syscall(ctypes.c_long(number), *args)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err))


_RENAME_EXCHANGE = 2
_RENAMEAT2 = {"x86_64": 316, "aarch64": 276, "i686": 353, "i386": 353, "ppc64le": 357,
              "ppc64": 357, "s390x": 347}
