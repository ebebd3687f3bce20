"""Small helpers shared by the tests' *_support modules."""

import os

from sunray.config import defaults
from sunray.rootfs import Root


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
