"""The health report: every check ok, warn or fail, with the command that fixes it.

A check is a function ``f(root, config) -> list[Check]`` registered with
``@register``; ``run()`` calls each one and collects a ``DoctorReport``.
A check never changes anything. A check that crashes on odd input becomes a
``fail`` row naming the problem instead of stopping the others: the report
is most needed on a server in a strange state.

Other concerns plug their checks in with ``register(func)``.
"""

import glob
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from . import tmpmount
from . import boothook as _boothook
from . import kernelhooks as _kernelhooks
from .errors import SunrayError

STATUSES = ("ok", "warn", "fail", "skip")

_REGISTRY = []


@dataclass
class Check:
    """One line of the report."""

    id: str
    title: str
    status: str  # ok | warn | fail | skip (not applicable here)
    detail: str = ""
    fix: str = ""  # the command (or the step) that fixes it; empty when ok

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"check {self.id}: unknown status {self.status!r}")

    def to_dict(self):
        return {"id": self.id, "title": self.title, "status": self.status,
                "detail": self.detail, "fix": self.fix}


@dataclass
class DoctorReport:
    root: str
    checks: list = field(default_factory=list)
    warnings: list = field(default_factory=list)  # finish() prints these; the table says it all

    def count(self, status):
        return sum(1 for c in self.checks if c.status == status)

    @property
    def failed(self):
        return [c for c in self.checks if c.status == "fail"]

    @property
    def failure(self):
        failed = self.failed
        if not failed:
            return ""
        return f"{len(failed)} check(s) failed: {', '.join(c.id for c in failed)}"

    def summary(self):
        return ", ".join(f"{self.count(s)} {s}" for s in STATUSES if self.count(s) or s != "skip")

    def to_dict(self):
        return {
            "task": "doctor",
            "root": self.root,
            "summary": {s: self.count(s) for s in STATUSES},
            "checks": [c.to_dict() for c in self.checks],
            "failure": self.failure or None,
        }

    def to_text(self):
        rows = [(c.status.upper(), c.id, c.detail or c.title) for c in self.checks]
        width_status = max([6] + [len(r[0]) for r in rows])
        width_id = max([5] + [len(r[1]) for r in rows])
        lines = [f"{'STATUS':<{width_status}}  {'CHECK':<{width_id}}  DETAIL"]
        for check, (status, ident, detail) in zip(self.checks, rows):
            lines.append(f"{status:<{width_status}}  {ident:<{width_id}}  {detail}")
            if check.fix and check.status in ("warn", "fail"):
                lines.append(f"{'':<{width_status}}  {'':<{width_id}}  fix: {check.fix}")
        lines.append("")
        lines.append(f"doctor {self.root}: {self.summary()}")
        return "\n".join(lines)


def register(func):
    """Add a check function ``f(root, config) -> list[Check]`` (usable as a decorator)."""
    if func not in _REGISTRY:
        _REGISTRY.append(func)
    return func


def registered():
    return list(_REGISTRY)


def run(root, config, checks=None):
    """Run every registered check (or ``checks``) against ``root``."""
    report = DoctorReport(root=str(root.top))
    _run_checks(report, root, config, checks)
    if not root.is_host:
        # A fix pasted as printed must act on this tree, not on the live /.
        option = f"--root {shlex.quote(str(root.top))}"
        for check in report.checks:
            check.fix = _SUNRAY_TASK.sub(lambda m: f"{m.group(0)} {option}", check.fix)
    return report


# `sunray TASK` in a fix line, for the tasks that take --root.
_SUNRAY_TASK = re.compile(
    r"\bsunray (?:patch-tmpwatch|esd-dir|install-boot-hook|install-kernel-hooks|"
    r"rebuild-modules|remove-modules|boot|apply|doctor|export-dkms)(?![\w.-])")


def _run_checks(report, root, config, checks):
    for func in checks if checks is not None else registered():
        name = func.__name__.replace("check_", "").replace("_", "-")
        try:
            report.checks.extend(func(root, config))
        except (SunrayError, OSError, ValueError) as e:
            report.checks.append(Check(name, f"check {name}", "fail",
                                       f"the check could not run: {e}",
                                       "look at the file named, then run `sunray doctor` again"))
    return report


# --- helpers ---------------------------------------------------------------


def _executable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


# --- /tmp must not be nodev ------------------------------------------------


