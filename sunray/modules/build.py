"""Building: kbuild for exactly the kernel wanted, kernels side by side.

Oracle's Makefiles build for the *running* kernel only (``uname -r``). We
drive kbuild directly::

    make -C /lib/modules/K/build M=<scratch copy> modules

The stock Makefile stays the kbuild file: it sets ``obj-m := $(COBJ)`` (from
``C_FILES``) unconditionally, which is what kbuild reads, so the same set of
.ko comes out as with ``make default`` on the running kernel, with Oracle's
own flags (EXTRA_CFLAGS, ccflags-y); its ``uname -r`` lines are evaluated but
unused in that pass. The built set is read back from kbuild's
``modules.order``.

Per kernel: copy the sources of the modules that need building to scratch
space, apply the configured patches, build them in one kbuild pass (a
generated Kbuild descends into each module directory), check vermagic (and
signature), then hand the kernel's builds to install.settle_kernel. When the
pass fails, each module is built again alone, so every module's status and
log say exactly what broke. Kernels build side by side; ``--jobs`` is shared
out as the ``-j`` of their makes, so nothing stacks ``-j``.

Builds are reproducible: the scratch directory's name is mapped to the
module's source directory in what the compiler records
(``-ffile-prefix-map``), so the same inputs give the same .ko bytes, and a
run that finishes a killed one installs exactly what a clean run would.
"""

import os
import re
import shutil
import time
from pathlib import Path
from typing import Dict, List, Optional, TextIO

from ..core.errors import UsageError
from ..core.report import Report
from ..core.rootfs import Root
from ..core.safeio import temp_name
from .discover import file_digest, is_build_product
from .install import settle_kernel
from .plan import BuiltFile, ModuleBuild
from .settings import Job, Signing
from .tools import SCRATCH_PREFIX, SCRATCH_TMP, find_tool, modinfo, open_nofollow, run_logged, safe_dir

# A path the compiler may be told to map: no space, '=' or shell-ish character.
_MAPPABLE = re.compile(r"^[A-Za-z0-9_./+-]+$")


def build_all(job: Job, todo: List[ModuleBuild], jobs: int, report: Report) -> None:
    """Build the kernels side by side; install each as soon as its build is done."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor, as_completed

    by_kernel: Dict[str, List[ModuleBuild]] = {}
    for b in todo:
        by_kernel.setdefault(b.kernel, []).append(b)
    for builds in by_kernel.values():
        # Every log directory exists, really inside the root, before any build.
        log_dir = safe_dir(job.root, Path(builds[0].row.log).parent)
        for b in builds:
            b.row.log = str(log_dir / Path(b.row.log).name)
    # One owner of -j: `jobs` in all. Kernels build side by side, each make
    # gets its share of the jobs; MAKEFLAGS from outside is cleared.
    workers = min(jobs, len(by_kernel))
    make_jobs = max(1, jobs // workers)
    # Always a dir=: without one, tempfile first probes the temp directory
    # with a file of its own, which a kill would leave there.
    base = scratch_base(job.root) or os.environ.get("TMPDIR") or "/tmp"
    scratch = tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=base)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(build_kernel, job, builds, scratch, make_jobs): kernel
                       for kernel, builds in by_kernel.items()}
            for future in as_completed(futures):
                kernel = futures[future]
                exc = future.exception()
                if exc is not None:
                    for b in by_kernel[kernel]:
                        b.built, b.row.detail = [], f"internal error: {type(exc).__name__}: {exc}"
                settle_kernel(job, kernel, by_kernel[kernel], report)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def scratch_base(root: Root) -> Optional[str]:
    """DIR/var/tmp when it really is inside the root, else None: the system's
    temp directory (scratch space is the one thing allowed outside the root)."""
    try:
        base = safe_dir(root, root.path("/var/tmp"), create=False)
    except UsageError:
        return None
    return str(base) if base.is_dir() else None


def _copy_sources(srcdir: Path, dest: Path) -> None:
    shutil.copytree(srcdir, dest, symlinks=True,
                    ignore=lambda d, names: [n for n in names if is_build_product(n)])


def _open_log(build: ModuleBuild, title: str) -> TextIO:
    """The build's log, written to a temp file and renamed by _close_log."""
    log_path = Path(build.row.log)  # its directory was made by build_all
    log = open(log_path.with_name(temp_name(log_path.name)), "x", opener=open_nofollow)
    log.write(f"# sunray rebuild-modules: {title} for {build.kernel}\n"
              f"# headers: {build.headers}\n# started: {time.ctime()}\n")
    return log


