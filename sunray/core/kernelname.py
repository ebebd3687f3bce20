"""Kernel version names: checked once, since each becomes a path
(``/lib/modules/K``) and a command-line argument."""

import re

from .errors import UsageError

# Letters, digits and . _ + ~ - only, starting with a letter or digit, no "..".
KERNEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}$")


def check_kernel(kernel: str) -> str:
    """The kernel version, or UsageError: it becomes a path and an argument."""
    if not isinstance(kernel, str) or not KERNEL_RE.match(kernel) or ".." in kernel:
        raise UsageError(
            f"kernel version {kernel!r} refused: expected letters, digits and . _ + ~ - "
            "only, starting with a letter or digit"
        )
    return kernel
