"""``apply``: everything a Sun Ray server needs, in order, then the doctor.

The steps are the toolkit's own tasks, run as library calls on one root:

1. patch-tmpwatch        protect /tmp/SUNWut and /tmp/.esd from the /tmp cleaners
2. esd-dir               /tmp/.esd now, root-owned, mode 1777
3. install-boot-hook     /tmp/.esd and the module check at every boot
4. install-kernel-hooks  rebuild the modules whenever a kernel is installed
5. rebuild-modules       the SRSS modules for every kernel with headers
6. doctor                say whether the result is right (not in a dry run)

A failing step is reported and the later steps still run (a broken tmpwatch
script must not keep the modules from being built); the run then exits 1.
Every step is idempotent, so a second ``apply`` changes nothing. The steps
run under one lock and one run journal (``sunray.core.journal``): a killed
``apply`` is finished by the next.

``apply --revert`` undoes the steps in reverse order, each by its own
revert: remove-modules for every kernel sunray may have left something for
(see ``_remove_modules``), then install-kernel-hooks, install-boot-hook,
esd-dir and patch-tmpwatch with ``--revert``; no doctor after it (it would
only list what was undone).
"""

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Sequence, Tuple

from .core import tasklist
from .core.errors import UsageError, one_line
from .core.journal import Journal
from .core.report import Report
from .core.rootfs import Root

if TYPE_CHECKING:
    from .doctor import DoctorReport


def _patch_tmpwatch(root, settings, dry_run):
    from .tmpclean.core import patch

    return patch(root, settings, dry_run=dry_run)


def _esd_dir(root, settings, dry_run):
    from .esddir.fix import ensure

    return ensure(root, settings, dry_run=dry_run)


def _boot_hook(root, settings, dry_run):
    from .boot import hook

    return hook.install(root, settings, dry_run=dry_run)


def _kernel_hooks(root, settings, dry_run):
    from .modules import kernel_hooks

    return kernel_hooks.install(root, settings, dry_run=dry_run)


def _rebuild_modules(root, settings, dry_run):
    from .modules.rebuild import rebuild

    return rebuild(root, settings, dry_run=dry_run)


def _remove_modules(root, settings, dry_run):
    """remove-modules for every kernel sunray may have left something for
    (a record, build logs: a run killed before its record) and every
    installed kernel, as one Report; a kernel with nothing of ours is a no-op."""
    from .core.kernelname import check_kernel
    from .modules.record import log_dir, record_path
    from .modules.remove import remove
    from .modules.settings import Job

    job = Job.start(root, settings)
    combined = Report(task="remove-modules", root=str(root.top), dry_run=dry_run)
    names = set()
    for where, suffix in ((record_path(job, "K").parent, ".json"),
                          (log_dir(job, "K").parent, ""), (root.path("/lib/modules"), "")):
        if where.is_dir() and not where.is_symlink():
            names.update(n[:len(n) - len(suffix)] for n in os.listdir(str(where))
                         if n.endswith(suffix))
    for name in sorted(names):
        try:
            kernel = check_kernel(name)
        except UsageError:
            continue  # not a kernel's (a temp file, an odd name)
        one = remove(root, settings, kernel, dry_run=dry_run)
        combined.changes.extend(one.changes)
        combined.notes.extend(one.notes)
        combined.warnings.extend(one.warnings)
        if one.failure and not combined.failure:
            combined.failure = f"{kernel}: {one.failure}"
    return combined


def _revert_kernel_hooks(root, settings, dry_run):
    from .modules import kernel_hooks

    return kernel_hooks.install(root, settings, dry_run=dry_run, revert=True)


def _revert_boot_hook(root, settings, dry_run):
    from .boot import hook

    return hook.install(root, settings, dry_run=dry_run, revert=True)


def _revert_esd_dir(root, settings, dry_run):
    from .esddir.fix import ensure

    return ensure(root, settings, dry_run=dry_run, revert=True)


def _revert_tmpwatch(root, settings, dry_run):
    from .tmpclean.core import patch

    return patch(root, settings, dry_run=dry_run, revert=True)


