"""The tree a task works on, as if it were "/" (``--root DIR``).

Every path a task talks about is a *server path* ("/etc/cron.daily/tmpwatch");
``Root.path()`` maps it into the tree. Nothing outside the root is written:
``Root.inside()`` refuses a path whose real location escapes the tree (an
absolute symlink inside an image pointing at the build host, say).
"""

import os
from pathlib import Path, PurePosixPath

from .errors import UsageError


class Root:
    """A directory treated as "/"."""

    def __init__(self, top="/"):
        if top is None or str(top) == "":
            top = "/"
        top = Path(top)
        if not top.exists():
            raise UsageError(f"root {top} does not exist")
        if not top.is_dir():
            raise UsageError(f"root {top} is not a directory")
        self.top = top.resolve()

    @property
    def is_host(self):
        """True when the root is the running system's own "/"."""
        return self.top == Path("/")

    def path(self, server_path):
        """Host path of ``server_path`` (absolute, as seen on the server)."""
        p = PurePosixPath(server_path)
        if not p.is_absolute():
            raise UsageError(f"{server_path}: expected an absolute path")
        if ".." in p.parts:
            raise UsageError(f"{server_path}: '..' is not allowed in a server path")
        return self.top.joinpath(*p.parts[1:])

    def server_path(self, host_path):
        """Inverse of ``path()``: how the server would name ``host_path``."""
        rel = Path(host_path).relative_to(self.top)
        return "/" + str(rel) if str(rel) != "." else "/"

    def inside(self, host_path):
        """Raise UsageError unless the real location of ``host_path``'s parent
        directory is inside the root (the last component itself may not exist)."""
        host_path = Path(host_path)
        parent = Path(os.path.realpath(host_path.parent))
        if parent != self.top and self.top not in parent.parents:
            raise UsageError(
                f"{self.server_path(host_path) if self._under(host_path) else host_path}: "
                f"resolves to {parent}, outside the root {self.top}"
            )
        return host_path

    def resolve(self, server_path, hops=40):
        """Where ``server_path`` leads inside the root, following symlinks the
        way the server would (absolute targets start at the root's top, '..'
        stops there); None when it does not exist or loops. Never leaves the
        root: an image's absolute links never reach the build host's files."""
        parts = list(PurePosixPath(server_path).parts[1:])
        done = []
        while parts:
            part = parts.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            here = self.top.joinpath(*done, part)
            if os.path.islink(here):
                hops -= 1
                if hops < 0:
                    return None
                target = PurePosixPath(os.readlink(here))
                if target.is_absolute():
                    done = []
                parts = list(target.parts[1:] if target.is_absolute() else target.parts) + parts
                continue
            if not os.path.lexists(here):
                return None
            done.append(part)
        return "/" + "/".join(done)

    def _under(self, host_path):
        try:
            Path(host_path).relative_to(self.top)
            return True
        except ValueError:
            return False

    def state(self, *parts, config=None):
        """Host path of the toolkit's state directory (or a path below it)."""
        base = (config or {}).get("state_dir", "/var/lib/sunray")
        return self.path(base).joinpath(*parts)

    def __repr__(self):
        return f"Root({str(self.top)!r})"
