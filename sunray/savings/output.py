"""Where a savings report goes: never over an input, never over a stranger.

``--output`` is refused (exit 2, before anything is computed) when it is a
file the run reads (the ``--config`` proposal, compared by device and inode,
so a symlink or a hard link to it is caught too), and, without ``--force``,
when it exists and is not a previous report of ours. Our reports carry
``MARKER`` near their start or end, in the form each format allows: a
``generator`` field (json, yaml), a trailing ``generator`` row (csv), a last
line (text), an HTML comment (markdown) or a ``<meta name="generator">``
(html). Writing is atomic and never through a symlink.
"""

import os
import stat
from pathlib import Path
from typing import Iterable, Optional, Union

from ..core.errors import UsageError

MARKER = "sunray-savings"
# The marker is looked for in this many bytes at each end of an existing file.
PEEK_BYTES = 4096

PathLike = Union[str, Path]


def is_our_output(path: PathLike) -> bool:
    """True when the file at ``path`` carries MARKER near its start or end."""
    token = MARKER.encode("ascii")
    with open(path, "rb") as f:
        head = f.read(PEEK_BYTES)
        if token in head:
            return True
        size = os.fstat(f.fileno()).st_size
        if size <= PEEK_BYTES:
            return False
        f.seek(max(size - PEEK_BYTES, PEEK_BYTES))
        return token in f.read(PEEK_BYTES)


def _lstat(path: PathLike) -> Optional[os.stat_result]:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise UsageError(f"--output {path}: {e.strerror}") from None


def check_output(path: PathLike, inputs: Iterable[PathLike], force: bool = False) -> None:
    """Refuse ``path`` as the report's destination (UsageError, one line) when
    it is one of ``inputs``, a symlink, not a regular file, in a missing
    directory, or (without ``force``) an existing file not written by us."""
    p = Path(path)
    try:
        target = os.stat(p)
    except OSError:
        target = None
    if target is not None:
        for source in inputs:
            try:
                st = os.stat(source)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                raise UsageError(f"--output {path}: is an input of this run ({source}); "
                                 "refusing to write over it")
    link = _lstat(p)
    if link is not None and stat.S_ISLNK(link.st_mode):
        raise UsageError(f"--output {path}: is a symlink; refusing to write through it")
    if link is not None and not stat.S_ISREG(link.st_mode):
        raise UsageError(f"--output {path}: exists and is not a regular file")
    if not p.parent.is_dir():
        raise UsageError(f"--output {path}: directory {p.parent} does not exist")
    if link is not None and not force:
        try:
            ours = is_our_output(p)
        except OSError as e:
            raise UsageError(f"--output {path}: {e.strerror}") from None
        if not ours:
            raise UsageError(f"--output {path}: exists and is not a savings report of ours; "
                             "give --force to replace it")


def write_output(path: PathLike, data: bytes) -> None:
    """Write the report to ``path`` atomically, keeping an existing file's mode;
    never through a symlink (checked again: the check ran before the work)."""
    from ..core.safeio import atomic_write

    st = _lstat(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise UsageError(f"--output {path}: is no longer a regular file; not written")
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o644
    try:
        atomic_write(Path(path), data, mode=mode)
    except OSError as e:
        raise UsageError(f"--output {path}: cannot write: {e.strerror}") from None
