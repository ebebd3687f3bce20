"""What rebuild-modules reports: one row per (kernel, module) pair, as a
table with the failed builds' log tails (text) or a JSON document."""

from dataclasses import dataclass, field
from typing import Any, Dict, List

from ..core.report import Report

STATUS_BUILT = "built"
STATUS_CURRENT = "up to date"
STATUS_FAILED = "failed"
STATUS_SKIPPED = "skipped"
STATUS_WOULD = "would build"
# How a failed install's detail (and the run's failure) starts.
INSTALL_FAILED = "install failed: "


@dataclass
class ModuleRow:
    """One (kernel, module) pair's line in the report."""

    kernel: str
    module: str
    status: str = ""  # empty while the pair is still to be decided
    seconds: float = 0.0
    log: str = ""  # host path of the build log
    detail: str = ""  # why it failed or was skipped
    log_tail: List[str] = field(default_factory=list)  # of a failed build's log

    def to_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {
            "kernel": self.kernel, "module": self.module, "status": self.status,
            "seconds": round(self.seconds, 2), "log": self.log or None,
            "detail": self.detail or None}
        if self.log_tail:
            d["log_tail"] = self.log_tail
        return d


@dataclass
class ModulesReport(Report):
    """Result of rebuild-modules: one row per (kernel, module) instead of
    file changes."""

    task: str = "rebuild-modules"
    pairs: List[ModuleRow] = field(default_factory=list)
    seconds: float = 0.0
    settled: List[str] = field(default_factory=list)  # kernels whose index/record were finished

    @property
    def changed(self) -> bool:
        # A dry run's "would build" rows are changes it would make.
        return bool(self.settled) or self.touched or any(
            p.status in (STATUS_BUILT, STATUS_WOULD) for p in self.pairs)

    def to_dict(self) -> Dict[str, Any]:
        return {"task": self.task, "root": self.root, "dry_run": self.dry_run,
                "changed": self.changed, "seconds": round(self.seconds, 2),
                "pairs": [p.to_dict() for p in self.pairs], "settled": list(self.settled),
                "notes": list(self.notes),
                "warnings": list(self.warnings), "failure": self.failure or None}

    def to_text(self) -> str:
        lines = list(self.notes)
        lines.extend(f"{k}: modules current; depmod checked and the record finished"
                     for k in self.settled)
        if self.pairs:
            rows = [("KERNEL", "MODULE", "STATUS", "SECONDS", "LOG / DETAIL")]
            for p in self.pairs:
                secs = f"{p.seconds:.1f}" if p.status in (STATUS_BUILT, STATUS_FAILED) else "-"
                rows.append((p.kernel, p.module, p.status, secs, p.detail or p.log or ""))
            widths = [max(len(r[i]) for r in rows) for i in range(4)]
            for r in rows:
                lines.append("  ".join(
                    [r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].ljust(widths[2]),
                     r[3].rjust(widths[3]), r[4]]).rstrip())
        for p in self.pairs:
            if p.log_tail:
                lines.append("")
                lines.append(f"--- {p.module} for {p.kernel} failed: {p.detail}")
                lines.append(f"--- last {len(p.log_tail)} lines of {p.log}:")
                lines.extend(p.log_tail)
        if not self.pairs and not self.failure:
            lines.append("no kernel with headers, nothing to build")
        return "\n".join(lines)
