"""Installing one kernel's built modules: all of them or none, atomically,
then the record, then depmod.

Each .ko is staged next to its final name, then all are renamed: a crash
leaves old or new files, never a partial one; the record is written last.
Nothing is written through a symlink out of the root.
"""

import os
import shutil
import time
from pathlib import Path
from typing import List, Optional

from ..errors import JobFailed, UsageError
from ..report import Report
from ..safeio import fsync_dir
from .plan import ModuleBuild
from .record import log_dir, read_record, record_path, tail, write_record
from .results import STATUS_BUILT, STATUS_FAILED, STATUS_SKIPPED
from .settings import Job
from .tools import find_tool, open_nofollow, run_logged, safe_dir


def settle_kernel(job: Job, kernel: str, builds: List[ModuleBuild], report: Report) -> None:
    """All of a kernel's builds are done: install them all, or none, and set
    each row's status."""
    failed = [b for b in builds if not b.built]
    if failed:
        for b in failed:
            b.row.status = STATUS_FAILED
            b.row.log_tail = tail(b.row.log)
        for b in builds:
            if b.built:
                b.row.status = STATUS_SKIPPED
                b.row.detail = "built, not installed: another module for this kernel failed"
        return
    try:
        problem = install_kernel(job, kernel, builds)
    except JobFailed as e:
        for b in builds:
            b.row.status, b.row.detail = STATUS_FAILED, str(e)
        return
    for b in builds:
        b.row.status = STATUS_BUILT
    if problem:
        # The modules are in place; only the module index is behind.
        report.failure = problem


def _make_dest(job: Job, kernel: str) -> Path:
    """Create /lib/modules/K/<dest> without following a symlink out of the root."""
    root = job.root
    try:
        path = safe_dir(root, job.kernel_dir(kernel))
        for part in job.module_settings.dest.split("/"):
            path = path / part
            if path.is_symlink():
                raise JobFailed(f"{root.server_path(path)} is a symlink; "
                                "refusing to install through it")
            path = safe_dir(root, path)
    except UsageError as e:
        raise JobFailed(str(e)) from None
    root.ensure_inside(path / "x")
    return path


def install_kernel(job: Job, kernel: str, builds: List[ModuleBuild]) -> Optional[str]:
    """Install every built .ko of a kernel's builds, then write the record and
    run depmod. None, or the problem depmod had (JobFailed when installing
    failed: then the installed modules and the record are as they were)."""
    dest = _make_dest(job, kernel)
    record = read_record(record_path(job, kernel))
    staged = []
    try:
        for build in builds:
            for built in build.built:
                tmp = dest / f".{built.name}.sunray-tmp"
                if os.path.lexists(tmp):
                    os.unlink(tmp)
                with open(built.path, "rb") as src, open(tmp, "xb") as out:
                    shutil.copyfileobj(src, out)
                    os.fchmod(out.fileno(), 0o644)
                    os.fsync(out.fileno())
                staged.append((tmp, dest / built.name))
        for tmp, final in staged:
            os.replace(tmp, final)
        fsync_dir(dest)
    except OSError as e:
        for tmp, _ in staged:
            if tmp.exists():
                tmp.unlink()
        raise JobFailed(f"installing modules for {kernel}: {e.strerror}: {e.filename}") from None
    for build in builds:
        old = record["modules"].get(build.module, {}).get("files", {})
        new = {built.name: built.digest for built in build.built}
        for gone in set(old) - set(new):
            try:
                (dest / gone).unlink()
            except FileNotFoundError:
                pass
        record["modules"][build.module] = {
            "input": build.input_digest, "files": new,
            "patches": [job.root.server_path(p) for p, _ in build.patches],
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    record.update(kernel=kernel, dest=job.module_settings.dest, headers=str(builds[0].headers))
    write_record(job, kernel, record)
    return depmod(job, kernel)


def depmod(job: Job, kernel: str) -> Optional[str]:
    """depmod -b DIR K; its output goes to the kernel's depmod.log. None or a problem."""
    log_path = safe_dir(job.root, log_dir(job, kernel)) / "depmod.log"
    job.root.ensure_inside(log_path)
    with open(log_path, "w", opener=open_nofollow) as log:
        rc = run_logged([find_tool("depmod"), "-b", str(job.root.top), kernel], log)
    if rc != 0:
        return f"depmod for {kernel} exited {rc} (see {log_path})"
    return None
