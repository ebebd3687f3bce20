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
"""

import re
import shutil

from .errors import UsageError
from .fileedit import FileEditor
from .report import Report
from .templating import render

# (server path, template, extra template variables)
HOOKS = (
    ("/etc/kernel/postinst.d/sunray-modules", "kernel-postinst-sunray.sh.j2",
     {"task": "rebuild-modules", "when": "after a kernel is installed",
      "what": "builds the Sun Ray (SRSS) kernel modules for VERSION"}),
    ("/etc/kernel/header_postinst.d/sunray-modules", "kernel-postinst-sunray.sh.j2",
     {"task": "rebuild-modules", "when": "Debian: after linux-headers-VERSION is installed",
      "what": "builds the Sun Ray (SRSS) kernel modules for VERSION"}),
    ("/etc/kernel/postrm.d/sunray-modules", "kernel-postinst-sunray.sh.j2",
     {"task": "remove-modules", "when": "after a kernel is removed",
      "what": "deletes the SRSS modules and record sunray made for VERSION"}),
    ("/etc/kernel/install.d/85-sunray.install", "kernel-install-sunray.install.j2", {}),
)

# Rendered into shell scripts between single quotes: no quotes, no blanks.
_PROGRAM_RE = re.compile(r"^/[A-Za-z0-9._+/-]+$")


def program_path(config):
    """The sunray program the hooks call: sunray.program, else `sunray` on
    PATH, else /usr/bin/sunray."""
    program = config.get("program") or shutil.which("sunray") or "/usr/bin/sunray"
    if not _PROGRAM_RE.match(program) or "/../" in program:
        raise UsageError(f"sunray.program {program!r}: expected an absolute path "
                         "without blanks or quotes")
    return program


def render_hooks(config):
    """{server path: script text} of every hook."""
    program = program_path(config)
    strict = bool((config.get("modules") or {}).get("hook_strict"))
    return {path: render(template, path=path, program=program, strict=strict, **extra)
            for path, template, extra in HOOKS}


def install(root, config, dry_run=False, revert=False):
    report = Report(task="install-kernel-hooks", root=str(root.top), dry_run=dry_run)
    editor = FileEditor(root, dry_run=dry_run, state_dir=config.get("state_dir", "/var/lib/sunray"))
    if revert:
        for path, _, _ in HOOKS:
            report.add(editor.revert(path))
        return report
    for path, text in render_hooks(config).items():
        report.add(editor.write(path, text, mode=0o755))
    return report
