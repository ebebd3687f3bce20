"""Doctor checks for the boot hook, the program the hooks run, and the esd
directory the boot hook makes.

Read-only; each returns a list of Check rows."""

import os
import re
import shlex
from typing import Any, Dict, List

from ..core.report import Check
from ..core.rootfs import Root, executable
from ..esddir.checks import esd_dir_row
from ..modules import kernel_hooks
from . import hook


def check_esd_dir(root: Root, settings: Dict[str, Any]) -> List[Check]:
    """The esd directory's row (``sunray.esddir.checks``); a missing one is
    only a warning when the boot hook, installed, makes it at the next boot."""
    made_at_boot = hook.status(root, settings)["installed"] != "none"
    return [esd_dir_row(root, settings, made_at_boot)]


def check_boot_hook(root: Root, settings: Dict[str, Any]) -> List[Check]:
    """The boot hook will run at boot: the unit enabled, or the init script
    executable with rc?.d start links (judged from ``hook.status()``)."""
    title = "boot hook installed"
    state = hook.status(root, settings)
    if state["unit"]:
        if state["unit_enabled"]:
            return [Check("boot-hook", title, "ok", f"{hook.UNIT} enabled")]
        return [Check("boot-hook", title, "fail",
                      f"{hook.UNIT} is not enabled: it will not run at boot",
                      "systemctl enable sunray-boot.service")]
    script = state["sysv_script"]
    if script is None:
        return [Check("boot-hook", title, "fail",
                      "no sunray-boot init script or systemd unit: nothing checks /tmp/.esd "
                      "and the modules at boot", "sunray install-boot-hook")]
    if not state["sysv_script_runs"]:
        return [Check("boot-hook", title, "fail", f"{script} is not executable",
                      f"chmod 755 {script}")]
    if state["start_links"]:
        return [Check("boot-hook", title, "ok",
                      f"{script}, started from {len(state['start_links'])} runlevel(s)")]
    return [Check("boot-hook", title, "fail",
                  f"{script} has no rc?.d start links: it will not run at boot",
                  "chkconfig --add sunray-boot")]


_HOOK_PROGRAM = (
    (re.compile(r"^PROGRAM=(.+)$", re.M), hook.SCRIPTS),
    (re.compile(r"^ExecStart=(\S+) boot$", re.M), (hook.UNIT,)),
    (re.compile(r"^SUNRAY='([^']+)'$", re.M), tuple(p for p, _, _ in kernel_hooks.HOOKS)),
)


def check_hook_program(root: Root, settings: Dict[str, Any]) -> List[Check]:
    """The sunray program the installed hooks call exists and is executable."""
    title = "hooks can run sunray"
    calls: Dict[str, List[str]] = {}  # program -> hooks calling it
    for pattern, paths in _HOOK_PROGRAM:
        for path in paths:
            host = root.path(path)
            if not host.is_file() or host.is_symlink():
                continue
            found = pattern.search(host.read_text(errors="replace"))
            if found:
                words = shlex.split(found.group(1)) or [""]
                calls.setdefault(words[0], []).append(path)
    if not calls:
        return [Check("hook-program", title, "skip", "no sunray hook installed")]
    missing = [p for p in calls
               if not (p.startswith("/") and executable(root.path(os.path.normpath(p))))]
    if not missing:
        return [Check("hook-program", title, "ok", ", ".join(sorted(calls)))]
    detail = "; ".join(f"{p} (called by {', '.join(calls[p])}) is missing or not executable"
                       for p in missing)
    # In an image the program may be installed later; on the live system the
    # hooks fail now.
    status = "fail" if root.is_host else "warn"
    return [Check("hook-program", title, status, detail,
                  "install sunray there, or set sunray.program and run "
                  "`sunray install-boot-hook` and `sunray install-kernel-hooks` again")]


# The esd directory's row first: the report's order from before the row moved here.
def check_doctor_timer(root: Root, settings: Dict[str, Any]) -> List[Check]:
    """The doctor timer writes its metrics file on time; no row when it is not installed."""
    from . import timer

    found = timer.installed(root)
    if found is None:
        return []
    title = "doctor timer writes the Prometheus metrics"
    problems = timer.freshness(root, found)
    if problems:
        return [Check("doctor-timer", title, "warn", "; ".join(problems),
                      f"systemctl status {timer.NAME}.timer (SysV: root's mail from cron), "
                      f"then: sunray doctor --format prometheus --output {found.get('output', 'FILE')}")]
    return [Check("doctor-timer", title, "ok",
                  f"{found['path']}: every {found.get('interval')} min, {found.get('output')} fresh")]


CHECKS = (check_esd_dir, check_boot_hook, check_hook_program, check_doctor_timer)
