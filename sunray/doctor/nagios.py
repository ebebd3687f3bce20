"""The doctor as a Nagios/Icinga plugin: ``sunray doctor --format nagios``.

The monitoring-plugins convention: exit 0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN; one status line naming what is wrong, performance data after
``|``; then one line per check that is not ok, with its fix. A check that
could not run, and any bad input (a usage error, a broken configuration,
an internal error), is UNKNOWN: the plugin cannot say how the server is.
"""

from typing import Tuple

from . import DoctorReport

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
# The first line stays short: Nagios shows it in its overview.
MAX_NAMED = 6


def _names(ids) -> str:
    ids = list(ids)
    shown = ", ".join(ids[:MAX_NAMED])
    return shown + (f" and {len(ids) - MAX_NAMED} more" if len(ids) > MAX_NAMED else "")


def perfdata(report: DoctorReport) -> str:
    return " ".join(f"{s}={report.count(s)}" for s in ("ok", "warn", "fail", "skip"))


def render(report: DoctorReport) -> Tuple[str, int]:
    """(the plugin's output, its exit code)."""
    failed = [c.id for c in report.checks if c.status == "fail" and c.id not in report.not_run]
    warned = [c.id for c in report.checks if c.status == "warn"]
    if report.not_run:
        code = UNKNOWN
        summary = f"check(s) could not run: {_names(report.not_run)}"
    elif failed:
        code = CRITICAL
        summary = f"{len(failed)} failed: {_names(failed)}"
    elif warned:
        code = WARNING
        summary = f"{len(warned)} warning(s): {_names(warned)}"
    else:
        code = OK
        summary = f"{report.count('ok')} checks ok"
    if code in (UNKNOWN, CRITICAL) and warned:
        summary += f"; {len(warned)} warning(s): {_names(warned)}"
    if code == UNKNOWN and failed:
        summary += f"; {len(failed)} failed: {_names(failed)}"
    lines = [f"SUNRAY {STATE[code]} - {_one_line(summary)} | {perfdata(report)}"]
    for check in report.checks:
        if check.status in ("warn", "fail"):
            line = f"{check.status.upper()} {check.id}: {check.detail or check.title}"
            if check.fix:
                line += f"; fix: {check.fix}"
            lines.append(_one_line(line))
    return "\n".join(lines) + "\n", code


def unknown(message: str) -> str:
    """The output for a run that could not check at all (``message``: why)."""
    if message.startswith("sunray: "):
        message = message[len("sunray: "):]
    return f"SUNRAY UNKNOWN - {_one_line(message) or 'sunray could not run the checks'}\n"


def _one_line(text: str) -> str:
    # "|" would start the performance data early; a newline would end the line.
    return " ".join(text.replace("|", "/").split())
