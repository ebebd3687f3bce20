"""Running a command for its exit code and output, on every server Python.

Python 3.6 (the oldest server) has no ``subprocess.run(capture_output=,
text=)``: both arrived in 3.7. ``run_captured`` is the one 3.6 form of it
(``stdout``/``stderr`` pipes, ``universal_newlines``) used by the toolkit.
"""

import subprocess
from typing import Any, Sequence


def run_captured(argv: Sequence[str], text: bool = True, **options: Any) -> "subprocess.CompletedProcess[Any]":
    """``subprocess.run(argv, capture_output=True, text=text, **options)``:
    stdout and stderr collected (decoded with the locale's encoding when
    ``text``); the other keyword arguments go to ``subprocess.run``."""
    return subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=text, **options)