# The function behind each step named in tasklist.APPLY_STEPS.
_STEP_FUNCS = {
    "patch-tmpwatch": _patch_tmpwatch,
    "esd-dir": _esd_dir,
    "install-boot-hook": _boot_hook,
    "install-kernel-hooks": _kernel_hooks,
    "rebuild-modules": _rebuild_modules,
}
STEPS = tuple((name, _STEP_FUNCS[name]) for name in tasklist.APPLY_STEPS)
# What undoes each step, in the reverse order.
_REVERT_FUNCS = {
    "patch-tmpwatch": ("patch-tmpwatch --revert", _revert_tmpwatch),
    "esd-dir": ("esd-dir --revert", _revert_esd_dir),
    "install-boot-hook": ("install-boot-hook --revert", _revert_boot_hook),
    "install-kernel-hooks": ("install-kernel-hooks --revert", _revert_kernel_hooks),
    "rebuild-modules": ("remove-modules", _remove_modules),
}
REVERT_STEPS = tuple(_REVERT_FUNCS[name] for name in reversed(tasklist.APPLY_STEPS))

# A step: f(root, settings, dry_run) -> the step's own report.
StepFunc = Callable[[Root, Dict[str, Any], bool], Any]


@dataclass
class StepResult:
    name: str
    result: Any = None  # the step's own report (each step has its own type)
    error: str = ""        # the step raised: its one-line cause

    @property
    def failure(self) -> str:
        return self.error or (getattr(self.result, "failure", "") or "")

    @property
    def changed(self) -> bool:
        return bool(getattr(self.result, "changed", False))

    def to_dict(self) -> Dict[str, Any]:
        return {
            "step": self.name,
            "ok": not self.failure,
            "changed": self.changed,
            "failure": self.failure or None,
            "result": self.result.to_dict() if self.result is not None else None,
        }


@dataclass
class ApplyReport:
    root: str
    dry_run: bool = False
    revert: bool = False
    steps: list = field(default_factory=list)
    doctor: Optional["DoctorReport"] = None
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # lines printed before the steps

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.steps)

    @property
    def failure(self) -> str:
        failed = [s.name for s in self.steps if s.failure]
        if self.doctor is not None and self.doctor.failure:
            failed.append("doctor")
        task = "apply --revert" if self.revert else "apply"
        return f"{task}: failed: {', '.join(failed)}" if failed else ""

    def to_dict(self) -> Dict[str, Any]:
        return {
            "task": "apply",
            "root": self.root,
            "dry_run": self.dry_run,
            "revert": self.revert,
            "changed": self.changed,
            "steps": [s.to_dict() for s in self.steps],
            "doctor": self.doctor.to_dict() if self.doctor is not None else None,
            "warnings": list(self.warnings),
            "failure": self.failure or None,
        }

    def to_text(self) -> str:
        lines = list(self.notes)
        for step in self.steps:
            lines.append(f"== {step.name}")
            if step.error:
                lines.append(f"FAILED: {step.error}")
            elif step.result is not None:
                text = step.result.to_text().rstrip("\n")
                if text:
                    lines.append(text)
            lines.append("")
        if self.doctor is not None:
            lines.append("== doctor")
            lines.append(self.doctor.to_text().rstrip("\n"))
            lines.append("")
        changed = sum(1 for s in self.steps if s.changed)
        failed = sum(1 for s in self.steps if s.failure)
        verb = "would change" if self.dry_run else "changed"
        task = "apply --revert" if self.revert else "apply"
        lines.append(
            f"{task} {self.root}: {len(self.steps)} steps, {changed} {verb} something, "
            f"{failed} failed"
            + ("" if self.changed or self.dry_run or failed else "; nothing to change")
        )
        return "\n".join(lines)


def run(root: Root, settings: Dict[str, Any], dry_run: bool = False,
        steps: Optional[Sequence[Tuple[str, StepFunc]]] = None,
        revert: bool = False) -> ApplyReport:
    """Run every step on ``root``; the doctor last (skipped in a dry run).
    With ``revert``, undo every step in reverse order instead (no doctor)."""
    if steps is None:
        steps = REVERT_STEPS if revert else STEPS
    report = ApplyReport(root=str(root.top), dry_run=dry_run, revert=revert)
    # One lock and one journal for every step (each step's own nests in it).
    with Journal(root, settings, "apply", dry_run=dry_run, hold=not revert,
                 revert=revert) as journal:
        for name, func in steps:
            step = StepResult(name)
            try:
                step.result = func(root, settings, dry_run)
            except Exception as e:  # even a bug in one step must not hide the others' work
                step.error = one_line(e)
            report.steps.append(step)
            for warning in getattr(step.result, "warnings", None) or []:
                report.warnings.append(f"{name}: {warning}")
    report.notes.extend(journal.notes)
    if not dry_run and not revert:
        from . import doctor

        report.doctor = doctor.run(root, settings)
    return report
