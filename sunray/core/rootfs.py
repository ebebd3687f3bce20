"""The tree a task works on, as if it were "/" (``--root DIR``).

Every path a task talks about is a *server path* ("/etc/cron.daily/tmpwatch");
``Root.path()`` maps it into the tree. Nothing outside the root is written:
``Root.ensure_inside()`` refuses a path whose real location escapes the tree (an
absolute symlink inside an image pointing at the build host, say).

Every directory the toolkit writes into is reached through ``Root.makedirs()``,
which walks the path one component at a time with file descriptors
(``O_NOFOLLOW|O_DIRECTORY`` relative to the parent) and creates what is
missing, so no symlink can lead a write out of the root:

* a relative symlink is followed when its target stays inside the root
  (RHEL's ``/etc/init.d -> rc.d/init.d``, merged-usr ``/lib -> usr/lib``);
* an absolute symlink is followed on the live system (root ``/``: it cannot
  leave it) and refused in any other tree: there it means one place on the
  server and another on this host, and writing through it is a guess;
* a relative symlink whose '..' climbs above the root's top (in a tree
  other than ``/``) is refused, not clamped at the top; so are a loop and a
  file where a directory should be: a UsageError (exit 2), nothing written.
"""

import errno
import os
from collections import namedtuple
from pathlib import Path, PurePosixPath
from typing import Any, Dict, List, Optional, Union

from .errors import UsageError

# Open a directory, never through a symlink.
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_MAX_LINKS = 40

# What Root.makedirs() found: ``host`` is the directory's real location (no
# symlink in it), ``created`` the server paths of the directories it created
# (with create=False: would create), outermost first.
MadeDir = namedtuple("MadeDir", "host created")


