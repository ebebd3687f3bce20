"""The two ways a task can fail, each with its exit code, and the one-line
messages the admin reads.

Tasks raise these; the task guard (sunray.cli.output.guarded) turns them into a
one-line message on stderr and the exit code, never a traceback. Every line
the program prints about an error goes through ``message_line()``, so that no
input (a value with a newline or an escape sequence, a path of 4000
characters, a structure of a million items) can split it, fake another line
or make it huge.
"""

import os
import reprlib
import unicodedata
from typing import Any, Optional

# The longest error line; a longer one loses its middle (the start says what
# and where, the end what was expected).
MAX_LINE = 300
# The longest quoted value inside a message.
MAX_VALUE = 80


class SunrayError(Exception):
    """Base class: carries the exit code the program should end with."""

    exit_code = 1


class UsageError(SunrayError):
    """Bad input or usage: a flag, a path, a config value, an input file (exit 2)."""

    exit_code = 2


class JobFailed(SunrayError):
    """The input was fine but the job did not succeed (exit 1)."""

    exit_code = 1


def message_line(text: str, limit: int = MAX_LINE) -> str:
    """``text`` as one printable line of at most ``limit`` characters.

    Control characters, line and paragraph separators and format characters
    (a bidi override could make a line read backwards) are written as
    escapes, the way repr() writes them; an undecodable byte of a file name
    (os.fsdecode's surrogate escape) as ``\\xNN``. Idempotent.
    """
    line = "".join(_escaped(char) for char in text)
    if len(line) > limit:
        head = (limit - 3) // 2
        line = line[:head] + "..." + line[len(line) - (limit - 3 - head):]
    return line


def _escaped(char):
    if unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Zl", "Zp"):
        return char
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape of the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return char.encode("unicode_escape", "backslashreplace").decode("ascii")


class _ShortRepr(reprlib.Repr):
    """repr() that looks at a bounded part of a value: long strings lose
    their middle, long lists their tail, deep structures their depths."""

    def __init__(self):
        super().__init__()
        self.maxlevel = 2
        self.maxlist = self.maxtuple = self.maxset = self.maxdict = 6
        self.maxstring = MAX_VALUE
        self.maxother = MAX_VALUE
        self.maxlong = 40

    def repr_int(self, x, level):
        if x.bit_length() > 4 * self.maxlong:  # its digits alone are too many to write
            digits = int(x.bit_length() * 0.30103)  # log10(2)
            return f"{'-' if x < 0 else ''}1000...000 (a number of about {digits} digits)"
        return super().repr_int(x, level)


_SHORT = _ShortRepr()


def shown(value: Any) -> str:
    """``value`` as messages quote it: repr()-like, shortened in the middle
    when long; cheap even for a huge structure of shared parts."""
    try:
        text = _SHORT.repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        return f"<{type(value).__name__}>"
    return message_line(text, limit=2 * MAX_VALUE)


def one_line(error: BaseException, root_top: Optional[str] = None) -> str:
    """An exception as the one-line cause an admin reads: the toolkit's own
    message, an OS error's reason and file, else the exception's type and text.

    An OS error's file names (``filename``, and ``filename2`` of a rename)
    are given as the server sees them when they are inside ``root_top``
    (the host directory of --root), since the rest of the message does too.
    """
    if isinstance(error, SunrayError):
        return message_line(str(error))
    if isinstance(error, OSError):
        names = [_server_name(name, root_top) for name in (error.filename, error.filename2)
                 if name is not None]
        if names and getattr(error, "left_as_it_was", False):
            return message_line(f"cannot write {names[0]}: {error.strerror or error}; "
                                f"{names[0]} was left as it was")
        where = f": {' -> '.join(names)}" if names else ""
        return message_line(f"{error.strerror or error}{where}")
    return message_line(f"{type(error).__name__}: {error}")


def _server_name(name, root_top):
    name = os.fsdecode(name) if isinstance(name, (bytes, os.PathLike)) else str(name)
    if root_top and root_top != "/" and os.path.isabs(name):
        top = root_top.rstrip("/")
        if name == top:
            return "/"
        if name.startswith(top + "/"):
            return name[len(top):]
    return name
