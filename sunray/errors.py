"""The two ways a task can fail, each with its exit code.

Tasks raise these; the task guard (sunray.taskkit.guarded) turns them into a
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
