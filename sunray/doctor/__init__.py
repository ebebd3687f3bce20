"""The health report: every check ok, warn or fail, with the command that fixes it.

Each concern keeps its checks beside its code and lists them in a
``CHECKS`` tuple of functions ``f(root, settings) -> list of Check``; the
doctor only runs them, in the order of ``CONCERNS``, and collects a
``DoctorReport``, which prints as a table, JSON, a Nagios plugin's output
(``nagios.py``) or Prometheus metrics (``prometheus.py``). A check never changes anything. A check that crashes on
odd input becomes a ``fail`` row naming the problem instead of stopping the
others: the report is most needed on a server in a strange state.
"""

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

from ..core import tasklist
from ..core.errors import SunrayError
from ..core.report import STATUSES, Check
from ..core.rootfs import Root

# The modules whose CHECKS the doctor runs, in report order.
CONCERNS = (
    "sunray.tmpclean.tmpmount",
    "sunray.tmpclean.checks",
    "sunray.boot.checks",
    "sunray.modules.checks",
    "sunray.esound.checks",
    "sunray.core.journal",
)

CheckFunc = Callable[[Root, Dict[str, Any]], List[Check]]

_REGISTRY: List[CheckFunc] = []


@dataclass
class DoctorReport:
    root: str
    checks: list = field(default_factory=list)
    warnings: list = field(default_factory=list)  # finish() prints these; the table says it all
    not_run: list = field(default_factory=list)   # ids of the checks that could not run

    def count(self, status: str) -> int:
        return sum(1 for c in self.checks if c.status == status)

    @property
    def failed(self) -> List[Check]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def failure(self) -> str:
        failed = self.failed
        if not failed:
            return ""
        return f"{len(failed)} check(s) failed: {', '.join(c.id for c in failed)}"

    def summary(self) -> str:
        return ", ".join(f"{self.count(s)} {s}" for s in STATUSES if self.count(s) or s != "skip")

    def to_dict(self) -> Dict[str, Any]:
        return {
            "task": "doctor",
            "root": self.root,
            "summary": {s: self.count(s) for s in STATUSES},
            "checks": [c.to_dict() for c in self.checks],
            "failure": self.failure or None,
        }

    def to_text(self) -> str:
        rows = [(c.status.upper(), c.id, c.detail or c.title) for c in self.checks]
        width_status = max([6] + [len(r[0]) for r in rows])
        width_id = max([5] + [len(r[1]) for r in rows])
        lines = [f"{'STATUS':<{width_status}}  {'CHECK':<{width_id}}  DETAIL"]
        for check, (status, ident, detail) in zip(self.checks, rows):
            lines.append(f"{status:<{width_status}}  {ident:<{width_id}}  {detail}")
            if check.fix and check.status in ("warn", "fail"):
                lines.append(f"{'':<{width_status}}  {'':<{width_id}}  fix: {check.fix}")
        lines.append("")
        lines.append(f"doctor {self.root}: {self.summary()}")
        return "\n".join(lines)


def register(func: CheckFunc) -> CheckFunc:
    """Add a check function ``f(root, settings) -> list of Check`` after the
    concerns' own (usable as a decorator)."""
    registered()
    if func not in _REGISTRY:
        _REGISTRY.append(func)
    return func


def registered() -> List[CheckFunc]:
    """Every check, the concerns' in CONCERNS order, then any added by register()."""
    if not _REGISTRY:
        for name in CONCERNS:
            _REGISTRY.extend(importlib.import_module(name).CHECKS)
    return list(_REGISTRY)


def run(root: Root, settings: Dict[str, Any],
        checks: Optional[Sequence[CheckFunc]] = None) -> "DoctorReport":
    """Run every registered check (or ``checks``) against ``root``."""
    report = DoctorReport(root=str(root.top))
    _run_checks(report, root, settings, checks)
    for check in report.checks:
        check.fix = tasklist.with_root(check.fix, root)
    return report


def _run_checks(report, root, settings, checks):
    for func in checks if checks is not None else registered():
        name = func.__name__.replace("check_", "").replace("_", "-")
        try:
            report.checks.extend(func(root, settings))
        except (SunrayError, OSError, ValueError) as e:
            report.not_run.append(name)
            report.checks.append(Check(name, f"check {name}", "fail",
                                       f"the check could not run: {e}",
                                       "look at the file named, then run `sunray doctor` again"))
    return report
