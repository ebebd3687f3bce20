"""The entry points of rebuild-modules, of the boot step and of doctor's
status: which kernels, the plan (input checked before anything is written),
then build and install under the run journal and its lock.

Every kernel gets the SRSS modules built against its own headers and
installed only when all of them built: a failure leaves the installed modules
and the record as they were. A run also finishes what a killed or failed one
left: its temporary files, a pending install, a modules.dep that does not
name the modules. When nothing changed since the last build, a run (the boot
check included) costs a few stat calls, digests and one read of each
kernel's modules.dep: no subprocess, no lock, no write.
"""

import os
import time
from typing import Any, Dict, List, Optional, Sequence

from ..core.errors import UsageError
from ..core.journal import Journal
from ..core.kernelname import check_kernel
from ..core.rootfs import Root
from ..core.safeio import check_writable
from .build import build_all
from .discover import (
    discover_modules,
    headers_dir,
    headers_package,
    installed_kernels,
    module_objects,
)
from .install import check_dest, finish_kernel, unfinished
from .leftovers import find_leftovers, remove_leftovers
from .plan import Plan, plan_builds, survey
from .record import read_record, record_path, recorded_files
from .results import INSTALL_FAILED, STATUS_CURRENT, STATUS_FAILED, STATUS_WOULD, ModulesReport
from .settings import Job
from .tools import modinfo


def rebuild(root: Root, settings: Dict[str, Any], kernels: Optional[Sequence[str]] = None,
            jobs: Any = None, force: bool = False, dry_run: bool = False) -> ModulesReport:
    """Build and install the SRSS modules for the given kernels (default:
    every kernel with headers). Returns a ModulesReport (failure set when any
    pair failed)."""
    kernels = [check_kernel(k) for k in kernels] if kernels else None
    for kernel in kernels or []:
        if not os.path.lexists(root.path(f"/lib/modules/{kernel}")):
            raise UsageError(f"--kernel {kernel}: not installed under the root (no "
                             f"/lib/modules/{kernel}); nothing was changed")
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
    # Input checked and plan made before anything is written or locked: bad
    # input leaves nothing behind, and a run with nothing to do writes nothing.
    said = len(report.notes), len(report.warnings)
    work = _Work(job, kernels, explicit, force, report)
    leftovers = find_leftovers(job, kernels)
    if dry_run:
        for build in work.plan.builds:
            build.row.status = STATUS_CURRENT if build in work.current else STATUS_WOULD
        for kernel in work.unfinished:
            report.notes.append(f"{kernel}: would run depmod and finish the record")
            report.touched = True
        return _finish(report, work.plan, started)
    if work.todo or work.unfinished:
        work.check()  # every target, before the state directory or a log is made
    if work.todo or work.unfinished or leftovers:
        with Journal(job.root, job.settings, "rebuild-modules", work.targets(),
                     hold=True) as journal:
            if work.records_changed():
                # another run built or removed modules while this one waited
                del report.notes[said[0]:], report.warnings[said[1]:]
                work = _Work(job, kernels, explicit, force, report)
            swept = remove_leftovers(job, kernels)
            if swept:
                report.notes.append(f"removed what a killed run left: {', '.join(swept)}")
            if work.todo:
                build_all(job, work.todo, jobs, report)
            for kernel in work.unfinished:
                problem = finish_kernel(job, kernel, work.records[kernel])
                if problem:
                    report.failure = report.failure or problem
                else:
                    report.settled.append(kernel)
        report.notes.extend(journal.notes)
    for build in work.current:
        build.row.status = STATUS_CURRENT
    return _finish(report, work.plan, started)


class _Work:
    """One kernel list planned: the builds to do, the current ones, and the
    kernels whose modules are current but whose index or record a killed or
    failed run left unfinished."""

    def __init__(self, job: Job, kernels: List[str], explicit: bool, force: bool,
                 report: ModulesReport) -> None:
        self.job = job
        states = survey(job, kernels)
        self.records = {s.kernel: s.record for s in states}
        self.plan: Plan = plan_builds(job, states, explicit, report)
        self.todo = [b for b in self.plan.builds if force or not b.current]
        self.current = [b for b in self.plan.builds if b not in self.todo]
        building = {b.kernel for b in self.todo}
        self.unfinished = [
            s.kernel for s in states
            if s.headers and s.kernel not in building and s.record["modules"]
            and any(b.kernel == s.kernel for b in self.plan.builds)
            and unfinished(job, s.kernel, s.record)]

    def targets(self) -> List[str]:
        """Server paths of the files this work may write (for the run journal)."""
        kernels = list(dict.fromkeys([b.kernel for b in self.todo] + self.unfinished))
        paths = []
        for kernel in kernels:
            paths.append(self.job.root.server_path(record_path(self.job, kernel)))
            paths.append(self.job.root.server_path(self.job.kernel_dir(kernel) / "modules.dep"))
        for build in self.todo:
            paths.append(self.job.root.server_path(build.row.log))
            dest = self.job.dest_dir(build.kernel)
            paths.extend(self.job.root.server_path(dest / f"{name}.ko")
                         for name in module_objects(build.srcdir))
        return paths

    def check(self) -> None:
        """Refuse before the first write: a way out of the root or through a
        symlink to a kernel's modules (UsageError), or a target, a log or
        the state directory that cannot be written (JobFailed)."""
        for kernel in dict.fromkeys([b.kernel for b in self.todo] + self.unfinished):
            check_dest(self.job, kernel)
        check_writable(self.job.root, self.targets(), "build the modules")

    def records_changed(self) -> bool:
        """Whether a record changed since the plan (cheap: small files)."""
        return any(read_record(record_path(self.job, k)) != r for k, r in self.records.items())


def _finish(report: ModulesReport, plan: Plan, started: float) -> ModulesReport:
    report.pairs = plan.rows
    failed = [p for p in plan.rows if p.status == STATUS_FAILED]
    installs = [p for p in failed if p.detail.startswith(INSTALL_FAILED)]
    builds = [p for p in failed if p not in installs]
    causes = []
    if builds:
        names = ", ".join(f"{p.module}/{p.kernel}" for p in builds)
        logged = next((p.log for p in builds if p.log_tail), "")
        causes.append(f"{len(builds)} module build(s) failed: {names}" + (
            f" (log: {logged})" if logged else ""))
    causes.extend(dict.fromkeys(p.detail for p in installs))  # one per kernel
    if causes and not report.failure:
        report.failure = "; ".join(causes)
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
    they are current, whether their vermagic names the kernel, and whether
    modules.dep names them (and no install was left unfinished)."""
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
        # modprobe finds the modules only through modules.dep
        indexed = bool(installed) and not unfinished(job, kernel, state.record)
        out.append({"kernel": kernel, "headers": str(headers) if headers else None,
                    "headers_package": None if headers else headers_package(root, kernel),
                    "installed": installed, "current": current, "vermagic_ok": vermagic_ok,
                    "indexed": indexed})
    return out
