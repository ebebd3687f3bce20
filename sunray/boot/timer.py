"""install-doctor-timer: run ``sunray doctor --format prometheus --output
FILE`` every N minutes, for node_exporter's textfile collector.

systemd: ``/etc/systemd/system/sunray-doctor.service`` (oneshot) and
``sunray-doctor.timer``, enabled by a link in ``timers.target.wants``.
SysV (RHEL 5/6): ``/etc/cron.d/sunray-doctor``. The init system is told
apart as for the boot hook (``hook.detect_init``). Each file carries a
line ``# sunray-doctor-timer: interval=N output=PATH`` that doctor reads
to say whether the metrics file is fresh. Writes go through FileEditor
(backups, atomic, revertible) under the run journal, like every installer.
"""

import os
import re
import time
from typing import Any, Dict, List, Optional

from ..core.errors import UsageError
from ..core.fileedit import FileEditor
from ..core.hookprogram import program_path
from ..core.journal import Journal
from ..core.report import Report
from ..core.rootfs import Root
from ..core.templating import render
from . import hook

NAME = "sunray-doctor"
SERVICE = f"{hook.UNIT_DIR}/{NAME}.service"
TIMER = f"{hook.UNIT_DIR}/{NAME}.timer"
WANTS_LINK = f"{hook.UNIT_DIR}/timers.target.wants/{NAME}.timer"
CRON = f"/etc/cron.d/{NAME}"
OWN_PATHS = (WANTS_LINK, SERVICE, TIMER, CRON)
MARKER = "sunray-doctor-timer: "
# Debian's prometheus-node-exporter reads this directory.
DEFAULT_OUTPUT = "/var/lib/prometheus/node-exporter/sunray.prom"
MAX_INTERVAL = 1440
# The path goes verbatim into ExecStart= and a cron line: plain characters only.
_SAFE_OUTPUT = re.compile(r"^/[A-Za-z0-9._+@/-]+\.prom$")


def check_interval(interval: Any) -> int:
    text = str(interval).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_INTERVAL:
        raise UsageError(f"--interval {interval!r}: expected whole minutes, 1 to {MAX_INTERVAL}")
    return int(text)


def check_output(output: str) -> str:
    if not _SAFE_OUTPUT.match(output) or "/../" in output or "/./" in output:
        raise UsageError(f"--output {output!r}: expected an absolute FILE.prom path without "
                         "blanks, quotes or '%' (node_exporter's textfile collector reads *.prom)")
    return output


def cron_schedule(interval: int) -> str:
    """The cron time fields for every ``interval`` minutes (cron can only
    step evenly within the hour or the day)."""
    if interval < 60 and 60 % interval == 0:
        return f"*/{interval} * * * *" if interval > 1 else "* * * * *"
    if interval % 60 == 0 and 24 % (interval // 60) == 0:
        hours = interval // 60
        return f"0 */{hours} * * *" if hours < 24 else "0 0 * * *"
    raise UsageError(f"--interval {interval}: cron runs a job evenly only every N minutes where N "
                     "divides 60, or every N hours where N divides 24 (e.g. 5, 15, 60, 120)")


def install(root: Root, settings: Dict[str, Any], init: str = "auto", interval: Any = 5,
            output: Optional[str] = None, dry_run: bool = False, revert: bool = False) -> Report:
    """Install (or with ``revert`` remove) the doctor timer. Returns a Report."""
    if init not in hook.INITS:
        raise UsageError(f"--init {init!r}: expected one of {', '.join(hook.INITS)}")
    minutes = check_interval(interval)
    target = check_output(output or DEFAULT_OUTPUT)
    state_dir = settings.get("state_dir", "/var/lib/sunray")
    editor = FileEditor(root, dry_run=dry_run, state_dir=state_dir)
    report = Report("install-doctor-timer", root=str(root.top), dry_run=dry_run)
    if revert:
        with Journal(root, settings, "install-doctor-timer", dry_run=dry_run, revert=True) as journal:
            paths = [p for p in OWN_PATHS if editor.has_backup(p)]
            if not paths:
                report.notes.append("no doctor timer installed by sunray: nothing to revert")
            editor.check_revert(paths)
            for path in paths:
                report.add(editor.revert(path))
            _reload(root, report, dry_run)
        report.notes.extend(journal.notes)
        return report

    if init == "auto":
        kind, why = hook.detect_init(root)
        report.notes.append(f"init system: {kind} ({why})")
    else:
        kind = init
        report.notes.append(f"init system: {kind} (--init)")
    values: Dict[str, Any] = dict(program=program_path(settings, root), interval=minutes, output=target,
                                  marker=MARKER)
    files: Dict[str, str] = {}
    links: Dict[str, str] = {}
    if kind == "sysv":
        files[CRON] = render("sunray-doctor.cron.j2", path=CRON, schedule=cron_schedule(minutes), **values)
    else:
        files[SERVICE] = render("sunray-doctor.service.j2", path=SERVICE, **values)
        files[TIMER] = render("sunray-doctor.timer.j2", path=TIMER, **values)
        links[WANTS_LINK] = TIMER
    if not root.path(os.path.dirname(target)).is_dir():
        report.warnings.append(f"{os.path.dirname(target)} does not exist under the root: the "
                               "metrics cannot be written until it does (install node_exporter, or "
                               "give --output in its --collector.textfile.directory)")
    editor.check(files=list(files), links=list(links), what="install the doctor timer")
    with Journal(root, settings, "install-doctor-timer", list(files) + list(links),
                 dry_run=dry_run) as journal:
        for path, text in files.items():
            report.add(editor.write(path, text, mode=0o644))
        for path, link_target in links.items():
            report.add(editor.symlink(path, link_target))
        if report.changed:
            _reload(root, report, dry_run)
    report.notes.extend(journal.notes)
    report.data.update(init=kind, interval=minutes, output=target)
    return report


def _reload(root: Root, report: Report, dry_run: bool) -> None:
    if not dry_run and hook._systemd_running(root):
        hook._run_noted(["systemctl", "daemon-reload"], report, dry_run=False)


def installed(root: Root) -> Optional[Dict[str, str]]:
    """{path, interval, output} of the installed timer (its marker line), or None."""
    for path in (TIMER, CRON):
        host = root.path(path)
        if host.is_symlink() or not host.is_file():
            continue
        for line in host.read_text(errors="replace").splitlines()[:10]:
            if line.startswith("# " + MARKER):
                fields = dict(part.split("=", 1) for part in line[2 + len(MARKER):].split()
                              if "=" in part)
                fields["path"] = path
                return fields
    return None


def freshness(root: Root, timer: Dict[str, str], now: Optional[float] = None) -> List[str]:
    """What is wrong with the metrics file the timer writes ([] when fresh)."""
    try:
        interval = int(timer.get("interval", ""))
    except ValueError:
        return [f"{timer['path']}: its interval cannot be read"]
    output = timer.get("output", "")
    host = root.path(output) if output.startswith("/") else None
    if host is None or not host.is_file():
        return [f"{output or '?'} missing: the timer has not written it (yet, or it fails)"]
    age = (now if now is not None else time.time()) - host.stat().st_mtime
    if age > 3 * interval * 60 + 120:
        return [f"{output} is {int(age // 60)} minutes old (every {interval} min expected): "
                "the timer does not run or sunray doctor fails"]
    return []
