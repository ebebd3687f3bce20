"""Keep the daily /tmp cleaners away from Sun Ray state (task patch-tmpwatch).

Every cleaner in the registry (``registry.NAMES``, one module each) is
looked for under the root and told to leave the protected paths
(``sunray.tmp.protect``) alone, in the file that configures it.

All edits are planned and checked before the first file is written, so bad
input in one cleaner's file leaves every file as it was.
"""

import os
from pathlib import Path
from typing import Any, Dict, List, Union

from ..core.errors import UsageError
from ..core.fileedit import FileEditor
from ..core.journal import Journal
from ..core.report import Report
from ..core.rootfs import Root
from . import base, registry
from .base import Cleaner
from .dropin import check_path


def patch(root: Union[Root, str, Path], settings: dict, cleaner: str = "auto",
          dry_run: bool = False, revert: bool = False) -> Report:
    """Protect ``settings["tmp"]["protect"]`` in every chosen cleaner; a Report."""
    root = root if isinstance(root, Root) else Root(root)
    chosen = _chosen(cleaner)
    protect = protected_paths(settings)
    editor = FileEditor(root, dry_run=dry_run,
                        state_dir=settings.get("state_dir", "/var/lib/sunray"))
    report = Report(task="patch-tmpwatch", root=str(root.top), dry_run=dry_run)
    report.data["cleaners"] = []
    if revert:
        with Journal(root, settings, "patch-tmpwatch", dry_run=dry_run, revert=True) as journal:
            editor.journal = journal
            base.revert(editor, chosen, report)
        report.notes.extend(journal.notes)
        return report

    found = _found(root)
    if cleaner == "auto":
        targets = found
        if not targets:
            looked_for = registry.spoken([c.looked_for for c in chosen], last="and")
            report.notes.append(
                f"no /tmp cleaner found under {root.top} (looked for {looked_for}): nothing to do")
            return report
    else:
        targets = chosen
        one = chosen[0]
        if not one.own_file and one not in found:
            raise UsageError(f"--cleaner {one.name}: {one.file} does not exist under {root.top}")

    plans = [c.plan(root, settings, protect) for c in targets]
    # Refuse early (nothing written) when a file or its backup cannot be
    # written: a read-only or immutable target would otherwise fail halfway.
    writes = [plan for plan in plans if plan.content is not None]
    for plan in writes:
        editor.check(files=[plan.file], what=f"change {plan.file}")
    with Journal(root, settings, "patch-tmpwatch", [plan.file for plan in writes],
                 dry_run=dry_run) as journal:
        for plan in plans:
            if plan.content is None:
                editor.settle(plan.file)  # a killed run's change, found done
                continue
            change = editor.write(plan.file, plan.content, mode=plan.mode)
            if change.changed:
                change.note = plan.cleaner
                report.add(change)
    report.notes.extend(journal.notes)
    for plan in plans:
        summary = plan.summary
        if dry_run and summary.startswith("added "):  # a dry run did nothing
            summary = "would add " + summary[len("added "):]
        report.notes.append(f"{plan.cleaner}: {plan.file}: {summary}")
        report.warnings.extend(plan.warnings)
        report.notes.extend(plan.notes)
        report.data["cleaners"].append(plan.to_dict())
    return report


def status(root: Union[Root, str, Path], settings: dict) -> List[Dict[str, Any]]:
    """Read-only view for the doctor: one dict per cleaner found under the root.

    Keys: cleaner, file, protected (bool), missing (paths not protected),
    rpmnew (path of an update's copy beside the file, or None), error (why
    the file could not be judged, or None); deleters (the files that would
    really delete the missing paths) for a cleaner that names them.
    """
    root = root if isinstance(root, Root) else Root(root)
    protect = protected_paths(settings)
    rows = []
    for cleaner in _found(root):
        row: Dict[str, Any] = {"cleaner": cleaner.name, "file": cleaner.file, "protected": False,
                               "missing": list(protect), "rpmnew": None, "error": None}
        if cleaner.rpmnew and os.path.lexists(root.path(cleaner.rpmnew)):
            row["rpmnew"] = cleaner.rpmnew
        try:
            row["missing"] = cleaner.missing(root, protect)
        except UsageError as e:
            row["error"] = str(e)
        else:
            row["protected"] = not row["missing"]
            if row["missing"] and cleaner.deleters is not None:
                row["deleters"] = cleaner.deleters(root, row["missing"])
        rows.append(row)
    return rows


def detect(root: Root) -> List[str]:
    """The names of the cleaners present under the root, in registry order."""
    return [c.name for c in _found(root)]


def protected_paths(settings: dict) -> List[str]:
    """The configured paths, validated (absolute, no blanks, '..' or quotes)."""
    paths = (settings.get("tmp") or {}).get("protect")
    if not isinstance(paths, (list, tuple)) or not paths:
        raise UsageError("sunray.tmp.protect: expected a non-empty list of paths")
    checked = [check_path(p).rstrip("/") or "/" for p in paths]
    return list(dict.fromkeys(checked))  # without repeats, in the admin's order


def _found(root: Root) -> List[Cleaner]:
    return [c for c in registry.cleaners() if c.installed(root)]


def _chosen(name: str) -> List[Cleaner]:
    """Every cleaner for "auto", else the one named (or aliased) ``name``."""
    cleaners = registry.cleaners()
    if name == "auto":
        return cleaners
    for cleaner in cleaners:
        if name == cleaner.name or name in cleaner.aliases:
            return [cleaner]
    raise UsageError(f"--cleaner {name!r}: expected {registry.spoken(('auto',) + registry.NAMES)}")
