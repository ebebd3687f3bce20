"""What to build: for every (kernel, module) pair, the inputs of its build
and whether the installed modules were built from exactly those.

A pair's input digest covers the build recipe, the kernel, the module's
sources, the headers tree, the signing setup and the patches that apply to
it; a pair is current when the kernel's record has that digest and every .ko
it lists is installed intact.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..core.errors import UsageError
from ..core.report import Report
from .discover import (
    digest_tree,
    discover_modules,
    file_digest,
    headers_dir,
    headers_identity,
    headers_package,
    module_objects,
)
from .record import Record, log_path, read_record, record_path
from .results import STATUS_FAILED, STATUS_SKIPPED, ModuleRow
from .settings import Job, PatchRule

# Bump when the way we build changes: every record becomes stale.
RECIPE = "kbuild-m-1"


class BuiltFile(NamedTuple):
    """One .ko a build made, in its scratch directory."""

    name: str
    path: Path
    digest: str


@dataclass
class ModuleBuild:
    """One (kernel, module) build: its row in the report, what it is built
    from, and, once built, the .ko files it made."""

    row: ModuleRow
    srcdir: Path
    headers: Path
    input_digest: str
    patches: List[Tuple[Path, str]]  # (host path, digest) of the patches to apply
    current: bool = False  # the record matches the inputs and the .ko are intact
    built: List[BuiltFile] = field(default_factory=list)  # empty until a build succeeds

    @property
    def kernel(self) -> str:
        return self.row.kernel

    @property
    def module(self) -> str:
        return self.row.module


@dataclass
class KernelState:
    """One kernel as a plan finds it: its headers (None: not installed) and
    our record for it."""

    kernel: str
    headers: Optional[Path]
    record: Record


@dataclass
class Plan:
    """Every pair's row, in kernel then module order, and the builds of the
    pairs whose kernel has headers (their rows are among ``rows``)."""

    rows: List[ModuleRow] = field(default_factory=list)
    builds: List[ModuleBuild] = field(default_factory=list)


def survey(job: Job, kernels: Sequence[str]) -> List[KernelState]:
    """Headers and record of each kernel, read once."""
    return [KernelState(k, headers_dir(job.root, k), read_record(record_path(job, k)))
            for k in kernels]


def _matching_patches(job: Job, rules: List[PatchRule], kernel: str, module: str,
                      digests: Dict[Path, str]) -> List[Tuple[Path, str]]:
    """(host path, digest) of the patches for this pair; ``digests`` caches
    each file's digest across the pairs of one plan."""
    out = []
    src = job.root.path(job.module_settings.src)
    for rule in rules:
        if rule.module is not None and rule.module != module:
            continue
        if not rule.kernel_regex.search(kernel):
            continue
        host = job.root.path(rule.file) if rule.file.startswith("/") else src / rule.file
        if ".." in Path(rule.file).parts:
            raise UsageError(f"patch {rule.file}: '..' is not allowed")
        if not host.is_file():
            raise UsageError(f"patch {rule.file}: no such file")
        if host not in digests:
            digests[host] = file_digest(host)
        out.append((host, digests[host]))
    return out


def _is_current(record_entry: Optional[dict], input_digest: str, dest: Path) -> bool:
    """True when the record matches the inputs and every .ko is there intact."""
    if not record_entry or record_entry.get("input") != input_digest:
        return False
    files = record_entry.get("files") or {}
    if not files:
        return False
    for name, digest in files.items():
        path = dest / name
        try:
            if not path.is_file() or file_digest(path) != digest:
                return False
        except OSError:
            return False
    return True


def _signing_identity(job: Job) -> str:
    sign = job.module_settings.sign
    if not sign.enabled:
        return "sign:off"
    # a new certificate (same path) must re-sign: hash its content
    cert = job.root.path(sign.cert)
    return f"sign:{sign.hash}:{file_digest(cert) if cert.is_file() else '-'}"


def plan_builds(job: Job, kernels: Sequence[KernelState], explicit: bool, report: Report) -> Plan:
    """Rows for every (kernel, module), and a build for each pair whose kernel
    has headers, marked current or not. A kernel without headers gets failed
    rows when it was asked for (``explicit``), else skipped ones, and a line
    in the report."""
    modules = discover_modules(job.root, job.module_settings)
    if not modules:
        raise UsageError(f"no module sources under {job.module_settings.src} "
                         "(directories with a Makefile and .c files)")
    rules = job.module_settings.patch_rules()
    sign_id = _signing_identity(job)
    for _name, d in modules:
        module_objects(d)  # refuses a Makefile naming hostile modules, before any build
    src_digests = {name: digest_tree(d) for name, d in modules}
    plan = Plan()
    patch_digests: Dict[Path, str] = {}
    for state in kernels:
        kernel, headers = state.kernel, state.headers
        if headers is None:
            package = headers_package(job.root, kernel)
            detail = f"no headers (/lib/modules/{kernel}/build): install {package}"
            for name, _ in modules:
                plan.rows.append(ModuleRow(kernel, name, STATUS_FAILED if explicit else STATUS_SKIPPED,
                                           detail=detail))
            (report.notes if not explicit else report.warnings).append(f"{kernel}: {detail}")
            continue
        hid = headers_identity(headers)
        dest = job.dest_dir(kernel)
        for name, srcdir in modules:
            applied = _matching_patches(job, rules, kernel, name, patch_digests)
            h = hashlib.sha256()
            for part in (RECIPE, kernel, src_digests[name], hid, sign_id, *(d for _, d in applied)):
                h.update(part.encode() + b"\0")
            row = ModuleRow(kernel, name, log=str(log_path(job, kernel, name)))
            build = ModuleBuild(row, srcdir=srcdir, headers=headers, input_digest=h.hexdigest(),
                                patches=applied)
            build.current = _is_current(state.record["modules"].get(name), build.input_digest, dest)
            plan.rows.append(row)
            plan.builds.append(build)
    return plan
