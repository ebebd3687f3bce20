"""Sun Ray server maintenance tasks.

Run them as ``invoke TASK`` in a checkout or ``sunray TASK`` anywhere.
Every task that touches the system takes ``--root DIR`` (work on DIR as if it
were /); every task that changes files takes ``--dry-run``.
Exit status: 0 done (or nothing to do), 1 the job failed, 2 bad input or usage.

This file stays thin and fast to import: each task parses its flags, calls
one function in the sunray package, and prints the result.
"""

import sys

from invoke import Collection, task

from sunray.config import defaults
from sunray.taskkit import check_format, finish, guarded, root_of, settings

ROOT_HELP = "Work on the tree under DIR as if it were / (default: /, or sunray.root)."
DRY_RUN_HELP = "Show the diff or plan; change nothing."
FORMAT_HELP = "Output format: text or json (one JSON document on stdout)."
REVERT_HELP = "Undo what this task installed: restore the saved originals."


# --- /tmp cleaners, /tmp/.esd, boot hook ---------------------------------


@task(
    help={
        "root": ROOT_HELP,
        "cleaner": "Which cleaner to protect against: auto (every one found), "
        "tmpwatch, tmpfiles or tmpreaper.",
        "dry_run": DRY_RUN_HELP,
        "revert": REVERT_HELP,
        "format": FORMAT_HELP,
    }
)
@guarded
def patch_tmpwatch(c, root=None, cleaner="auto", dry_run=False, revert=False, format="text"):
    """Stop the daily /tmp cleaner from deleting /tmp/SUNWut and /tmp/.esd.

    Finds tmpwatch (/etc/cron.daily/tmpwatch, RHEL 5/6), systemd-tmpfiles
    (/etc/tmpfiles.d, RHEL 7+, Debian) and tmpreaper (/etc/tmpreaper.conf,
    Debian) under the root and adds an exclusion for every protected path
    (sunray.tmp.protect). Safe to run again: a second run changes nothing.
    """
    from sunray import tmpcleaners

    result = tmpcleaners.patch(
        root_of(c, root),
        settings(c),
        cleaner=cleaner,
        dry_run=dry_run,
        revert=revert,
    )
    finish(result, format)


@task(help={"root": ROOT_HELP, "dry_run": DRY_RUN_HELP, "format": FORMAT_HELP})
@guarded
def esd_dir(c, root=None, dry_run=False, format="text"):
    """Make /tmp/.esd a root-owned directory with mode 1777, safely, now.

    Whatever is there already (symlink, file, another user's directory) is
    never followed: it is repaired or moved aside, and the report says what
    was found. SRSS sound (esd) fails without this directory.
    """
    from sunray import esddir

    finish(esddir.ensure(root_of(c, root), settings(c), dry_run=dry_run), format)


@task(
    help={
        "root": ROOT_HELP,
        "init": "auto, sysv or systemd. auto picks systemd when the root has "
        "/run/systemd/system or systemd is PID 1 style (/sbin/init -> systemd), "
        "else sysv.",
        "dry_run": DRY_RUN_HELP,
        "revert": REVERT_HELP,
        "format": FORMAT_HELP,
    }
)
@guarded
def install_boot_hook(c, root=None, init="auto", dry_run=False, revert=False, format="text"):
    """Run `sunray boot` at every boot, before SRSS starts.

    SysV: an init script with chkconfig and LSB headers plus rc?.d links.
    systemd: a oneshot unit ordered before utsvc/utstorage, enabled, plus the
    tmpfiles.d drop-in. Warns when /tmp is mounted nodev.
    """
    from sunray import boothook

    result = boothook.install(
        root_of(c, root), settings(c), init=init, dry_run=dry_run, revert=revert
    )
    finish(result, format)


@task(help={"root": ROOT_HELP, "format": FORMAT_HELP})
@guarded
def boot(c, root=None, format="text"):
    """Boot-time check, run by the boot hook before SRSS starts.

    Creates /tmp/.esd safely and makes sure the SRSS kernel modules exist for
    the running kernel (rebuilding them when missing or stale).
    """
    from sunray import boothook

    finish(boothook.boot(root_of(c, root), settings(c)), format)