@register
def check_tmp_nodev(root, config, mounts=None):
    """SRSS keeps device nodes under /tmp/SUNWut: /tmp must not be nodev.

    ``mounts`` stands in for /proc/self/mounts (see ``tmpmount.live_findings``).
    """
    title = "/tmp allows device nodes"
    findings = tmpmount.nodev_findings(root, mounts)
    nodev = [f for f in findings if f.kind == tmpmount.NODEV]
    if nodev:
        return [Check("tmp-nodev", title, "fail",
                      "; ".join(f.reason for f in nodev) + f" ({tmpmount.WHY})", nodev[0].fix)]
    if findings:  # nodev waiting in a unit not enabled, or a file that could not be read
        return [Check("tmp-nodev", title, "warn",
                      "; ".join(f.reason for f in findings), findings[0].fix)]
    return [Check("tmp-nodev", title, "ok", "/tmp is not mounted nodev")]


# --- configuration files waiting to be merged ------------------------------

PENDING_SUFFIXES = (".rpmnew", ".rpmsave", ".dpkg-dist", ".dpkg-new")
# The files the toolkit edits or depends on; globs are matched under the root.
WATCHED_FILES = (
    "/etc/cron.daily/tmpwatch",
    "/etc/cron.daily/tmpreaper",
    "/etc/tmpreaper.conf",
    "/etc/tmpfiles.d/*",
    "/etc/fstab",
    "/etc/sysconfig/*",
    "/etc/default/tmpreaper",
    "/etc/systemd/system/tmp.mount",
)


@register
def check_pending_merges(root, config):
    """A package update left .rpmnew/.rpmsave/.dpkg-dist files beside ours."""
    patterns = (config.get("doctor") or {}).get("watched_files") or WATCHED_FILES
    found = []
    for pattern in patterns:
        for suffix in PENDING_SUFFIXES:
            for host in glob.glob(str(root.path(pattern)) + suffix):
                found.append(root.server_path(host))
    found = sorted(set(found))
    if not found:
        return [Check("pending-merges", "no config updates waiting", "ok",
                      "no .rpmnew/.rpmsave/.dpkg-dist files beside the files sunray cares about")]
    first = found[0]
    original = first.rsplit(".", 1)[0]
    return [Check("pending-merges", "config updates waiting to be merged", "warn",
                  f"{len(found)} file(s) waiting: {', '.join(found)}",
                  f"diff -u {original} {first}; merge by hand, remove {first}, "
                  "then `sunray patch-tmpwatch` (and `sunray doctor` again)")]


# --- SRSS module sources ---------------------------------------------------


def module_sources(root, config):
    """``{module: server_dir}`` of the SRSS module sources rebuild-modules would build."""
    from .kmodules import discover_modules, module_settings

    cfg = module_settings(config)
    return {name: root.server_path(path) for name, path in discover_modules(root, cfg)}


@register
def check_module_sources(root, config):
    from .kmodules import module_settings

    base = module_settings(config)["src"]
    found = module_sources(root, config)
    if found:
        return [Check("module-sources", "SRSS module sources found", "ok",
                      f"{base}: {', '.join(found)}")]
    why = "missing" if not root.path(base).is_dir() else "has no module directory (Makefile + .c)"
    return [Check("module-sources", "SRSS module sources found", "fail",
                  f"{base} {why}: the kernel modules cannot be rebuilt",
                  "install SRSS (its RPMs put the sources there) or set sunray.modules.src")]


# --- boot hook and kernel hooks installed ----------------------------------

# The names the installers use (boothook, kernelhooks own them).
BOOT_SCRIPTS = (f"/etc/rc.d/init.d/{_boothook.NAME}", f"/etc/init.d/{_boothook.NAME}")
BOOT_UNIT = _boothook.UNIT
BOOT_UNIT_LINK = _boothook.WANTS_LINK
KERNEL_HOOKS = {
    "postinst": _kernelhooks.POSTINST,
    "postrm": _kernelhooks.POSTRM,
    "install": _kernelhooks.INSTALL_PLUGIN,
}


@register
def check_boot_hook(root, config):
    title = "boot hook installed"
    fix = "sunray install-boot-hook"
    if os.path.lexists(root.path(BOOT_UNIT)):
        if os.path.lexists(root.path(BOOT_UNIT_LINK)):
            return [Check("boot-hook", title, "ok", f"{BOOT_UNIT} enabled")]
        return [Check("boot-hook", title, "fail",
                      f"{BOOT_UNIT} is not enabled: it will not run at boot",
                      "systemctl enable sunray-boot.service")]
    for script in BOOT_SCRIPTS:
        host = root.path(script)
        if not os.path.lexists(host):
            continue
        if not _executable(host):
            return [Check("boot-hook", title, "fail", f"{script} is not executable",
                          f"chmod 755 {script}")]
        links = sorted(
            root.server_path(p)
            for pattern in ("/etc/rc.d/rc?.d/S*sunray-boot", "/etc/rc?.d/S*sunray-boot")
            for p in glob.glob(str(root.path(pattern)))
        )
        if links:
            return [Check("boot-hook", title, "ok",
                          f"{script}, started from {len(links)} runlevel(s)")]
        return [Check("boot-hook", title, "fail",
                      f"{script} has no rc?.d start links: it will not run at boot",
                      "chkconfig --add sunray-boot")]
    return [Check("boot-hook", title, "fail",
                  "no sunray-boot init script or systemd unit: nothing checks /tmp/.esd "
                  "and the modules at boot", fix)]


