"""Kernel hooks: rebuild the SRSS modules when a kernel arrives, clean up when it goes.

* ``/etc/kernel/postinst.d/sunray-modules`` -- Debian/Ubuntu kernel packages
  and RHEL 6/7 (``new-kernel-pkg --rpmposttrans``) run it as
  ``SCRIPT VERSION IMAGE`` after installing a kernel.
* ``/etc/kernel/header_postinst.d/sunray-modules`` -- Debian runs it when
  ``linux-headers-VERSION`` is installed, which apt may do after the image:
  the build then happens once the headers exist.
* ``/etc/kernel/postrm.d/sunray-modules`` -- after a kernel is removed:
  delete our modules and record for it.
* ``/etc/kernel/install.d/85-sunray.install`` -- systemd ``kernel-install``
  (Fedora, RHEL 8+): ``add`` builds, ``remove`` cleans up.

Exit codes: by default a hook warns loudly and exits 0 when the build fails.
A failing postinst.d script stops ``run-parts``, so the hooks after it
(initramfs, grub) would not run and dpkg would leave the kernel package
unconfigured: one broken third-party module must not cost a bootable kernel.
``sunray boot`` retries at the next boot. ``sunray.modules.hook_strict: true``
makes the hooks exit with sunray's status instead.

When sunray cannot run at all (its program missing, or its launcher finds
no usable Python: RHEL 5), a hook says in one line that the modules were
not rebuilt (or removed) for VERSION and what to install, and writes
``<state_dir>/kernel-hook.last`` (kernel, task, time, cause, reason) for
doctor's ``kernel-hook-run`` row; the next hook run that starts sunray
removes it.
"""

import posixpath
import shlex
from typing import Any, Dict, Optional, Tuple

from ..core.config import as_bool
from ..core.fileedit import FileEditor
from ..core.hookprogram import NO_PYTHON, program_path
from ..core.journal import Journal
from ..core.report import Report
from ..core.rootfs import Root
from ..core.templating import render

POSTINST = "/etc/kernel/postinst.d/sunray-modules"
HEADER_POSTINST = "/etc/kernel/header_postinst.d/sunray-modules"
POSTRM = "/etc/kernel/postrm.d/sunray-modules"
INSTALL_PLUGIN = "/etc/kernel/install.d/85-sunray.install"
# In the state directory: a hook run that could not start sunray (no usable
# Python, or no program), as key=value lines, for doctor.
LAST_RUN = "kernel-hook.last"
# A hook a package ships (the RPM, the .deb) carries this line with the
# package's name: install-kernel-hooks leaves such hooks to the package.
PACKAGE_MARKER = "# sunray-package-hook: "
# Which hooks each package ships: what its platform's kernels run.
PACKAGE_HOOKS = {
    "deb": (POSTINST, HEADER_POSTINST, POSTRM),
    "rpm": (POSTINST, POSTRM, INSTALL_PLUGIN),
}

# (server path, template, extra template variables)
HOOKS: Tuple[Tuple[str, str, Dict[str, Any]], ...] = (
    (POSTINST, "kernel-postinst-sunray.sh.j2",
     {"task": "rebuild-modules", "when": "after a kernel is installed",
      "what": "builds the Sun Ray (SRSS) kernel modules for VERSION"}),
    (HEADER_POSTINST, "kernel-postinst-sunray.sh.j2",
     {"task": "rebuild-modules", "when": "Debian: after linux-headers-VERSION is installed",
      "what": "builds the Sun Ray (SRSS) kernel modules for VERSION"}),
    (POSTRM, "kernel-postinst-sunray.sh.j2",
     {"task": "remove-modules", "when": "after a kernel is removed",
      "what": "deletes the SRSS modules and record sunray made for VERSION"}),
    (INSTALL_PLUGIN, "kernel-install-sunray.install.j2", {}),
)


def render_hooks(settings: Dict[str, Any], root: Optional[Root] = None,
                 package: str = "") -> Dict[str, str]:
    """{server path: script text} of every hook; ``package`` (a package
    name): the hooks as that package ships them, marked as its own."""
    program = program_path(settings, root)
    strict = as_bool((settings.get("modules") or {}).get("hook_strict", False),
                     "sunray.modules.hook_strict")
    state_file = posixpath.join(settings.get("state_dir", "/var/lib/sunray"), LAST_RUN)
    return {path: render(template, path=path, program=program, strict=strict,
                         state_file_sh=shlex.quote(state_file), no_python=NO_PYTHON,
                         package=package, package_marker=PACKAGE_MARKER, **extra)
            for path, template, extra in HOOKS}


def package_owner(root: Root, path: str) -> str:
    """The package whose own hook ``path`` is (its marker line), else ""."""
    target = root.path(path)
    if target.is_symlink() or not target.is_file():
        return ""
    try:
        with open(str(target), "rb") as f:
            head = f.read(2048).decode("utf-8", "replace")
    except OSError:
        return ""
    for line in head.splitlines()[:8]:
        if line.startswith(PACKAGE_MARKER):
            return line[len(PACKAGE_MARKER):].strip()
    return ""


def packaged_hooks(root: Root) -> Dict[str, str]:
    """{path: package} of the hooks that a package installed."""
    owners = {path: package_owner(root, path) for path, _, _ in HOOKS}
    return {path: owner for path, owner in owners.items() if owner}


def install(root: Root, settings: Dict[str, Any], dry_run: bool = False, revert: bool = False) -> Report:
    """Install the hooks (all or none), or with ``revert`` remove them again.

    Where a package (the RPM, the .deb) ships the hooks, they are its own:
    the task writes and removes none of them, and says so."""
    report = Report(task="install-kernel-hooks", root=str(root.top), dry_run=dry_run)
    owned = packaged_hooks(root)
    if owned:
        package = sorted(set(owned.values()))[0]
        report.notes.append(f"the kernel hooks are the {package} package's own "
                            f"({', '.join(sorted(owned))}): nothing to "
                            f"{'remove' if revert else 'install'}; removing the package removes them")
        return report
    editor = FileEditor(root, dry_run=dry_run, state_dir=settings.get("state_dir", "/var/lib/sunray"))
    if revert:
        with Journal(root, settings, "install-kernel-hooks", dry_run=dry_run,
                     revert=True) as journal:
            editor.journal = journal
            # All or nothing: a hook the admin changed since, or one that
            # cannot be written, stops the revert before the first change.
            editor.check_revert([path for path, _, _ in HOOKS])
            for path, _, _ in HOOKS:
                report.add(editor.revert(path))
        report.notes.extend(journal.notes)
        return report
    hooks = render_hooks(settings, root)
    # All four or none: refuse before the first write, not after the third.
    editor.check(files=list(hooks), what="install the kernel hooks")
    with Journal(root, settings, "install-kernel-hooks", list(hooks),
                 dry_run=dry_run) as journal:
        for path, text in hooks.items():
            report.add(editor.write(path, text, mode=0o755))
    report.notes.extend(journal.notes)
    return report
