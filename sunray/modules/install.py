"""Installing one kernel's built modules: all of them or none, then depmod,
then the record.

Before the first change the record gets a ``pending`` entry naming the
files and directories about to appear (a removal after a kill knows them).
Every .ko is staged under a temporary name next to its final name and
fsynced; then the kernel's whole set is swapped in, the files being
replaced kept aside (hard links) until all renames are done: any error
puts the old set back whole and removes the staged files ("install failed:
PATH: cause"). Then depmod, checked by reading modules.dep, then the record
without ``pending``, last. Nothing is written through a symlink out of the
root.
"""

import os
import shutil
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..core.errors import JobFailed, UsageError
from ..core.report import Report
from ..core.safeio import check_writable, fsync_dir, temp_name
from . import index
from .plan import ModuleBuild
from .record import Record, pending, read_record, record_path, string_list, tail, write_record
from .results import INSTALL_FAILED, STATUS_BUILT, STATUS_FAILED, STATUS_SKIPPED
from .settings import Job


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
        detail = str(e) if str(e).startswith(INSTALL_FAILED) else INSTALL_FAILED + str(e)
        for b in builds:
            b.row.status, b.row.detail = STATUS_FAILED, detail
        return
    for b in builds:
        b.row.status = STATUS_BUILT
    if problem:
        # The modules are in place; only the module index is behind (the
        # next run sees it and runs depmod again).
        report.failure = problem


def _dest(job: Job, kernel: str) -> Tuple[Path, List[str]]:
    """``check_dest`` while installing: JobFailed (the run checked it first)."""
    try:
        return check_dest(job, kernel)
    except UsageError as e:
        raise JobFailed(str(e)) from None


def check_dest(job: Job, kernel: str) -> Tuple[Path, List[str]]:
    """Host path of /lib/modules/K/<dest> and the server paths of the
    directories still to create on the way; a UsageError when the way leads
    through a symlink (out of the root, or at all below /lib/modules/K) or
    a file."""
    root = job.root
    server = f"/lib/modules/{kernel}/{job.module_settings.dest}"
    root.makedirs(f"/lib/modules/{kernel}", create=False)
    path = job.kernel_dir(kernel)
    for part in job.module_settings.dest.split("/"):
        path = path / part
        if path.is_symlink():
            raise UsageError(f"{root.server_path(path)} is a symlink; "
                             "refusing to install through it; nothing was changed")
    made = root.makedirs(server, create=False)
    root.ensure_inside(made.host / "x")
    return made.host, list(made.created)


def _check_targets(job: Job, dest: Path, names: List[str]) -> None:
    """Every final name is a regular file or free, and writable: refused
    before the first write."""
    for name in names:
        path = dest / name
        if os.path.lexists(path) and (path.is_symlink() or not path.is_file()):
            raise JobFailed(f"install failed: {job.root.server_path(path)}: not a regular file; "
                            "nothing was changed")
    check_writable(job.root, [job.root.server_path(dest / n) for n in names],
                   "install the modules")


def _write_pending(job: Job, kernel: str, record: Record, new_dirs: List[str],
                   names: List[str]) -> None:
    """The record before the first change: what is about to appear."""
    if "index_ours" not in record:
        # Known only before sunray's first install: modules.dep missing then
        # means depmod's files are ours to remove with the modules.
        record["index_ours"] = not record["modules"] and not index.has_index(job, kernel)
    if "dirs" in record or not record["modules"]:  # records of older versions: unknown
        record["dirs"] = list(dict.fromkeys(string_list(record.get("dirs")) + new_dirs))
    earlier = string_list(pending(record).get("files"))
    record["pending"] = {"dest": job.module_settings.dest,
                         "files": sorted(set(earlier) | set(names))}
    write_record(job, kernel, record)


