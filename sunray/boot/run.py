"""What the boot hook runs: ``sunray boot``, before SRSS starts.

Each step runs even when an earlier one failed: boot reports the failure
(exit 1) but never stands in SRSS's way.
"""

from typing import Any, Dict

from ..core.errors import one_line
from ..core.report import Report
from ..core.rootfs import Root
from ..tmpclean import tmpmount


def _step_esd_dir(root, settings):
    from ..esddir.fix import ensure

    return ensure(root, settings)


def _step_tmp_nodev(root, settings):
    report = Report("tmp-nodev", root=str(root.top))
    # At boot only the live mount counts: the files were checked at install.
    report.warnings.extend(f.warning() for f in tmpmount.live_findings(root))
    return report


def _step_modules(root, settings):
    """The SRSS modules for the running kernel: rebuilt when missing or stale
    (the only automatic path on RHEL 5, whose kernel package runs no hooks)."""
    from ..modules.rebuild import boot_check

    result = boot_check(root, settings)
    report = Report("boot-modules", root=str(root.top))
    report.notes.extend(result.to_text().splitlines())
    report.warnings.extend(result.warnings)
    report.failure = result.failure
    report.touched = result.changed
    return report


# The steps `sunray boot` runs, in order.
BOOT_STEPS = [
    ("esd-dir", _step_esd_dir),
    ("modules", _step_modules),
    ("tmp-nodev", _step_tmp_nodev),
]


def boot(root: Root, settings: Dict[str, Any]) -> Report:
    """Run every boot step; a failing step is reported and the rest still run."""
    report = Report("boot", root=str(root.top))
    steps = []
    failures = []
    for name, step in BOOT_STEPS:
        try:
            result = step(root, settings)
        except Exception as e:  # even a bug in one step must not skip the others
            failures.append(f"{name}: {one_line(e)}")
            steps.append({"step": name, "ok": False, "error": one_line(e)})
            continue
        report.changes.extend(result.changes)
        report.notes.extend(result.notes)
        report.warnings.extend(result.warnings)
        if result.failure:
            failures.append(f"{name}: {result.failure}")
        report.touched = report.touched or result.touched
        steps.append({"step": name, "ok": not result.failure, "changed": result.changed})
    report.data["steps"] = steps
    if failures:
        report.failure = "boot: " + "; ".join(failures)
    return report
