"""Small helpers shared by the tests' *_support modules."""

import os


def write_file(path, text, mode=0o644):
    """Write ``text`` to ``path`` (a pathlib.Path), parents made, with ``mode``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