def _swap_in(job: Job, dest: Path, built: Dict[str, Path], gone: List[str]) -> None:
    """Stage every new .ko, then rename the whole set in (and the gone ones
    out); on any error the old set is put back and nothing staged is left."""
    staged: List[Tuple[Path, Path]] = []
    aside: List[Tuple[Path, Path]] = []  # (kept old file, its name)
    placed: List[Path] = []  # final names that did not exist before
    current = dest
    try:
        for name, src in built.items():
            current = dest / name
            tmp = dest / temp_name(name)
            with open(src, "rb") as fin, open(tmp, "xb") as out:
                staged.append((tmp, current))
                shutil.copyfileobj(fin, out)
                os.fchmod(out.fileno(), 0o644)
                os.fsync(out.fileno())
        for name in gone:
            current = dest / name
            if os.path.lexists(current):
                keep = dest / temp_name(name)
                os.rename(current, keep)
                aside.append((keep, current))
        for tmp, final in staged:
            current = final
            if os.path.lexists(final):
                keep = dest / temp_name(final.name)
                os.link(final, keep)
                aside.append((keep, final))
            else:
                placed.append(final)
            os.replace(tmp, final)
        fsync_dir(dest)
    except OSError as e:
        for final in placed:
            _unlink_quietly(final)
        for keep, final in reversed(aside):
            try:
                if os.path.lexists(final) and os.path.samefile(keep, final):
                    os.unlink(keep)  # never replaced (rename() between links does nothing)
                else:
                    os.replace(keep, final)
            except OSError:
                pass
        for tmp, _ in staged:
            _unlink_quietly(tmp)
        raise JobFailed(f"install failed: {job.root.server_path(current)}: "
                        f"{e.strerror or e}") from None
    for keep, _ in aside:
        _unlink_quietly(keep)  # a leftover is swept by the next run


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def install_kernel(job: Job, kernel: str, builds: List[ModuleBuild]) -> Optional[str]:
    """Install every built .ko of a kernel's builds, run depmod, then write
    the record. None, or the index's problem (JobFailed when installing
    failed: then the installed modules are as they were)."""
    dest, new_dirs = _dest(job, kernel)
    record = read_record(record_path(job, kernel))
    built = {b.name: b.path for build in builds for b in build.built}
    gone = sorted(name for build in builds
                  for name in (record["modules"].get(build.module, {}).get("files") or {})
                  if name not in built)
    _check_targets(job, dest, sorted(built) + gone)
    _write_pending(job, kernel, record, new_dirs, sorted(built))
    try:
        job.root.makedirs(f"/lib/modules/{kernel}/{job.module_settings.dest}")
    except (OSError, UsageError) as e:
        raise JobFailed(f"install failed: /lib/modules/{kernel}/{job.module_settings.dest}: "
                        f"{getattr(e, 'strerror', None) or e}") from None
    _swap_in(job, dest, built, gone)
    for build in builds:
        record["modules"][build.module] = {
            "input": build.input_digest,
            "files": {b.name: b.digest for b in build.built},
            "patches": [job.root.server_path(p) for p, _ in build.patches],
        }
    record.update(kernel=kernel, dest=job.module_settings.dest, headers=str(builds[0].headers))
    return finish_kernel(job, kernel, record, run_depmod=True)


def unfinished(job: Job, kernel: str, record: Record) -> bool:
    """Whether a kernel whose modules are current still needs its index or
    its record finished (a killed or failed run): a pending entry, or a
    modules.dep that does not name every installed module."""
    if pending(record):
        return True
    dest_rel = record.get("dest") or job.module_settings.dest
    files = [n for entry in record["modules"].values() for n in (entry.get("files") or {})]
    return not index.names_all(job, kernel, dest_rel, files)


def finish_kernel(job: Job, kernel: str, record: Record, run_depmod: bool = False) -> Optional[str]:
    """depmod when asked to, when an install is pending or when modules.dep
    does not name the modules; then the record, last: without ``pending``
    once depmod succeeded, else keeping it, so that the next run runs depmod
    again (a depmod killed after writing modules.dep but before its other
    files leaves a modules.dep that looks right). None or the index's problem."""
    dest_rel = record.get("dest") or job.module_settings.dest
    files = [n for entry in record["modules"].values() for n in (entry.get("files") or {})]
    problem = None
    if run_depmod or pending(record) or not index.names_all(job, kernel, dest_rel, files):
        problem = index.update(job, kernel, dest_rel, files)
    if problem:
        record["pending"] = dict(pending(record), index=problem)
    else:
        record.pop("pending", None)
    write_record(job, kernel, record)
    return problem
