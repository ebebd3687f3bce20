"""The entry points of rebuild-modules, of the boot step and of doctor's
status: which kernels, then plan, build and install under the build lock.

Every kernel gets the SRSS modules built against its own headers and
installed only when all of them built: a failure leaves the installed modules
and the record as they were. When nothing changed since the last build, a
run (the boot check included) costs a few stat calls and digests, no
subprocess.
"""

import os
import time
from typing import Any, Dict, List, Optional, Sequence

from ..errors import UsageError
from ..rootfs import Root
from .build import build_all
from .discover import discover_modules, headers_dir, headers_package, installed_kernels
from .lock import BuildLock
from .plan import Plan, plan_builds, survey
from .record import recorded_files
from .results import STATUS_CURRENT, STATUS_FAILED, STATUS_WOULD, ModulesReport
from .settings import Job, check_kernel
from .tools import modinfo


def rebuild(root: Root, settings: Dict[str, Any], kernels: Optional[Sequence[str]] = None,
            jobs: Any = None, force: bool = False, dry_run: bool = False) -> ModulesReport:
    """Build and install the SRSS modules for the given kernels (default:
    every kernel with headers). Returns a ModulesReport (failure set when any
    pair failed)."""
    kernels = [check_kernel(k) for k in kernels] if kernels else None
    return _rebuild(Job.start(root, settings), kernels, jobs, force, dry_run)


def _rebuild(job: Job, kernels: Optional[List[str]], jobs: Any = None, force: bool = False,
             dry_run: bool = False) -> ModulesReport:
    started = time.monotonic()
    explicit = bool(kernels)
    jobs = job.module_settings.parallel_jobs(jobs)
    report = ModulesReport(root=str(job.root.top), dry_run=dry_run)
    if kernels is None:
        kernels = installed_kernels(job.root)
        without = [k for k in kernels if headers_dir(job.root, k) is None]
        kernels = [k for k in kernels if k not in without]
        for k in without:
            report.notes.append(f"{k}: skipped, no headers: install {headers_package(job.root, k)}")
    else:
        kernels = list(dict.fromkeys(kernels))
    if dry_run:
        plan = plan_builds(job, survey(job, kernels), explicit, report)
        for build in plan.builds:
            build.row.status = STATUS_CURRENT if build.current and not force else STATUS_WOULD
        return _finish(report, plan, started)
    with BuildLock(job):
        # Planned under the lock: another run may have built or removed
        # modules while this one waited.
        plan = plan_builds(job, survey(job, kernels), explicit, report)
        todo = []
        for build in plan.builds:
            if build.current and not force:
                build.row.status = STATUS_CURRENT
            else:
                todo.append(build)
        if todo:
            build_all(job, todo, jobs, report)
    return _finish(report, plan, started)


def _finish(report: ModulesReport, plan: Plan, started: float) -> ModulesReport:
    report.pairs = plan.rows
    failed = [p for p in plan.rows if p.status == STATUS_FAILED]
    if failed and not report.failure:
        names = ", ".join(f"{p.module}/{p.kernel}" for p in failed)
        logged = next((p.log for p in failed if p.log_tail), "")
        report.failure = f"{len(failed)} module build(s) failed: {names}" + (
            f" (log: {logged})" if logged else "")
    report.seconds = time.monotonic() - started
    return report


def running_kernel(job: Job) -> Optional[str]:
    """The kernel boot_check looks after: the running one on /, else the
    configured modules.running_kernel, else the newest kernel with headers."""
    if job.root.is_host:
        return os.uname().release
    chosen = job.module_settings.running_kernel
    if chosen:
        return check_kernel(chosen)
    with_headers = [k for k in installed_kernels(job.root) if headers_dir(job.root, k)]
    return with_headers[-1] if with_headers else None


def boot_check(root: Root, settings: Dict[str, Any]) -> ModulesReport:
    """At boot, before SRSS: make sure the running kernel's modules exist and
    are current (a no-op costing milliseconds when they are)."""
    job = Job.start(root, settings)
    if not discover_modules(root, job.module_settings):
        report = ModulesReport(task="boot-modules", root=str(root.top))
        report.notes.append("no SRSS module sources: nothing to build")
        return report
    kernel = running_kernel(job)
    if kernel is None:
        report = ModulesReport(task="boot-modules", root=str(root.top))
        report.warnings.append("no kernel with headers under /lib/modules: SRSS modules not checked")
        return report
    if headers_dir(root, kernel) is None:
        report = ModulesReport(task="boot-modules", root=str(root.top))
        report.warnings.append(
            f"{kernel}: no headers, cannot build the SRSS modules: install "
            f"{headers_package(root, kernel)}")
        return report
    report = _rebuild(job, [check_kernel(kernel)])
    report.task = "boot-modules"
    return report


def status(root: Root, settings: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Read-only, for doctor: per kernel, headers, installed modules, whether
    they are current, and whether their vermagic names the kernel."""
    job = Job.start(root, settings)
    states = survey(job, installed_kernels(root))
    try:
        builds = plan_builds(job, states, False, ModulesReport()).builds if states else []
    except UsageError:
        builds = []
    out = []
    for state in states:
        kernel, headers = state.kernel, state.headers
        dest = job.dest_dir(kernel)
        installed = sorted(n for n in recorded_files(state.record) if (dest / n).is_file())
        mine = [b for b in builds if b.kernel == kernel]
        current = bool(mine) and all(b.current for b in mine)
        vermagic_ok = bool(installed) and all(
            ((modinfo("vermagic", dest / n) or "") + " ").startswith(kernel + " ")
            for n in installed)
        out.append({"kernel": kernel, "headers": str(headers) if headers else None,
                    "headers_package": None if headers else headers_package(root, kernel),
                    "installed": installed, "current": current, "vermagic_ok": vermagic_ok})
    return out
