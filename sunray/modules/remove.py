"""remove-modules: after a kernel is removed, or to undo rebuild-modules,
delete what rebuild-modules made for one kernel and nothing else.

What goes: the .ko files the kernel's record lists (and those a killed
install was about to put in place), the directories under /lib/modules/K
sunray created, depmod's index as it was before (removed when there was
none, made again when there was one), the logs, the record, the temporary
files killed runs left, the weak-updates links other kernels have to those
modules (RHEL's weak-modules makes them; their kernels' index is made
again), and the state and log directories with the lock once nothing else
of sunray's is in them. Every target is checked before
the first removal; the record goes last, so a removal killed half-way is
finished by the next one.
"""

import os
import shutil
from pathlib import Path
from typing import Any, Dict, List, NamedTuple

from ..core.fileedit import FileChange
from ..core.journal import Journal
from ..core.kernelname import check_kernel
from ..core.report import Report
from ..core.rootfs import Root
from ..core.safeio import check_writable
from . import index, weak
from .leftovers import find_leftovers, remove_leftovers
from .record import (
    Record,
    log_dir,
    pending,
    read_record,
    record_path,
    recorded_files,
    string_list,
)
from .settings import NAME_RE, Job, valid_dest
from .tools import safe_dir


class Removal(NamedTuple):
    """What removing one kernel's modules takes, found read-only."""

    record: Record
    files: List[Path]  # .ko files to delete
    dirs: List[Path]  # directories to remove when empty, deepest first
    index_files: List[Path]  # depmod's files, when the index was ours alone
    depmod_again: bool  # the index was there before: make it again
    logs: Path
    record_file: Path
    leftovers: List[str]
    weak_links: List[Path]  # other kernels' weak-updates links to the files
    weak_kernels: List[str]  # their kernels, whose index is made again

    @property
    def empty(self) -> bool:
        return not (self.files or self.index_files or self.depmod_again or self.leftovers
                    or self.weak_links or os.path.lexists(self.record_file) or self.logs.is_dir())


def _removal(job: Job, kernel: str) -> Removal:
    root = job.root
    path = record_path(job, kernel)
    # Never read (or later remove) state through a symlink out of the root.
    path = safe_dir(root, path.parent, create=False) / path.name
    record = read_record(path)
    # The record says where it installed; the settings may have changed since.
    dests = []
    for rel in (record.get("dest"), pending(record).get("dest")):
        if isinstance(rel, str) and valid_dest(rel) and rel.strip("/") not in dests:
            dests.append(rel.strip("/"))
    if not dests:
        dests.append(job.module_settings.dest)
    names = recorded_files(record) + string_list(pending(record).get("files"))
    files = []
    for rel in dests:
        dest = root.path(f"/lib/modules/{kernel}/{rel}")
        for name in dict.fromkeys(names):
            if NAME_RE.match(name) and (dest / name).is_file() and not (dest / name).is_symlink():
                files.append(dest / name)
    kdir = job.kernel_dir(kernel)
    if "dirs" in record:
        prefix = f"/lib/modules/{kernel}/"
        dirs = [root.path(d) for d in string_list(record["dirs"]) if d.startswith(prefix)]
    else:  # a record of an older version: our dest and its parents, when empty
        dirs = []
        for rel in dests:
            d = root.path(f"/lib/modules/{kernel}/{rel}")
            while d != kdir and kdir in d.parents:
                dirs.append(d)
                d = d.parent
    dirs.sort(key=lambda d: len(d.parts), reverse=True)
    # RHEL's weak-modules may have linked these files into other kernels.
    weak_links: List[Path] = []
    weak_kernels: List[str] = []
    for rel in dests:
        for link in weak.pointing_at(root, rel, [root.server_path(f) for f in files]):
            weak_links.append(root.path(link["link"]))
            if link["kernel"] != kernel and link["kernel"] not in weak_kernels \
                    and index.has_index(job, link["kernel"]):
                weak_kernels.append(link["kernel"])
    had_modules = bool(recorded_files(record) or pending(record))
    ours = record.get("index_ours") is True
    return Removal(
        record=record, files=files, dirs=dirs,
        index_files=index.depmod_files(job, kernel) if ours and had_modules else [],
        depmod_again=had_modules and not ours and index.has_index(job, kernel),
        # Checked before anything is removed: rmtree must never start outside the root.
        logs=safe_dir(root, log_dir(job, kernel), create=False),
        record_file=path, leftovers=find_leftovers(job, [kernel]),
        weak_links=weak_links, weak_kernels=weak_kernels)


def remove(root: Root, settings: Dict[str, Any], kernel: str, dry_run: bool = False) -> Report:
    """Delete our modules, record and logs for one kernel (kernel removal
    hooks; the undo of rebuild-modules)."""
    kernel = check_kernel(kernel)
    job = Job.start(root, settings)
    report = Report(task="remove-modules", root=str(root.top), dry_run=dry_run)
    plan = _removal(job, kernel)
    if dry_run:
        for t in plan.weak_links + plan.files + plan.index_files + [plan.record_file]:
            if os.path.lexists(t):
                report.add(FileChange(root.server_path(t), "would be removed"))
        return report
    if plan.empty:
        return report
    targets = plan.weak_links + plan.files + plan.index_files + [plan.record_file]
    server_targets = [root.server_path(t) for t in targets]
    check_writable(root, [p for p, t in zip(server_targets, targets) if os.path.lexists(t)],
                   "remove the modules")
    # A revert's journal: the state directory goes too once nothing of
    # sunray's is left in it.
    with Journal(root, settings, "remove-modules", server_targets, revert=True) as journal:
        plan = _removal(job, kernel)  # another run may have changed it while we waited
        remove_leftovers(job, [kernel])
        for t in plan.weak_links:  # before their targets: never a dangling link
            root.ensure_inside(t)
            t.unlink()
            report.add(FileChange(root.server_path(t), "removed", note="weak-updates link"))
        for other in plan.weak_kernels:
            problem = index.depmod(job, other)
            if problem:
                report.warnings.append(problem)
        for t in plan.files:
            root.ensure_inside(t)
            t.unlink()
            report.add(FileChange(root.server_path(t), "removed"))
        for d in plan.dirs:
            try:
                d.rmdir()
            except OSError:
                pass  # not empty: something else lives there
        for t in plan.index_files:
            t.unlink()
            report.add(FileChange(root.server_path(t), "removed"))
        if plan.depmod_again:
            # Only while the kernel itself is still installed (its package
            # removes modules.dep on removal): keep its module index right.
            problem = index.depmod(job, kernel)
            if problem:
                report.failure = problem
                return report
        if plan.logs.is_dir() and not plan.logs.is_symlink():
            shutil.rmtree(plan.logs)
        if os.path.lexists(plan.record_file):
            plan.record_file.unlink()
            report.add(FileChange(root.server_path(plan.record_file), "removed"))
        for d in (log_dir(job, kernel).parent, log_dir(job, kernel).parent.parent,
                  plan.record_file.parent):
            _rmdir_quietly(d)  # when empty: nothing else of sunray's in it
        old_lock = root.state("modules.lock", settings=settings)  # before the one lock
        if old_lock.is_file() and not old_lock.is_symlink():
            old_lock.unlink()
    report.notes.extend(journal.notes)
    return report


def _rmdir_quietly(path: Path) -> None:
    try:
        if not path.is_symlink():
            path.rmdir()
    except OSError:
        pass  # not empty, or not there
