"""remove-modules: after a kernel is removed, delete what rebuild-modules
made for it (the .ko files its record lists, the record, the logs) and
nothing else."""

import shutil
from typing import Any, Dict

from ..fileedit import FileChange
from ..report import Report
from ..rootfs import Root
from .install import depmod
from .lock import BuildLock
from .record import log_dir, read_record, record_path, recorded_files
from .settings import NAME_RE, Job, check_kernel, valid_dest
from .tools import safe_dir


def remove(root: Root, settings: Dict[str, Any], kernel: str, dry_run: bool = False) -> Report:
    """Delete our modules, record and logs for one kernel (kernel removal hooks)."""
    kernel = check_kernel(kernel)
    job = Job.start(root, settings)
    report = Report(task="remove-modules", root=str(root.top), dry_run=dry_run)
    path = record_path(job, kernel)
    record = read_record(path)
    # The record says where it installed; the settings may have changed since.
    dest_rel = record.get("dest") or job.module_settings.dest
    if not valid_dest(dest_rel):
        dest_rel = job.module_settings.dest
    dest = root.path(f"/lib/modules/{kernel}/{dest_rel}")
    targets = [dest / name for name in recorded_files(record) if NAME_RE.match(name)]
    targets = [t for t in targets if t.is_file()]
    if path.exists():
        targets.append(path)
    # Checked before anything is removed: rmtree must never start outside the root.
    logs = safe_dir(root, log_dir(job, kernel), create=False)
    prefix = "would be " if dry_run else ""
    lock = BuildLock(job)
    if dry_run:
        for t in targets:
            report.add(FileChange(root.server_path(t), prefix + "removed"))
        return report
    with lock:
        for t in targets:
            root.ensure_inside(t)
            t.unlink()
            report.add(FileChange(root.server_path(t), "removed"))
        kdir = job.kernel_dir(kernel)
        for d in (dest, *dest.parents):
            if d == kdir:
                break
            try:
                d.rmdir()
            except OSError:
                break
        # Only while the kernel itself is still installed (its package
        # removes modules.dep on removal): keep its module index right.
        if any(t.suffix == ".ko" for t in targets) and (kdir / "modules.dep").exists():
            problem = depmod(job, kernel)
            if problem:
                report.failure = problem
        if logs.is_dir() and not logs.is_symlink() and not report.failure:
            shutil.rmtree(logs)
    return report
