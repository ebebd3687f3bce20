"""One lock for every task that writes: ``<state_dir>/sunray.lock``.

``RunLock`` takes ``flock(LOCK_EX)`` on the lock file, waiting up to
``sunray.modules.lock_timeout`` seconds (default 900), and writes the
holder's line into it (``pid N: COMMAND (since HH:MM:SS)``) so that a waiting
run can say whom it waits for. It is reentrant within a process: ``apply``
holds it once for all its steps, and each step's own lock is the same one.

A revert may remove the lock file (and the state directory) when nothing of
sunray's remains; a run that was waiting on the removed file then holds a
lock nobody else can see, so after taking it the lock checks that the file
it locked is still the file at the path (fstat against lstat) and tries again
when it is not.

The state directory is checked first (``sunray.core.statedir.check``: a
refused run makes nothing), then made by ``sunray.core.statedir.ensure``
(recorded, so that a revert can remove it again). ``created`` says whether
this run made the lock file: a revert refused under the lock removes it.
"""

import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from . import statedir
from .errors import JobFailed, UsageError
from .rootfs import Root

LOCK_NAME = "sunray.lock"
DEFAULT_TIMEOUT = 900.0

# Locks this process holds: lock file path -> [fd, depth].
_HELD: Dict[str, List[int]] = {}


def lock_timeout(settings: Dict[str, Any]) -> float:
    """``sunray.modules.lock_timeout`` (seconds), the one wait for the lock."""
    value = (settings.get("modules") or {}).get("lock_timeout", DEFAULT_TIMEOUT)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds >= 0:  # also refuses NaN
        raise UsageError(f"sunray.modules.lock_timeout {value!r}: expected a number of seconds")
    return seconds


def holder_line() -> str:
    """What the holder writes into the lock file."""
    command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
    command = re.sub(r"[\x00-\x1f\x7f]", "?", command)[:300]
    return f"pid {os.getpid()}: {command} (since {time.strftime('%H:%M:%S')})\n"


class RunLock:
    """The lock of every writing task on one tree (a context manager)."""

    def __init__(self, root: Root, settings: Dict[str, Any]) -> None:
        self.root = root
        self.settings = settings
        self.state_dir = settings.get("state_dir", statedir.DEFAULT)
        self.timeout = lock_timeout(settings)
        self.path: Optional[Path] = None
        self.created = False  # this run made the lock file (a refusal removes it again)
        self.server_path = f"{self.state_dir.rstrip('/')}/{LOCK_NAME}"

    def __enter__(self) -> "RunLock":
        import fcntl

        statedir.check(self.root, self.state_dir)  # before anything is made
        host_dir = statedir.ensure(self.root, self.state_dir)
        self.path = host_dir / LOCK_NAME
        key = str(self.path)
        if key in _HELD:
            _HELD[key][1] += 1
            return self
        deadline = time.monotonic() + self.timeout
        told = False
        while True:
            fd = self._open()
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        holder = self.holder()
                        if time.monotonic() >= deadline:
                            raise JobFailed(
                                f"{self.server_path} is held by {holder or 'another process'}; "
                                f"gave up after {self.timeout:g} s") from None
                        if not told:
                            print(f"sunray: waiting for {self.server_path} (held by "
                                  f"{holder or 'another process'})", file=sys.stderr, flush=True)
                            told = True
                        time.sleep(0.1)
            except BaseException:
                os.close(fd)
                raise
            if self._still_there(fd):
                break
            os.close(fd)  # a revert removed it while we waited: lock the new one
            host_dir = statedir.ensure(self.root, self.state_dir)
            self.path = host_dir / LOCK_NAME
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder_line().encode(), 0)
        _HELD[str(self.path)] = [fd, 1]
        return self

    def _open(self) -> int:
        assert self.path is not None
        flags = os.O_RDWR | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        try:
            try:
                fd = os.open(self.path, flags | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return os.open(self.path, flags)
            self.created = True
            return fd
        except OSError as e:
            raise JobFailed(f"cannot open the lock {self.server_path}: {e.strerror}") from None

    def _still_there(self, fd: int) -> bool:
        try:
            now = os.lstat(str(self.path))
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)

    @property
    def outermost(self) -> bool:
        """Whether this is the only (outermost) hold of the lock."""
        held = _HELD.get(str(self.path))
        return held is not None and held[1] == 1

    def holder(self) -> str:
        """What the holder wrote into the lock file (empty when unreadable)."""
        try:
            with open(str(self.path), errors="replace") as f:
                return f.read(400).strip()
        except OSError:
            return ""

    def remove(self) -> None:
        """Unlink the lock file while still holding it (a revert that leaves
        nothing of sunray's behind); waiting runs notice and start again."""
        if self.outermost:
            try:
                os.unlink(str(self.path))
            except FileNotFoundError:
                pass

    def __exit__(self, *exc: Any) -> None:
        held = _HELD.get(str(self.path))
        if held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            del _HELD[str(self.path)]
            try:
                os.ftruncate(held[0], 0)
            except OSError:
                pass
            os.close(held[0])  # closing drops the flock