class Root:
    """A directory treated as "/"."""

    def __init__(self, top: Union[str, Path, None] = "/"):
        if top is None or str(top) == "":
            top = "/"
        top = Path(top)
        try:
            if not top.exists():
                raise UsageError(f"root {top} does not exist")
            if not top.is_dir():
                raise UsageError(f"root {top} is not a directory")
            self.top = top.resolve()
        except OSError as e:  # a name too long, a loop of symlinks
            raise UsageError(f"root {top}: {e.strerror}") from None

    @property
    def is_host(self) -> bool:
        """True when the root is the running system's own "/"."""
        return self.top == Path("/")

    def path(self, server_path: str) -> Path:
        """Host path of ``server_path`` (absolute, as seen on the server)."""
        p = PurePosixPath(server_path)
        if not p.is_absolute():
            raise UsageError(f"{server_path}: expected an absolute path")
        if ".." in p.parts:
            raise UsageError(f"{server_path}: '..' is not allowed in a server path")
        return self.top.joinpath(*p.parts[1:])

    def server_path(self, host_path: Union[str, Path]) -> str:
        """Inverse of ``path()``: how the server would name ``host_path``."""
        rel = Path(host_path).relative_to(self.top)
        return "/" + str(rel) if str(rel) != "." else "/"

    def ensure_inside(self, host_path: Union[str, Path]) -> Path:
        """Raise UsageError unless the real location of ``host_path``'s parent
        directory is inside the root (the last component itself may not exist)."""
        host_path = Path(host_path)
        parent = Path(os.path.realpath(host_path.parent))
        if parent != self.top and self.top not in parent.parents:
            raise UsageError(
                f"{self.server_path(host_path) if self.contains(host_path) else host_path}: "
                f"resolves to {parent}, outside the root {self.top}"
            )
        return host_path

    def makedirs(self, server_dir: str, mode: int = 0o755, create: bool = True) -> MadeDir:
        """Make sure directory ``server_dir`` exists under the root, creating
        missing components one by one (each new one gets ``mode`` exactly,
        whatever the umask), and return a ``MadeDir``. No symlink is followed
        out of the root (see the module docstring); a UsageError says which
        component is wrong. With ``create=False`` nothing is created: the
        result says where the directory is or would be."""
        self.path(server_dir)  # absolute, no '..'
        parts = list(PurePosixPath(server_dir).parts[1:])
        done: List[str] = []
        created: List[str] = []
        fds = [os.open(str(self.top), os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))]
        hops = _MAX_LINKS
        missing = False  # create=False and a component is missing: the rest is too
        link = ""  # the last symlink followed, named when its target climbs out
        try:
            while parts:
                part = parts.pop(0)
                if part in ("", "."):
                    continue
                here = "/" + "/".join(done + [part])
                if part == "..":  # only from a symlink's target
                    if not done:
                        if self.is_host:
                            continue  # "/.." is "/" on the live system
                        raise UsageError(
                            f"{link} is a symlink that climbs out of the root {self.top}; "
                            "refusing to follow it outside the root") from None
                    done.pop()
                    os.close(fds.pop())
                    continue
                if missing:
                    done.append(part)
                    created.append(here)
                    continue
                try:
                    fd = os.open(part, DIR_FLAGS, dir_fd=fds[-1])
                except FileNotFoundError:
                    if not create:
                        missing = True
                        done.append(part)
                        created.append(here)
                        continue
                    try:
                        os.mkdir(part, mode, dir_fd=fds[-1])
                    except FileExistsError:
                        parts.insert(0, part)  # someone was quicker: look again
                        continue
                    fd = os.open(part, DIR_FLAGS, dir_fd=fds[-1])
                    os.fchmod(fd, mode)
                    created.append(here)
                except OSError as e:
                    if e.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    target = self._link_target(fds[-1], part, here)
                    link = f"{here} (-> {target})"
                    hops -= 1
                    if hops < 0:
                        raise UsageError(f"{here}: too many levels of symlinks") from None
                    target_parts = list(PurePosixPath(target).parts)
                    if target.startswith("/"):
                        if not self.is_host:
                            raise UsageError(
                                f"{here} is an absolute symlink (-> {target}) in the tree "
                                f"{self.top}; refusing to write through it (on this host it "
                                "leads outside the root)") from None
                        while len(fds) > 1:
                            os.close(fds.pop())
                        done = []
                        target_parts = target_parts[1:]
                    parts = target_parts + parts
                    continue
                done.append(part)
                fds.append(fd)
        except OSError as e:
            # Calls relative to a directory descriptor name only the component.
            if e.filename is not None and not os.path.isabs(str(e.filename)):
                e.filename = str(self.top.joinpath(*done, str(e.filename)))
            raise
        finally:
            for fd in fds:
                os.close(fd)
        return MadeDir(self.top.joinpath(*done), created)

    def _link_target(self, dir_fd, name, here):
        """The target of symlink ``name``, or a UsageError when it is not one
        (then it is a file where a directory should be)."""
        try:
            return os.readlink(name, dir_fd=dir_fd)
        except OSError:
            raise UsageError(f"{here}: not a directory") from None

    def resolve(self, server_path: str, hops: int = 40) -> Optional[str]:
        """Where ``server_path`` leads inside the root, following symlinks the
        way the server would (absolute targets start at the root's top, '..'
        stops there); None when it does not exist or loops. Never leaves the
        root: an image's absolute links never reach the build host's files."""
        parts = list(PurePosixPath(server_path).parts[1:])
        done: List[str] = []
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

    def contains(self, host_path: Union[str, Path]) -> bool:
        """Whether ``host_path`` (as written, not resolved) lies in the tree."""
        try:
            Path(host_path).relative_to(self.top)
            return True
        except ValueError:
            return False

    def state(self, *parts: str, settings: Optional[Dict[str, Any]] = None) -> Path:
        """Host path of the toolkit's state directory (or a path below it)."""
        base = (settings or {}).get("state_dir", "/var/lib/sunray")
        return self.path(base).joinpath(*parts)

    def __repr__(self):
        return f"Root({str(self.top)!r})"


def executable(host_path: Union[str, Path]) -> bool:
    """A regular file the owner may run (what run-parts and init look for)."""
    return os.path.isfile(host_path) and os.access(host_path, os.X_OK)