@register
def check_kernel_hooks(root, config):
    title = "kernel hooks installed"
    fix = "sunray install-kernel-hooks"
    present = {k: p for k, p in KERNEL_HOOKS.items() if os.path.lexists(root.path(p))}
    broken = [p for p in present.values() if not _executable(root.path(p))]
    if broken:
        return [Check("kernel-hooks", title, "fail",
                      f"not executable (skipped by run-parts/kernel-install): {', '.join(broken)}",
                      f"chmod 755 {' '.join(broken)}")]
    if "postinst" not in present and "install" not in present:
        return [Check("kernel-hooks", title, "fail",
                      "no kernel install hook: a kernel update will leave the modules behind "
                      "(the boot hook still rebuilds them at the next boot)", fix)]
    if "postinst" in present and "postrm" not in present:
        return [Check("kernel-hooks", title, "warn",
                      f"{KERNEL_HOOKS['postrm']} missing: modules of removed kernels stay", fix)]
    return [Check("kernel-hooks", title, "ok", ", ".join(present.values()))]


# The program each installed hook runs, as the hook spells it.
_HOOK_PROGRAM = (
    (re.compile(r"^PROGRAM=(.+)$", re.M), BOOT_SCRIPTS),
    (re.compile(r"^ExecStart=(\S+) boot$", re.M), (BOOT_UNIT,)),
    (re.compile(r"^SUNRAY='([^']+)'$", re.M), tuple(p for p, _, _ in _kernelhooks.HOOKS)),
)


@register
def check_hook_program(root, config):
    """The sunray program the installed hooks call exists and is executable."""
    title = "hooks can run sunray"
    calls = {}  # program -> hooks calling it
    for pattern, paths in _HOOK_PROGRAM:
        for path in paths:
            host = root.path(path)
            if not host.is_file() or host.is_symlink():
                continue
            found = pattern.search(host.read_text(errors="replace"))
            if found:
                words = shlex.split(found.group(1)) or [""]
                calls.setdefault(words[0], []).append(path)
    if not calls:
        return [Check("hook-program", title, "skip", "no sunray hook installed")]
    missing = [p for p in calls
               if not (p.startswith("/") and _executable(root.path(os.path.normpath(p))))]
    if not missing:
        return [Check("hook-program", title, "ok", ", ".join(sorted(calls)))]
    detail = "; ".join(f"{p} (called by {', '.join(calls[p])}) is missing or not executable"
                       for p in missing)
    # In an image the program may be installed later; on the live system the
    # hooks fail now.
    status = "fail" if root.is_host else "warn"
    return [Check("hook-program", title, status, detail,
                  "install sunray there, or set sunray.program and run "
                  "`sunray install-boot-hook` and `sunray install-kernel-hooks` again")]


# --- modules loaded in the running kernel ----------------------------------


def parse_proc_modules(text):
    """``{name: state}`` from a /proc/modules text (name size refs deps state addr)."""
    loaded = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5 and re.match(r"^[A-Za-z0-9_-]+$", fields[0]):
            loaded[fields[0].replace("-", "_")] = fields[4]
    return loaded


@register
def check_modules_loaded(root, config, proc_modules=None):
    """On the running system (root /), the SRSS modules are loaded.

    ``proc_modules`` is a file in /proc/modules format; it defaults to
    /proc/modules on root / (elsewhere the check does not apply).
    """
    title = "SRSS modules loaded"
    if proc_modules is None:
        if not root.is_host:
            return [Check("modules-loaded", title, "skip",
                          f"not the running system (--root {root.top}): loaded modules not checked")]
        proc_modules = "/proc/modules"
    expected = list(module_sources(root, config))
    if not expected:
        return [Check("modules-loaded", title, "skip", "no SRSS module sources: nothing to load")]
    try:
        loaded = parse_proc_modules(Path(proc_modules).read_text(errors="replace"))
    except FileNotFoundError:
        return [Check("modules-loaded", title, "skip",
                      f"{proc_modules} missing (a container?): loaded modules not checked")]
    missing = [m for m in expected if m.replace("-", "_") not in loaded]
    not_live = [m for m in expected if loaded.get(m.replace("-", "_"), "Live") != "Live"]
    if missing:
        return [Check("modules-loaded", title, "fail",
                      f"not loaded: {', '.join(missing)} (no sound or USB storage for Sun Rays)",
                      "sunray rebuild-modules; then restart SRSS: /etc/init.d/utsvc restart")]
    if not_live:
        return [Check("modules-loaded", title, "warn",
                      f"loading or unloading: {', '.join(not_live)}", "check again in a minute")]
    return [Check("modules-loaded", title, "ok", f"loaded: {', '.join(expected)}")]


