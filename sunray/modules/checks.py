"""Doctor checks for the SRSS kernel modules and their kernel hooks
(including what a hook run that could not start sunray recorded).

Read-only; each returns a list of Check rows."""

import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from ..core.errors import UsageError
from ..core.kernelname import check_kernel
from ..core.report import Check
from ..core.rootfs import Root, executable
from . import kernel_hooks
from .settings import ModuleSettings

KERNEL_HOOKS = {
    "postinst": kernel_hooks.POSTINST,
    "postrm": kernel_hooks.POSTRM,
    "install": kernel_hooks.INSTALL_PLUGIN,
}


def module_sources(root: Root, settings: Dict[str, Any]) -> Dict[str, str]:
    """``{module: server_dir}`` of the SRSS module sources rebuild-modules would build."""
    from .discover import discover_modules
    from .settings import ModuleSettings

    module_settings = ModuleSettings.from_settings(settings)
    return {name: root.server_path(path) for name, path in discover_modules(root, module_settings)}


def check_module_sources(root: Root, settings: Dict[str, Any]) -> List[Check]:
    """The module sources are where modules.src says."""
    from .settings import ModuleSettings

    base = ModuleSettings.from_settings(settings).src
    found = module_sources(root, settings)
    if found:
        return [Check("module-sources", "SRSS module sources found", "ok",
                      f"{base}: {', '.join(found)}")]
    why = "missing" if not root.path(base).is_dir() else "has no module directory (Makefile + .c)"
    return [Check("module-sources", "SRSS module sources found", "fail",
                  f"{base} {why}: the kernel modules cannot be rebuilt",
                  "install SRSS (its RPMs put the sources there) or set sunray.modules.src")]


def check_kernel_hooks(root: Root, settings: Dict[str, Any]) -> List[Check]:
    """The kernel install and removal hooks are there and executable."""
    title = "kernel hooks installed"
    fix = "sunray install-kernel-hooks"
    present = {k: p for k, p in KERNEL_HOOKS.items() if os.path.lexists(root.path(p))}
    broken = [p for p in present.values() if not executable(root.path(p))]
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
    owned = kernel_hooks.packaged_hooks(root)
    owner = f" (the {sorted(set(owned.values()))[0]} package's)" if owned else ""
    return [Check("kernel-hooks", title, "ok", ", ".join(present.values()) + owner)]


def read_last_hook_run(root: Root, settings: Dict[str, Any]) -> Optional[Dict[str, str]]:
    """What ``<state_dir>/kernel-hook.last`` says (key=value lines written by a
    kernel hook that could not start sunray), or None when there is none."""
    path = root.state(kernel_hooks.LAST_RUN, settings=settings)
    if path.is_symlink() or not path.is_file():
        return None
    fields = {}
    for line in path.read_text(errors="replace").splitlines()[:20]:
        key, sep, value = line.partition("=")
        if sep and key in ("kernel", "task", "time", "cause", "reason"):
            fields[key] = value.strip()
    return fields


def _modules_current(root: Root, settings: Dict[str, Any], kernel: str) -> bool:
    from .rebuild import status

    return any(row["kernel"] == kernel and row["installed"] and row["current"]
               and row["vermagic_ok"] and row["indexed"] for row in status(root, settings))


def check_kernel_hook_run(root: Root, settings: Dict[str, Any]) -> List[Check]:
    """A kernel hook that could not start sunray (no usable Python, no program)
    left the modules of a kernel undone: name the kernel and the fix. No row
    when no such run is recorded."""
    last = read_last_hook_run(root, settings)
    if last is None:
        return []
    title = "last kernel hook run"
    kernel = last.get("kernel", "")
    try:
        check_kernel(kernel)
    except UsageError:
        kernel = "?"  # the hooks refuse such versions: a damaged file
    task = last.get("task") if last.get("task") in ("rebuild-modules", "remove-modules") \
        else "rebuild-modules"
    when = f" at {last['time']}" if last.get("time") else ""
    reason = last.get("reason") or "sunray could not run"
    removing = task == "remove-modules"
    if removing:
        dest = ModuleSettings.from_settings(settings).dest
        done = kernel != "?" and not root.path(f"/lib/modules/{kernel}/{dest}").exists()
    else:
        done = kernel != "?" and _modules_current(root, settings, kernel)
    if done:
        return [Check("kernel-hook-run", title, "ok",
                      f"the hook could not run sunray for {kernel}{when}; "
                      f"{task} has been done since")]
    if last.get("cause") == "missing":
        install = "install sunray (or set sunray.program and run `sunray install-kernel-hooks`)"
    else:
        install = "install a Python 3.6+ for the sunray program (e.g. rh-python36 on RHEL 6)"
    detail = (f"the kernel hook could not run sunray{when}: SRSS modules "
              f"{'not removed' if removing else 'not rebuilt'} for {kernel} ({reason})")
    return [Check("kernel-hook-run", title, "warn" if removing else "fail", detail,
                  f"{install}, then: sunray {task} --kernel {kernel}")]


