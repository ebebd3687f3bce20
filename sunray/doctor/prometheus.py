"""The doctor as Prometheus metrics: ``sunray doctor --format prometheus``.

The text exposition format, for node_exporter's textfile collector
(``--output DIR/sunray.prom``, written whole: a temporary file, then a
rename; mode 0644). No sample carries a timestamp (the collector skips a
file with them); the time of the run is a metric of its own.

    sunray_check{check="esd-dir",status="ok"} 1    one series per check and
    sunray_check{check="esd-dir",status="fail"} 0  status (ok, warn, fail, skip):
                                                   1 for the status it has
    sunray_checks{status="fail"} 0                 how many checks have each status
    sunray_doctor_checks_not_run 0                 checks that could not run
    sunray_doctor_last_run_timestamp_seconds ...   when it ran (Unix time)
    sunray_doctor_duration_seconds ...             how long the checks took
    sunray_doctor_info{version="0.1.0",root="/"} 1

Alert on ``sunray_check{status="fail"} == 1`` (and on the file's age:
``time() - sunray_doctor_last_run_timestamp_seconds``).
"""

import os
from pathlib import Path
from typing import Dict, List

from ..core.errors import UsageError
from ..core.report import STATUSES
from ..core.safeio import atomic_write
from . import DoctorReport

# Worse first: two rows with one id (never expected) keep the worse status.
_RANK = {"fail": 0, "warn": 1, "ok": 2, "skip": 3}


def label(value: str) -> str:
    """A label value as the text format writes it (backslash, quote, newline escaped)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(report: DoctorReport, started: float, duration: float, version: str) -> str:
    """The metrics of one doctor run (``started``: its Unix time; ``version``: sunray's)."""
    status: Dict[str, str] = {}
    for check in report.checks:
        old = status.get(check.id)
        if old is None or _RANK[check.status] < _RANK[old]:
            status[check.id] = check.status
    lines: List[str] = [
        "# HELP sunray_check Whether a sunray doctor check has this status (1) or not (0).",
        "# TYPE sunray_check gauge",
    ]
    for ident, current in status.items():
        for name in STATUSES:
            lines.append(f'sunray_check{{check="{label(ident)}",status="{name}"}} '
                         f"{1 if name == current else 0}")
    lines += ["# HELP sunray_checks How many sunray doctor checks have each status.",
              "# TYPE sunray_checks gauge"]
    lines += [f'sunray_checks{{status="{name}"}} {report.count(name)}' for name in STATUSES]
    lines += [
        "# HELP sunray_doctor_checks_not_run Checks that could not run (an error while checking).",
        "# TYPE sunray_doctor_checks_not_run gauge",
        f"sunray_doctor_checks_not_run {len(report.not_run)}",
        "# HELP sunray_doctor_last_run_timestamp_seconds When sunray doctor ran (Unix time).",
        "# TYPE sunray_doctor_last_run_timestamp_seconds gauge",
        f"sunray_doctor_last_run_timestamp_seconds {started:.3f}",
        "# HELP sunray_doctor_duration_seconds How long the checks took.",
        "# TYPE sunray_doctor_duration_seconds gauge",
        f"sunray_doctor_duration_seconds {duration:.3f}",
        "# HELP sunray_doctor_info The sunray version and the root it checked.",
        "# TYPE sunray_doctor_info gauge",
        f'sunray_doctor_info{{version="{label(version)}",root="{label(report.root)}"}} 1',
    ]
    return "\n".join(lines) + "\n"


def check_output(output: str) -> Path:
    """The file ``--output`` names, checked before any check runs: a
    ``.prom`` name (the collector reads no other) in an existing directory,
    not a directory or a symlink itself."""
    if not output.endswith(".prom") or output.endswith("/.prom"):
        raise UsageError(f"--output {output!r}: expected a FILE.prom (node_exporter's textfile "
                         "collector reads only *.prom)")
    path = Path(os.path.abspath(output))
    if not path.parent.is_dir():
        raise UsageError(f"--output {output}: no such directory {path.parent}")
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise UsageError(f"--output {output}: exists and is not a regular file")
    if not os.access(str(path.parent), os.W_OK):
        raise UsageError(f"--output {output}: cannot write in {path.parent}")
    return path


def write(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` whole: temporary file, fsync, rename; mode 0644."""
    atomic_write(path, text.encode("utf-8"), mode=0o644)
