"""The task decorator every sunray task uses: Invoke's, with long flags only
and list flags that refuse to go without a value."""

from typing import Any, Callable, List

import invoke


def task(*args: Any, **kwargs: Any) -> Callable[..., Any]:
    """Invoke's ``@task`` with long flags only.

    Invoke's automatic one-letter flags depend on each task's parameter names,
    so they clash across tasks (-f was --format here and --force there) and
    take -h from --help (fleet's --hosts). Only long flags exist; -h is help.
    """
    kwargs.setdefault("auto_shortflags", False)
    kwargs.setdefault("klass", _Task)
    return invoke.task(*args, **kwargs)


class _Task(invoke.Task):
    """Invoke's Task, except that a repeatable flag given without a value
    is a usage error: Invoke drops it silently, so `--kernel --force` would
    mean every kernel, forced. (A list flag starts without a raw value, so
    the parser refuses it when no value follows, as for any other flag.)"""

    def get_arguments(self, *args: Any, **kwargs: Any) -> List[invoke.Argument]:
        arguments = super().get_arguments(*args, **kwargs)
        for argument in arguments:
            if argument.kind is list:
                argument.raw_value = None
        return arguments
