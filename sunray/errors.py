"""The two ways a task can fail, each with its exit code.

Tasks raise these; the task guard (sunray.cli.output.guarded) turns them into a
one-line message on stderr and the exit code, never a traceback.
"""


class SunrayError(Exception):
    """Base class: carries the exit code the program should end with."""

    exit_code = 1


class UsageError(SunrayError):
    """Bad input or usage: a flag, a path, a config value, an input file (exit 2)."""

    exit_code = 2


class JobFailed(SunrayError):
    """The input was fine but the job did not succeed (exit 1)."""

    exit_code = 1


def one_line(error: BaseException) -> str:
    """An exception as the one-line cause an admin reads: the toolkit's own
    message, an OS error's reason and file, else the exception's type and text."""
    if isinstance(error, SunrayError):
        return str(error)
    if isinstance(error, OSError):
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror or error}{where}"
    return f"{type(error).__name__}: {error}"
