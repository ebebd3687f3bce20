"""What every task shares: the error guard, settings, the root, and output.

Kept light (no heavy imports) because tasks.py imports it for ``--list``.
"""

import functools
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, TextIO

from ..core.errors import MAX_LINE, JobFailed, SunrayError, UsageError, message_line, one_line
from ..core.report import FORMATS, check_format  # noqa: F401 (tasks import check_format from here)

if TYPE_CHECKING:
    import invoke

    from ..core.rootfs import Root


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn toolkit errors into a one-line message and an exit code.

    UsageError -> exit 2, JobFailed -> exit 1; anything unexpected is reported
    in one line too (set SUNRAY_DEBUG=1 to see the traceback). Whatever the
    message holds, it is printed as one line (sunray.core.errors.message_line),
    and an OS error's file inside the task's root by its server path.
    """
    from invoke.exceptions import Exit

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _task_name
        _task_name = func.__name__.replace("_", "-")
        try:
            return func(*args, **kwargs)
        except Exit:
            raise
        except SunrayError as e:
            raise Exit(message_line(f"sunray: {e}"), code=e.exit_code) from None
        except KeyboardInterrupt:
            raise Exit("sunray: interrupted", code=130) from None
        except BrokenPipeError:
            raise  # the reader left (`sunray ... | head`): the program ends quietly
        except OSError as e:
            if os.environ.get("SUNRAY_DEBUG"):
                raise
            raise Exit(message_line(f"sunray: {one_line(e, _task_root)}"), code=1) from None
        except Exception as e:  # a bug: still no traceback for the admin
            if os.environ.get("SUNRAY_DEBUG"):
                raise
            hint = " (run with SUNRAY_DEBUG=1 for a traceback)"
            cause = message_line(one_line(e), MAX_LINE - len("sunray: internal error: " + hint))
            raise Exit(f"sunray: internal error: {cause}{hint}", code=1) from None

    return wrapper


def settings(ctx: Optional["invoke.Context"], name: Optional[str] = None) -> Dict[str, Any]:
    from ..core.config import section

    return section(ctx, name)


# The host directory of the root the running task works on: the guard names
# an OS error's file as the server sees it (a task makes one Root, here).
_task_root: Optional[str] = None
# The running task's name, as typed (set by the guard).
_task_name = "this task"


def root_of(ctx: Optional["invoke.Context"], root: Optional[str], writes: bool = False) -> "Root":
    """The Root for a task: --root, else the settings' ``sunray.root``, else /.

    ``writes``: the task will change files there (not a dry run). On the
    real / that needs root: refused (exit 2) before anything is written, in
    one line, rather than failing on the first file it cannot open."""
    from ..core.rootfs import Root

    global _task_root
    made = Root(root or settings(ctx).get("root") or "/")
    _task_root = str(made.top)
    if writes and os.geteuid() != 0 and os.path.realpath(str(made.top)) == "/":
        raise UsageError(f"{_task_name} changes files under / and needs root: run it as root "
                         "(sudo sunray ...), or give --dry-run to see what it would do")
    return made


def emit(result: Any, fmt: str = "text", stream: Optional[TextIO] = None) -> None:
    """Print a result: ``result.to_text()`` or one JSON document of ``to_dict()``.

    ``result`` is any task's report: whatever has ``to_text()`` and ``to_dict()``.
    """
    stream = stream or sys.stdout
    check_format(fmt)
    try:
        if fmt == "json":
            json.dump(result.to_dict(), stream, indent=2, sort_keys=False, default=str)
            stream.write("\n")
        else:
            text = result.to_text()
            if text:
                stream.write(text if text.endswith("\n") else text + "\n")
        stream.flush()
    except BrokenPipeError:
        raise  # the reader left: the program ends quietly
    except OSError as e:  # a full disk under a redirected stdout
        done = "" if getattr(result, "dry_run", False) else "; the job itself is done"
        raise JobFailed(f"cannot write the report to standard output: "
                        f"{e.strerror or e}{done}") from None


# Set once `doctor --format nagios` has printed its plugin output: the
# program then keeps its exit code (else it reports UNKNOWN, exit 3).
plugin_output_done = False


def doctor_output(root: "Root", task_settings: Dict[str, Any], fmt: str, output: Optional[str]) -> None:
    """Run the doctor and print its report as ``fmt`` asks (text, json,
    nagios, prometheus, the latter to ``output`` when given)."""
    import time

    from .. import __version__, doctor

    global plugin_output_done
    target = None
    if output is not None:
        from ..doctor import prometheus

        target = prometheus.check_output(output)  # before any check runs
    started = time.time()
    clock = time.monotonic()
    report = doctor.run(root, task_settings)
    if fmt == "nagios":
        from invoke.exceptions import Exit

        from ..doctor import nagios

        text, code = nagios.render(report)
        sys.stdout.write(text)
        sys.stdout.flush()
        plugin_output_done = True
        raise Exit(code=code)
    if fmt == "prometheus":
        from ..doctor import prometheus

        text = prometheus.render(report, started, time.monotonic() - clock, __version__)
        if target is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            prometheus.write(target, text)
        return
    finish(report, fmt)


def finish(result: Any, fmt: str = "text") -> None:
    """Print the result, print its warnings on stderr, and fail when it failed."""
    emit(result, fmt)
    for warning in getattr(result, "warnings", []) or []:
        print(message_line(f"sunray: warning: {warning}", 4 * MAX_LINE), file=sys.stderr)
    failure = getattr(result, "failure", None)
    if failure:
        raise JobFailed(failure)
