"""The one lock of every writing task: ``<state_dir>/sunray.lock``.

A module rebuild or removal and any other writing task (a boot-hook install,
say) never run at once on one tree. The lock is ``flock(LOCK_EX)`` on
DIR/var/lib/sunray/sunray.lock (``sunray.state_dir``), waiting up to
``sunray.modules.lock_timeout`` seconds; the holder writes
``pid N: COMMAND (since HH:MM:SS)`` into it, so that a waiting run can say
whom it waits for. It is reentrant within a process (``apply`` runs
rebuild-modules under its own hold).

A removal that leaves nothing of sunray's behind removes the lock file (and
the state directory) while holding it; a run that was waiting on the removed
file notices (fstat against lstat) and locks the new one instead.
"""

import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

from ..errors import JobFailed
from .settings import Job
from .tools import safe_dir

LOCK_NAME = "sunray.lock"

# Locks this process holds: host path -> [fd, depth].
_HELD: Dict[str, List[int]] = {}


def holder_line() -> str:
    """What the holder writes into the lock file: pid, command, since when."""
    command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
    command = re.sub(r"[\x00-\x1f\x7f]", "?", command)[:300]
    return f"pid {os.getpid()}: {command} (since {time.strftime('%H:%M:%S')})\n"


class BuildLock:
    """The tree's lock (a context manager); taken only once the input is
    checked and the plan made, so that bad input leaves nothing behind."""

    def __init__(self, job: Job) -> None:
        self.root = job.root
        self.path = job.root.state(LOCK_NAME, settings=job.settings)
        self.server_path = job.root.server_path(self.path)
        self.timeout = job.module_settings.lock_timeout

    def __enter__(self) -> "BuildLock":
        import fcntl

        self.path = self._made_path()
        held = _HELD.get(str(self.path))
        if held is not None:
            held[1] += 1
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
            os.close(fd)  # removed while we waited: lock the file at the path now
            self.path = self._made_path()
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder_line().encode(), 0)
        _HELD[str(self.path)] = [fd, 1]
        return self

    def _made_path(self) -> Path:
        path = safe_dir(self.root, self.path.parent) / LOCK_NAME
        self.root.ensure_inside(path)
        return path

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise JobFailed(f"cannot open the lock {self.server_path}: {e.strerror}") from None

    def _still_there(self, fd: int) -> bool:
        try:
            now = os.lstat(self.path)
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)

    def holder(self) -> str:
        """What the holder wrote into the lock file (empty when unreadable)."""
        try:
            with open(self.path, errors="replace") as f:
                return f.read(400).strip()
        except OSError:
            return ""

    @property
    def outermost(self) -> bool:
        """Whether this process holds the lock once only (no outer task holds it)."""
        held = _HELD.get(str(self.path))
        return held is not None and held[1] == 1

    def remove(self) -> None:
        """Unlink the lock file while still holding it (a removal that leaves
        nothing of sunray's behind); only the outermost hold does."""
        if self.outermost:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def __exit__(self, *exc: Any) -> None:
        held = _HELD.get(str(self.path))
        if held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            del _HELD[str(self.path)]
            if os.path.lexists(self.path):
                try:
                    os.ftruncate(held[0], 0)
                except OSError:
                    pass
            os.close(held[0])  # closing drops the flock