def parse_proc_modules(text: str) -> Dict[str, str]:
    """``{name: state}`` from a /proc/modules text (name size refs deps state addr)."""
    loaded = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5 and re.match(r"^[A-Za-z0-9_-]+$", fields[0]):
            loaded[fields[0].replace("-", "_")] = fields[4]
    return loaded


def check_modules_loaded(root: Root, settings: Dict[str, Any],
                         proc_modules: Optional[Union[str, Path]] = None) -> List[Check]:
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
    expected = list(module_sources(root, settings))
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


def check_modules_built(root: Root, settings: Dict[str, Any]) -> List[Check]:
    """For every kernel with headers, the SRSS modules are installed, current
    and built for that kernel (vermagic), and modules.dep names them."""
    from .rebuild import status

    title = "SRSS modules built"
    if not module_sources(root, settings):
        return [Check("modules-built", title, "skip", "no SRSS module sources: nothing to build")]
    checks = []
    for row in status(root, settings):
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
        elif not row["indexed"]:
            checks.append(Check(ident, title, "fail",
                                f"modules.dep of {kernel} does not name the SRSS modules "
                                "(depmod did not run or failed): modprobe cannot load them",
                                rebuild))
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


def check_weak_updates(root: Root, settings: Dict[str, Any]) -> List[Check]:
    """RHEL weak-updates links to sunray's modules: which kernel's build each
    kernel uses that way, and whether it still resolves. No row without any."""
    from . import weak

    found = weak.links(root, ModuleSettings.from_settings(settings).dest)
    if not found:
        return []
    title = "weak-updates links to sunray's modules"
    by_kernel: Dict[str, List[Dict[str, Any]]] = {}
    for link in found:
        by_kernel.setdefault(link["kernel"], []).append(link)
    parts, dangling, borrowed = [], [], []
    for kernel, kernel_links in sorted(by_kernel.items()):
        sources = sorted({link["source_kernel"] for link in kernel_links})
        broken = [link["link"] for link in kernel_links if not link["resolves"]]
        parts.append(f"{kernel}: {len(kernel_links)} from {', '.join(sources)}"
                     + (f" ({len(broken)} dangling)" if broken else ""))
        dangling += broken
        if not root.path(f"/lib/modules/{kernel}/{ModuleSettings.from_settings(settings).dest}").is_dir():
            borrowed.append(kernel)
    detail = "; ".join(parts)
    if dangling:
        return [Check("weak-updates", title, "warn", f"{detail}: dangling {', '.join(dangling[:4])}",
                      "weak-modules --remove-kernel / --add-kernel for that kernel, or "
                      f"rm {' '.join(dangling[:4])}; then: sunray rebuild-modules")]
    if borrowed:
        return [Check("weak-updates", title, "warn",
                      f"{detail}: {', '.join(borrowed)} runs another kernel's build (kABI-compatible "
                      "by weak-modules, not built for it)",
                      " ; ".join(f"sunray rebuild-modules --kernel {k}" for k in borrowed))]
    return [Check("weak-updates", title, "ok", f"{detail}; each kernel has its own build too, which "
                  "depmod prefers (RHEL searches extra before weak-updates)")]


CHECKS = (check_module_sources, check_kernel_hooks, check_kernel_hook_run, check_weak_updates,
          check_modules_loaded,
          check_modules_built)
