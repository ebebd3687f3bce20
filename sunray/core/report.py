"""What tasks report: ``Report`` (rows, changes, warnings, failure), the
doctor's ``Check`` rows and their STATUSES, and the ``--format`` check.

Concern modules return a ``Report`` (or a subclass with its own
``to_text``); tasks print it with ``sunray.cli.output.finish``.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Sequence

from .errors import UsageError

if TYPE_CHECKING:
    from .fileedit import FileChange

FORMATS = ("text", "json")

STATUSES = ("ok", "warn", "fail", "skip")


def check_format(fmt: str, allowed: Sequence[str] = FORMATS) -> str:
    """``fmt`` when it is one of ``allowed``; else a usage error naming them."""
    if fmt not in allowed:
        raise UsageError(f"--format {fmt!r}: expected one of {', '.join(allowed)}")
    return fmt


@dataclass
class Report:
    """The outcome of one task run."""

    task: str
    root: str = "/"
    dry_run: bool = False
    changes: list = field(default_factory=list)   # FileChange objects
    notes: list = field(default_factory=list)     # plain lines for the admin
    warnings: list = field(default_factory=list)  # also printed on stderr
    failure: str = ""                             # non-empty: exit 1
    data: dict = field(default_factory=dict)      # task-specific extras
    touched: bool = False                         # changed something besides files (modules built)

    @property
    def changed(self) -> bool:
        return self.touched or any(c.changed for c in self.changes)

    def add(self, change: "FileChange") -> "FileChange":
        self.changes.append(change)
        return change

    def to_dict(self) -> Dict[str, Any]:
        return {
            "task": self.task,
            "root": self.root,
            "dry_run": self.dry_run,
            "changed": self.changed,
            "changes": [c.to_dict() for c in self.changes],
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "failure": self.failure or None,
            **self.data,
        }

    def to_text(self) -> str:
        lines = list(self.notes)
        for c in self.changes:
            line = f"{c.action:>18}  {c.path}"
            if c.note:
                line += f"  ({c.note})"
            lines.append(line)
            if self.dry_run and c.diff:
                lines.append(c.diff.rstrip("\n"))
        if not self.changed and not self.failure:
            lines.append("nothing to change" if not self.dry_run else "nothing would change")
        return "\n".join(lines)


@dataclass
class Check:
    """One line of the report."""

    id: str
    title: str
    status: str  # ok | warn | fail | skip (not applicable here)
    detail: str = ""
    fix: str = ""  # the command (or the step) that fixes it; empty when ok

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"check {self.id}: unknown status {self.status!r}")

    def to_dict(self) -> Dict[str, str]:
        return {"id": self.id, "title": self.title, "status": self.status,
                "detail": self.detail, "fix": self.fix}
