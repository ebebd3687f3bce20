"""The doctor's ``esd-dir`` row: /tmp/.esd is a root-owned directory with
mode 1777 (not a symlink).

A missing directory is only a warning when something will make it at the
next boot. That is the boot hook, a concern above this one, so the boot
concern says so (``made_at_boot``) and lists the row among its own checks
(``sunray.boot.checks``): this package never imports ``boot``.
"""

from typing import Any, Dict

from ..core.report import Check
from ..core.rootfs import Root
from .fix import inspect


def esd_dir_row(root: Root, settings: Dict[str, Any], made_at_boot: bool) -> Check:
    """The row for the esd directory; ``made_at_boot``: a boot hook that
    creates it is installed."""
    state = inspect(root, settings)
    title = "esd socket directory"
    path = state["path"]
    if state["state"] == "ok":
        return Check("esd-dir", title, "ok", f"{path} is root:root 1777")
    if state["state"] == "missing" and made_at_boot:
        return Check("esd-dir", title, "warn",
                     f"{path} is missing; the boot hook creates it at the next boot",
                     "sunray esd-dir")
    detail = state.get("details") or state["state"]
    return Check("esd-dir", title, "fail", f"{path}: {detail} (esd sound fails)",
                 "sunray esd-dir")