# --- kernel modules: rebuild, kernel hooks, DKMS export -------------------


@task(
    iterable=["kernel"],
    help={
        "root": ROOT_HELP,
        "kernel": "Build for kernel version K (repeatable). Default: every kernel "
        "under /lib/modules that has headers. A kernel asked for without headers "
        "is a failure.",
        "jobs": "At most N builds at once (default: sunray.modules.jobs, else the CPU count).",
        "force": "Rebuild even when the modules are up to date.",
        "dry_run": "Show what would be built; build and change nothing.",
        "format": FORMAT_HELP,
    }
)
@guarded
def rebuild_modules(c, root=None, kernel=None, jobs=None, force=False, dry_run=False,
                    format="text"):
    """Build and install the SRSS kernel modules (utadem, utdisk, utio) per kernel.

    Builds /usr/src/SUNWut/* for each kernel with its own headers (never the
    running kernel by accident), in parallel, installs into
    /lib/modules/K/extra/sunray atomically, runs depmod and checks vermagic.
    Up-to-date modules are not rebuilt. A failed build keeps the modules
    already installed; the table shows the log path and the log's tail.
    Exit 1 when any build failed.
    """
    from sunray import kmodules

    check_format(format)
    result = kmodules.rebuild(root_of(c, root), settings(c), kernels=kernel or None,
                              jobs=jobs, force=force, dry_run=dry_run)
    finish(result, format)


@task(help={"root": ROOT_HELP, "kernel": "The kernel version whose modules to delete.",
            "dry_run": DRY_RUN_HELP, "format": FORMAT_HELP})
@guarded
def remove_modules(c, root=None, kernel=None, dry_run=False, format="text"):
    """Delete the SRSS modules, record and logs this toolkit installed for one kernel.

    Run by the kernel removal hooks. Touches only files listed in the
    toolkit's record for that kernel.
    """
    from sunray import kmodules
    from sunray.errors import UsageError

    check_format(format)
    if not kernel:
        raise UsageError("--kernel K is required")
    finish(kmodules.remove(root_of(c, root), settings(c), kernel, dry_run=dry_run), format)


@task(help={"root": ROOT_HELP, "dry_run": DRY_RUN_HELP, "revert": REVERT_HELP,
            "format": FORMAT_HELP})
@guarded
def install_kernel_hooks(c, root=None, dry_run=False, revert=False, format="text"):
    """Rebuild the SRSS modules whenever a kernel is installed; clean up on removal.

    Installs /etc/kernel/postinst.d/sunray-modules (Debian, Ubuntu, RHEL 6/7),
    /etc/kernel/postrm.d/sunray-modules and
    /etc/kernel/install.d/85-sunray.install (systemd kernel-install: Fedora,
    RHEL 8+). Each calls the sunray program for the kernel being installed or
    removed. RHEL 5 runs no such hooks: there `sunray boot` does the rebuild.
    """
    from sunray import kernelhooks

    check_format(format)
    result = kernelhooks.install(root_of(c, root), settings(c), dry_run=dry_run, revert=revert)
    finish(result, format)


@task(help={"root": ROOT_HELP, "dry_run": DRY_RUN_HELP, "format": FORMAT_HELP})
@guarded
def export_dkms(c, root=None, dry_run=False, format="text"):
    """Write the SRSS module sources as a DKMS tree: /usr/src/sunray-ut-VERSION.

    For sites that standardise on DKMS: sources plus a dkms.conf (AUTOINSTALL
    on, one entry per module). Then: dkms add/build/install -m sunray-ut -v VERSION.
    """
    from sunray import dkmsexport

    check_format(format)
    finish(dkmsexport.export(root_of(c, root), settings(c), dry_run=dry_run), format)


ns = Collection.from_module(sys.modules[__name__], config={"sunray": defaults()})