def _close_log(build: ModuleBuild, log: TextIO) -> None:
    log.close()
    os.replace(log.name, build.row.log)


def _prepare(build: ModuleBuild, work: Path, log: TextIO) -> Optional[str]:
    """Copy the build's sources to work and apply its patches; a problem or None."""
    _copy_sources(build.srcdir, work)
    for patch_file, _ in build.patches:
        rc = run_logged([find_tool("patch"), "-p1", "--batch", "--forward",
                         "-d", str(work), "-i", str(patch_file)], log)
        if rc != 0:
            return f"patch {patch_file.name} does not apply"
    return None


def _kbuild(build: ModuleBuild, work: Path, make_jobs: int, log: TextIO,
            source: Optional[str] = None) -> int:
    """kbuild for exactly build.kernel in work; make's exit status. ``source``
    is the server directory that ``work`` stands for in the objects' debug
    information (reproducible builds)."""
    cmd = [find_tool("make"), f"-j{make_jobs}", "-C", str(build.headers), f"M={work}"]
    if source and _MAPPABLE.match(str(work)) and _MAPPABLE.match(source):
        cmd.append(f"KCFLAGS=-ffile-prefix-map={work}={source}")
    # The compilers' own temporary files (cc*.s) go to the scratch
    # directory too: a killed build leaves them where the sweep looks.
    tmpdir = work.parent / SCRATCH_TMP
    tmpdir.mkdir(mode=0o700, exist_ok=True)
    return run_logged(cmd + ["modules"], log, env={"TMPDIR": str(tmpdir)})


def _check_built(job: Job, build: ModuleBuild, work: Path, log: TextIO) -> Optional[str]:
    """Vermagic (and signing) of what kbuild built in work; fills build.built.
    A problem or None."""
    kos = _built_modules(work)
    if not kos:
        return "kbuild built no module (no obj-m in the Makefile?)"
    sign = job.module_settings.sign
    for ko in kos:
        vermagic = modinfo("vermagic", ko) or ""
        log.write(f"# {ko.name}: vermagic {vermagic}\n")
        if not (vermagic + " ").startswith(build.kernel + " "):
            return f"{ko.name}: vermagic {vermagic!r} does not name {build.kernel}"
        if sign.enabled:
            problem = _sign(job.root, build, sign, ko, log)
            if problem:
                return problem
    build.built = [BuiltFile(ko.name, ko, file_digest(ko)) for ko in kos]
    log.write(f"# done: {', '.join(k.name for k in kos)}\n")
    return None


def build_one(job: Job, build: ModuleBuild, scratch_root: str, make_jobs: int = 1) -> None:
    """Build one module alone in its own scratch copy; fills build.built or
    build.row.detail."""
    start = time.monotonic()
    build.built, build.row.detail = [], ""
    work = Path(scratch_root) / f"{build.kernel}--{build.module}"
    log = _open_log(build, build.module)
    try:
        problem = _prepare(build, work, log)
        if not problem:
            rc = _kbuild(build, work, make_jobs, log, _source(job, build.srcdir))
            problem = f"make exited {rc}" if rc else _check_built(job, build, work, log)
        if problem:
            build.built, build.row.detail = [], problem
            log.write(f"# failed: {problem}\n")
    except OSError as e:
        build.row.detail = f"{e.strerror or e}: {e.filename or ''}".rstrip(": ")
    finally:
        build.row.seconds += time.monotonic() - start
        _close_log(build, log)


