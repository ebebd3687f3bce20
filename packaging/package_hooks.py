"""The kernel hooks as the packages ship them (build_rpm.py, build_deb.py).

Rendered from the same templates as `sunray install-kernel-hooks` writes,
with the settings a packaged server starts with (the program
/usr/bin/sunray, the default state directory, hooks not strict), and
marked as the package's own, so that the task leaves them alone.
"""

import sys
from pathlib import Path
from typing import Dict

CHECKOUT = Path(__file__).resolve().parent.parent
PACKAGE = "sunray-toolkit"


def package_hooks(kind: str) -> Dict[str, str]:
    """{server path: text} of the hooks the ``kind`` ("rpm" or "deb") package ships."""
    if str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))
    from sunray.core.config import defaults
    from sunray.core.hookprogram import DEFAULT_PROGRAM
    from sunray.modules import kernel_hooks

    settings = dict(defaults(), program=DEFAULT_PROGRAM)
    hooks = kernel_hooks.render_hooks(settings, package=PACKAGE)
    return {path: hooks[path] for path in kernel_hooks.PACKAGE_HOOKS[kind]}


def write_hooks(kind: str, top: Path) -> Dict[str, Path]:
    """Write them under ``top`` (mode 0755); returns {server path: file}."""
    written = {}
    for path, text in package_hooks(kind).items():
        target = top / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        target.chmod(0o755)
        written[path] = target
    return written
