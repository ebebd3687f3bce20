"""The build lock: one rebuild or removal of modules at a time per tree."""

import os
import re
import sys
import time
from typing import Any, Optional

from ..errors import JobFailed
from .settings import Job
from .tools import safe_dir


class BuildLock:
    """flock on DIR/var/lib/sunray/modules.lock, waiting up to
    ``modules.lock_timeout`` seconds.

    The holder writes its pid and command into the file, so a waiting run can
    say who it waits for.
    """

    def __init__(self, job: Job) -> None:
        self.root = job.root
        self.path = job.root.state("modules.lock", settings=job.settings)
        self.server_path = job.root.server_path(self.path)
        self.timeout = job.module_settings.lock_timeout
        self.fd: Optional[int] = None

    def __enter__(self) -> "BuildLock":
        import fcntl

        self.path = safe_dir(self.root, self.path.parent) / self.path.name
        self.root.ensure_inside(self.path)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        deadline = time.monotonic() + self.timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = self.holder()
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise JobFailed(
                        f"{self.server_path} is held by {holder or 'another process'}; "
                        f"gave up after {self.timeout:g} s") from None
                if not told:
                    print(f"sunray: waiting for {self.server_path} (held by "
                          f"{holder or 'another process'})", file=sys.stderr, flush=True)
                    told = True
                time.sleep(0.1)
        command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
        command = re.sub(r"[\x00-\x1f]", "?", command)[:300]
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}: {command} (since {time.strftime('%H:%M:%S')})\n"
                  .encode(), 0)
        self.fd = fd
        return self

    def holder(self) -> str:
        """What the holder wrote into the lock file (empty when unreadable)."""
        try:
            with open(self.path, errors="replace") as f:
                return f.read(400).strip()
        except OSError:
            return ""

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)  # closing drops the flock
            self.fd = None