def build_kernel(job: Job, builds: List[ModuleBuild], scratch_root: str, make_jobs: int) -> None:
    """Build the modules one kernel needs in ONE kbuild pass (kbuild's start-up
    and modpost cost more than compiling these small modules). When anything
    in that pass fails, each module is built again alone, so that the status
    and the log of every module say exactly what broke."""
    if len(builds) == 1:
        build_one(job, builds[0], scratch_root, make_jobs)
        return
    from ..core.templating import render

    start = time.monotonic()
    first = builds[0]
    work = Path(scratch_root) / first.kernel
    work.mkdir()
    names = " ".join(b.module for b in builds)
    log = _open_log(first, f"{names} (one kbuild pass)")
    problem = None
    try:
        for build in builds:
            problem = problem or _prepare(build, work / build.module, log)
        if not problem:
            (work / "Kbuild").write_text(render("Kbuild-subdirs.j2", dirs=[b.module for b in builds]))
            rc = _kbuild(first, work, make_jobs, log, _source(job, first.srcdir.parent))
            problem = f"make exited {rc}" if rc else None
        for build in builds:
            problem = problem or _check_built(job, build, work / build.module, log)
    except OSError as e:
        problem = f"{e.strerror or e}: {e.filename or ''}"
    finally:
        log.close()
    elapsed = time.monotonic() - start
    if problem:
        # Find out which module broke: each alone, with its own log.
        os.unlink(log.name)
        for build in builds:
            build.row.seconds = elapsed / len(builds)
            build_one(job, build, scratch_root, make_jobs)
        return
    for build in builds:
        build.row.seconds = elapsed
        # each module's copy of the pass's log appears whole, by rename
        copy = Path(build.row.log).with_name(temp_name(Path(build.row.log).name))
        with open(log.name, "rb") as fin, open(copy, "xb") as out:
            shutil.copyfileobj(fin, out)
        os.replace(copy, build.row.log)
    os.unlink(log.name)


def _source(job: Job, host_dir: Path) -> Optional[str]:
    """The server path of a source directory (None when outside the root)."""
    return job.root.server_path(host_dir) if job.root.contains(host_dir) else None


def _built_modules(work: Path) -> List[Path]:
    """The .ko files kbuild built, from its modules.order."""
    order = work / "modules.order"
    names: List[str] = []
    if order.is_file():
        for line in order.read_text().split():
            name = os.path.basename(line)
            if name.endswith(".o"):  # 5.x+ lists .o
                name = name[:-2] + ".ko"
            if name.endswith(".ko") and (work / name).is_file() and name not in names:
                names.append(name)
    if not names:
        names = sorted(p.name for p in work.glob("*.ko"))
    return [work / n for n in names]


def _sign(root: Root, build: ModuleBuild, sign: Signing, ko: Path, log: TextIO) -> Optional[str]:
    """Sign ko with the kernel's own sign-file; a problem text, or None."""
    sign_file = build.headers / "scripts" / "sign-file"
    if not os.access(sign_file, os.X_OK):
        return f"signing: {sign_file} not found (headers without scripts/sign-file)"
    key, cert = root.path(sign.key), root.path(sign.cert)
    for what, server, host in (("key", sign.key, key), ("cert", sign.cert, cert)):
        if not host.is_file():
            return f"signing: {what} {server} not found"
    rc = run_logged([str(sign_file), sign.hash, str(key), str(cert), str(ko)], log)
    if rc != 0:
        return f"signing {ko.name} failed (sign-file exited {rc})"
    signer = modinfo("signer", ko)
    algo = modinfo("sig_hashalgo", ko)
    log.write(f"# {ko.name}: signer {signer!r}, hash {algo!r}\n")
    if not signer:
        return f"{ko.name}: no signature after signing"
    if algo and algo != sign.hash:
        return f"{ko.name}: signed with {algo}, expected {sign.hash}"
    return None