# --- the fixes of the other tasks, judged by their own read-only views -------


@register
def check_tmp_cleaners(root, config):
    """Every /tmp cleaner found spares the protected paths."""
    from . import tmpcleaners

    title = "/tmp cleaners spare SRSS state"
    rows = tmpcleaners.status(root, config)
    if not rows:
        return [Check("tmp-cleaners", title, "ok", "no /tmp cleaner found under the root")]
    checks = []
    for row in rows:
        ident = f"tmp-cleaner-{row['cleaner']}"
        if row["error"]:
            checks.append(Check(ident, title, "fail", f"{row['file']}: {row['error']}",
                                "fix the file by hand, then `sunray patch-tmpwatch`"))
        elif row["missing"]:
            checks.append(Check(ident, title, "fail",
                                f"{row['file']} would delete {', '.join(row['missing'])}",
                                f"sunray patch-tmpwatch --cleaner {row['cleaner']}"))
        else:
            checks.append(Check(ident, title, "ok", f"{row['file']} spares the protected paths"))
        if row.get("rpmnew"):
            checks.append(Check(ident + "-rpmnew", "tmpwatch update waiting", "warn",
                                f"{row['rpmnew']} waits to be merged (it lacks the exclusions)",
                                f"merge {row['rpmnew']} into {row['file']}, remove it, "
                                "then `sunray patch-tmpwatch`"))
    return checks


@register
def check_esd_dir(root, config):
    """/tmp/.esd is a root-owned directory with mode 1777 (not a symlink)."""
    from . import esddir

    state = esddir.inspect(root, config)
    title = "esd socket directory"
    path = state["path"]
    if state["state"] == "ok":
        return [Check("esd-dir", title, "ok", f"{path} is root:root 1777")]
    if state["state"] == "missing" and _boothook.status(root, config)["installed"] != "none":
        return [Check("esd-dir", title, "warn",
                      f"{path} is missing; the boot hook creates it at the next boot",
                      "sunray esd-dir")]
    detail = state.get("details") or state["state"]
    return [Check("esd-dir", title, "fail", f"{path}: {detail} (esd sound fails)",
                  "sunray esd-dir")]


@register
def check_modules_built(root, config):
    """For every kernel with headers, the SRSS modules are installed, current
    and built for that kernel (vermagic)."""
    from . import kmodules

    title = "SRSS modules built"
    if not module_sources(root, config):
        return [Check("modules-built", title, "skip", "no SRSS module sources: nothing to build")]
    checks = []
    for row in kmodules.status(root, config):
        kernel = row["kernel"]
        ident = f"modules-{kernel}"
        rebuild = f"sunray rebuild-modules --kernel {kernel}"
        if not row["headers"]:
            checks.append(Check(ident, title, "warn",
                                f"no headers for {kernel}: modules cannot be built for it",
                                f"install {row['headers_package']}, then `{rebuild}`"))
        elif not row["installed"]:
            checks.append(Check(ident, title, "fail", f"no SRSS modules installed for {kernel}",
                                rebuild))
        elif not row["vermagic_ok"]:
            checks.append(Check(ident, title, "fail",
                                f"installed modules for {kernel} were built for another kernel",
                                rebuild + " --force"))
        elif not row["current"]:
            checks.append(Check(ident, title, "fail",
                                f"modules for {kernel} are stale (sources, patches or headers "
                                "changed since the build)", rebuild))
        else:
            checks.append(Check(ident, title, "ok",
                                f"{kernel}: {', '.join(row['installed'])}"))
    if not checks:
        checks.append(Check("modules-built", title, "warn",
                            "no kernel under /lib/modules", "install a kernel and its headers"))
    return checks


@register
def check_esound(root, config):
    """The installed esd and libesd do not use ALSA (SRSS emulates OSS)."""
    from . import esound

    title = "esd without ALSA"
    result = esound.check_installed(root)
    if result.failure:
        return [Check("esound", title, "fail", result.failure,
                      "sunray build-esound --srpm esound-*.src.rpm, then "
                      "rpm -Uvh dist/esound-*.oss.*.rpm")]
    if not result.data.get("installed"):
        return [Check("esound", title, "skip", "esound is not installed")]
    return [Check("esound", title, "ok", "esd and libesd need no libasound")]
