"""Small helpers shared by the tests' *_support modules."""

import os

from sunray.core.config import defaults
from sunray.core.rootfs import Root


def write_file(path, text, mode=0o644):
    """Write ``text`` to ``path`` (a pathlib.Path), parents made, with ``mode``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


def only(check, sandbox, **kwargs):
    """The one row a doctor check gives for the tree at ``sandbox`` (default settings)."""
    rows = check(Root(sandbox), defaults(), **kwargs)
    assert len(rows) == 1
    return rows[0]


def process_running(pid):
    """Whether process ``pid`` is alive and not a zombie (read from
    /proc/PID/stat here, not through the code under test)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False
