"""The private rpmbuild tree of one build, and taking the built RPMs out of it.

Each build gets a fresh root-owned directory (``work_dir()``); the rpmbuild
tree ``top/`` inside it is made by root and then given to the build user
(``make_tree()``), while the build log and the copied-out results stay
beside it, where that user cannot reach. rpmbuild is told every directory
of the tree (``rpmbuild_command()``), so no ~/.rpmmacros sends part of the
build elsewhere. The results are read back through file descriptors that
never follow a link (``take_results()``): the build user could have
planted one to a secret.
"""

import os
import shutil
import stat
import tempfile
from typing import Dict, List, Optional, Tuple

from ..core.errors import JobFailed
from .builduser import BuildUser
from .rpm import extract_flat

RPMBUILD_DIRS = (
    ("_sourcedir", "SOURCES"), ("_specdir", "SPECS"), ("_builddir", "BUILD"),
    ("_buildrootdir", "BUILDROOT"), ("_rpmdir", "RPMS"), ("_srcrpmdir", "SRPMS"),
    ("_tmppath", "tmp"),
)

_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def _reachable_by_others(directory: str) -> bool:
    """Whether every directory on the way to ``directory`` lets others pass."""
    path = os.path.realpath(directory)
    while True:
        try:
            if not os.stat(path).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
        if path == "/":
            return True
        path = os.path.dirname(path)


def work_dir(user: BuildUser) -> str:
    """A fresh root-owned directory for one build (removed by the caller).

    The build tree ``top`` inside it belongs to the build user; the log and
    the copied-out results stay beside it, where that user cannot reach.
    """
    base = tempfile.gettempdir()
    if user.dropped and not _reachable_by_others(base):
        base = "/var/tmp"  # a private TMPDIR the build user could not enter
    work = tempfile.mkdtemp(prefix="sunray-esound-", dir=base)
    if user.dropped:
        os.chmod(work, 0o711)  # the build user may pass to top/, not list or write
    return work


def _give_tree(topdir: str, user: BuildUser) -> None:
    """chown the freshly made build tree (ours, nothing foreign in it yet)."""
    if not user.dropped:
        return
    for dirpath, dirnames, filenames in os.walk(topdir):
        for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
            os.chown(name, user.uid, user.gid, follow_symlinks=False)


def make_tree(work: str, files: Dict[str, bytes], spec_name: str, spec_text: str,
              user: BuildUser) -> Tuple[str, str]:
    """The rpmbuild tree ``work/top`` with the sources and the spec in it,
    given to the build user; returns (its path, the spec's path)."""
    topdir = os.path.join(work, "top")
    os.mkdir(topdir, 0o700)
    for _macro, sub in RPMBUILD_DIRS:
        os.mkdir(os.path.join(topdir, sub), 0o700)
    extract_flat(files, os.path.join(topdir, "SOURCES"))
    spec_path = os.path.join(topdir, "SPECS", spec_name)
    with open(spec_path, "w", encoding="utf-8") as f:
        f.write(spec_text)
    _give_tree(topdir, user)
    return topdir, spec_path


def rpmbuild_command(rpmbuild: str, topdir: str, spec_path: str, nodeps: bool) -> List[str]:
    """``rpmbuild -ba`` of ``spec_path`` with every directory in ``topdir``.

    ``rpmbuild`` is its path, found on the caller's PATH: the build's own
    PATH is minimal.
    """
    cmd = [rpmbuild, "-ba", "--define", f"_topdir {topdir}"]
    # Every directory explicitly, so a ~/.rpmmacros cannot send parts of
    # the build elsewhere.
    for macro, sub in RPMBUILD_DIRS:
        cmd += ["--define", f"{macro} {topdir}/{sub}"]
    if nodeps:
        cmd.append("--nodeps")
    cmd.append(spec_path)
    return cmd


def _entries(dir_fd: int, subdir: str) -> Tuple[Optional[int], List[str]]:
    """An fd of ``subdir`` (never a link) and its sorted names; (None, [])
    when it does not exist."""
    try:
        fd = os.open(subdir, _OPEN_DIR, dir_fd=dir_fd)
    except FileNotFoundError:
        return None, []
    except OSError:
        raise JobFailed(f"build tree: {subdir} is not a plain directory; "
                        "nothing copied") from None
    return fd, sorted(os.listdir(fd))


def _copy_out(dir_fd: int, name: str, where: str, staging: str) -> str:
    """Copy the plain file ``name`` (no link, no hard link) into ``staging``."""
    try:
        fd = os.open(name, _OPEN_FILE, dir_fd=dir_fd)
    except OSError:
        raise JobFailed(f"build tree: {where}/{name} is not a plain file; nothing copied") from None
    with os.fdopen(fd, "rb") as src:
        st = os.fstat(src.fileno())
        # a hard link could be someone else's file (no protected_hardlinks on RHEL 6)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            raise JobFailed(f"build tree: {where}/{name} is not a plain file; nothing copied")
        target = os.path.join(staging, name)
        with open(target, "xb") as dest:
            shutil.copyfileobj(src, dest)
    return target


def take_results(topdir: str, staging: str) -> Tuple[List[str], List[str]]:
    """Copy the built RPMs (RPMS/ARCH/*.rpm) and SRPMs (SRPMS/*.src.rpm) out
    of the build user's tree into root's ``staging``, through fds that never
    follow a link: that user could have swapped anything in there for a link
    to a secret. Returns (binary RPM paths, source RPM paths) in staging."""
    top_fd = os.open(topdir, _OPEN_DIR)
    built: List[str] = []
    sources: List[str] = []
    try:
        rpms_fd, arches = _entries(top_fd, "RPMS")
        if rpms_fd is not None:
            try:
                for arch in arches:
                    arch_fd, names = _entries(rpms_fd, arch)
                    if arch_fd is None:  # listed a moment ago: someone is still at work in there
                        raise JobFailed(f"build tree: RPMS/{arch} vanished; nothing copied")
                    try:
                        built += [_copy_out(arch_fd, n, f"RPMS/{arch}", staging)
                                  for n in names if n.endswith(".rpm")]
                    finally:
                        os.close(arch_fd)
            finally:
                os.close(rpms_fd)
        srpms_fd, names = _entries(top_fd, "SRPMS")
        if srpms_fd is not None:
            try:
                sources = [_copy_out(srpms_fd, n, "SRPMS", staging) for n in names if n.endswith(".src.rpm")]
            finally:
                os.close(srpms_fd)
    finally:
        os.close(top_fd)
    return sorted(built), sorted(sources)
