"""Whom rpmbuild runs as, and running it so that the build cannot reach the admin.

A source RPM's %prep, %build and %install are arbitrary shell from an
untrusted package. Run as root, build-esound runs rpmbuild (and with it
those scripts) as ``sunray.esound.build_user`` (default nobody), with that
user's group and no supplementary groups; the child switches user between
fork and exec (``_switch_to``), so no setpriv or runuser is needed. Always (root or not) rpmbuild
runs in a new session with stdin from /dev/null, so it has no controlling
terminal; gets a minimal environment of its own; and whatever it leaves
running is killed when it ends.
"""

import os
import pwd
import re
import signal
import subprocess
from dataclasses import dataclass
from typing import IO, Any, Callable, Dict, List

from ..core.errors import JobFailed, UsageError

# A login name as useradd accepts it: it becomes an argument, never shell text.
_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")

# The build's whole environment: nothing of the caller's (root's) leaks in.
BUILD_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class BuildUser:
    """Whom rpmbuild runs as; ``dropped``: root switches to uid/gid (and no
    supplementary groups) for it, and uid/gid own the private build tree."""

    name: str
    uid: int
    gid: int
    dropped: bool


def build_user(esound_settings: Dict[str, Any], allow_root_build: bool = False) -> BuildUser:
    """Whom build-esound runs the SRPM's build scripts as.

    ``esound_settings`` is the ``sunray.esound`` section. As a normal user:
    that user, nothing to drop. As root: its ``build_user`` (default
    nobody); the switch happens in Python at exec time (``run_build``).
    build_user root only when ``allow_root_build`` says so; a bad or unknown
    name is a UsageError.
    """
    euid = os.geteuid()
    if euid != 0:
        entry = pwd.getpwuid(euid)
        return BuildUser(entry.pw_name, euid, os.getegid(), dropped=False)
    name = esound_settings.get("build_user") or "nobody"
    if not isinstance(name, str) or not _USER.fullmatch(name):
        raise UsageError(f"sunray.esound.build_user {name!r}: expected a user name, e.g. nobody")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise UsageError(f"sunray.esound.build_user {name!r}: no such user on this host") from None
    if entry.pw_uid != 0:
        return BuildUser(name, entry.pw_uid, entry.pw_gid, dropped=True)
    if not allow_root_build:
        raise UsageError(f"build-esound: sunray.esound.build_user {name!r} is root; refusing "
                         "to run the source RPM's build scripts as root (give "
                         "--allow-root-build to do it anyway)")
    return BuildUser(name, 0, entry.pw_gid, dropped=False)


def build_env(topdir: str, user: BuildUser) -> Dict[str, str]:
    """A minimal environment, HOME and TMPDIR inside the build tree (not
    root's ~/.rpmmacros, not a shared /tmp)."""
    return {
        "PATH": BUILD_PATH,
        "HOME": topdir,
        "TMPDIR": f"{topdir}/tmp",
        "LANG": "C",
        "USER": user.name,
        "LOGNAME": user.name,
    }


def _switch_to(uid: int, gid: int) -> Callable[[], None]:
    """The child's step between fork and exec (Popen's preexec_fn): drop
    every supplementary group, then the group, then the user, in that order
    (once the uid is gone, groups can no longer be changed). Popen's
    ``user=``/``group=``/``extra_groups=`` do the same but need Python 3.9.
    Any failure raises, so Popen fails and nothing runs as root."""

    def switch() -> None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        # setuid as root sets the real, effective and saved uid: no way back.
        if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
            raise OSError("the user switch did not take")

    return switch


def run_build(cmd: List[str], topdir: str, user: BuildUser, log: IO[bytes]) -> int:
    """Run ``cmd`` (the rpmbuild argv) for the untrusted build scripts.

    In a new session: no controlling terminal, so nothing in the SRPM can
    open /dev/tty and push keystrokes (TIOCSTI) into the admin's shell;
    stdin is /dev/null. As root, Python switches to the build user between
    fork and exec (groups cleared). When rpmbuild ends, whatever it left
    running in its session's process group is killed. Returns the exit code.
    """
    switch = _switch_to(user.uid, user.gid) if user.dropped else None
    try:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=topdir, env=build_env(topdir, user),
                                start_new_session=True, preexec_fn=switch)
    except subprocess.SubprocessError as e:  # _switch_to failed in the child: nothing ran
        raise JobFailed(f"build-esound: cannot switch to the build user {user.name} "
                        f"(uid {user.uid}): {e}") from None
    try:
        # Wait for rpmbuild to end but leave it a zombie: its pid, which is
        # the session's process group id, cannot be reused until reaped, so
        # killpg below reaches only what the build left behind.
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    return proc.returncode
