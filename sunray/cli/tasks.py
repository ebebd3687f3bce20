"""Sun Ray server maintenance tasks.

Run them as ``invoke TASK`` in a checkout or ``sunray TASK`` anywhere.
Every task that touches the system takes ``--root DIR`` (work on DIR as if it
were /); every task that changes files takes ``--dry-run``.
Exit status: 0 done (or nothing to do), 1 the job failed, 2 bad input or usage.

This file stays thin and fast to import: each task parses its flags, calls
one function in the sunray package, and prints the result.
"""

import sys
from typing import List, Optional

import invoke
from invoke import Collection

from sunray.cli.output import check_format, finish, guarded, root_of, settings
from sunray.cli.savings_task import savings  # noqa: F401 (its own file, this namespace)
from sunray.cli.taskdef import task
from sunray.core import tasklist
from sunray.core.config import defaults
from sunray.core.errors import UsageError
from sunray.tmpclean import registry as tmpclean_registry  # names only: light to import

ROOT_HELP = "Work on the tree under DIR as if it were / (default: /, or sunray.root)."
DRY_RUN_HELP = "Show the diff or plan; change nothing."
FORMAT_HELP = "Output format: text or json (one JSON document on stdout)."
REVERT_HELP = "Undo what this task installed: restore the saved originals."
DOCTOR_FORMATS = ("text", "json", "nagios", "prometheus")


# --- /tmp cleaners, /tmp/.esd, boot hook ---------------------------------


@task(
    help={
        "root": ROOT_HELP,
        "cleaner": "Which cleaner to protect against: auto (every one found), "
        f"{tmpclean_registry.spoken()}.",
        "dry_run": DRY_RUN_HELP,
        "revert": REVERT_HELP,
        "format": FORMAT_HELP,
    }
)
@guarded
def patch_tmpwatch(c: invoke.Context, root: Optional[str] = None, cleaner: str = "auto",
                   dry_run: bool = False, revert: bool = False, format: str = "text") -> None:
    """Stop the daily /tmp cleaner from deleting /tmp/SUNWut and /tmp/.esd.

    Finds every /tmp cleaner sunray knows (the --cleaner names) under the root
    and adds an exclusion for every protected path (sunray.tmp.protect) to the
    file that configures it. Safe to run again: a second run changes nothing.
    """
    from sunray.tmpclean.core import patch

    check_format(format)  # before any change, not after
    result = patch(
        root_of(c, root, writes=not dry_run),
        settings(c),
        cleaner=cleaner,
        dry_run=dry_run,
        revert=revert,
    )
    finish(result, format)


@task(help={"root": ROOT_HELP, "dry_run": DRY_RUN_HELP, "format": FORMAT_HELP,
            "revert": "Put back what the first esd-dir run found (the symlink, or "
            "what it moved aside), removing the directory it made when empty."})
@guarded
def esd_dir(c: invoke.Context, root: Optional[str] = None, dry_run: bool = False,
            revert: bool = False, format: str = "text") -> None:
    """Make /tmp/.esd a root-owned directory with mode 1777, safely, now.

    Whatever is there already (symlink, file, another user's directory) is
    never followed: it is repaired or moved aside, and the report says what
    was found. SRSS sound (esd) fails without this directory.
    """
    from sunray.esddir.fix import ensure

    check_format(format)  # before any change, not after
    finish(ensure(root_of(c, root, writes=not dry_run), settings(c), dry_run=dry_run, revert=revert),
           format)


@task(
    help={
        "root": ROOT_HELP,
        "init": "auto, sysv or systemd. auto: systemd when the root has "
        "/run/systemd/system, or /sbin/init resolves to systemd; sysv when "
        "/sbin/init is something else; with no /sbin/init, systemd when "
        "(/usr)/lib/systemd/systemd and /etc/systemd/system exist, else sysv "
        "when /etc/rc.d/init.d or /etc/init.d exists; else exit 2 asking for --init.",
        "dry_run": DRY_RUN_HELP,
        "revert": REVERT_HELP,
        "format": FORMAT_HELP,
    }
)
@guarded
def install_boot_hook(c: invoke.Context, root: Optional[str] = None, init: str = "auto",
                      dry_run: bool = False, revert: bool = False, format: str = "text") -> None:
    """Run `sunray boot` at every boot, before SRSS starts.

    SysV: an init script with chkconfig and LSB headers plus rc?.d links.
    systemd: a oneshot unit ordered before utsvc/utstorage, enabled, plus the
    tmpfiles.d drop-in. Warns when /tmp is mounted nodev.
    """
    from sunray.boot import hook

    check_format(format)  # before any change, not after
    result = hook.install(
        root_of(c, root, writes=not dry_run), settings(c), init=init, dry_run=dry_run, revert=revert
    )
    finish(result, format)


@task(help={"root": ROOT_HELP, "format": FORMAT_HELP})
@guarded
def boot(c: invoke.Context, root: Optional[str] = None, format: str = "text") -> None:
    """Boot-time check, run by the boot hook before SRSS starts.

    Creates /tmp/.esd safely and makes sure the SRSS kernel modules exist for
    the running kernel (rebuilding them when missing or stale).
    """
    from sunray.boot import run as boot_run

    check_format(format)
    finish(boot_run.boot(root_of(c, root, writes=True), settings(c)), format)


# --- doctor and fleet --------------------------------------------------


@task(help={"root": ROOT_HELP,
            "format": "Output format: text, json, nagios (a Nagios/Icinga plugin: exit 0 OK, "
            "1 WARNING, 2 CRITICAL, 3 UNKNOWN) or prometheus (metrics in the text format).",
            "output": "With --format prometheus: write the metrics to FILE.prom whole (temporary "
            "file, then rename; mode 0644), for node_exporter's textfile collector."})
@guarded
def doctor(c: invoke.Context, root: Optional[str] = None, format: str = "text",
           output: Optional[str] = None) -> None:
    """Say whether this Sun Ray server is right: one line per check, with the fix.

    Each check is ok, warn or fail (skip: does not apply here); a warn or fail
    line shows the command that fixes it. Changes nothing. Exit 1 when any
    check fails, so cron can call it. For monitoring: --format nagios (the
    plugin's exit codes and status line), --format prometheus [--output FILE]
    (exit 0 once the metrics are out: the state is in them).
    """
    from sunray.cli.output import doctor_output

    check_format(format, DOCTOR_FORMATS)
    if output is not None and format != "prometheus":
        raise UsageError("--output FILE goes with --format prometheus")
    doctor_output(root_of(c, root), settings(c), format, output)


@task(help={"root": ROOT_HELP,
            "init": "auto, sysv or systemd (told apart as for install-boot-hook). systemd: a "
            "timer and a oneshot service; sysv: an /etc/cron.d entry.",
            "interval": "Every N minutes (1 to 1440, default 5; cron: N divides 60, or whole "
            "hours dividing 24).",
            "output": "The metrics file (default /var/lib/prometheus/node-exporter/sunray.prom): "
            "a FILE.prom in node_exporter's --collector.textfile.directory.",
            "dry_run": DRY_RUN_HELP, "revert": REVERT_HELP, "format": FORMAT_HELP})
@guarded
def install_doctor_timer(c: invoke.Context, root: Optional[str] = None, init: str = "auto",
                         interval: str = "5", output: Optional[str] = None, dry_run: bool = False,
                         revert: bool = False, format: str = "text") -> None:
    """Write this server's health for Prometheus every N minutes.

    Installs a systemd timer (sunray-doctor.timer and .service, enabled) or,
    on SysV, /etc/cron.d/sunray-doctor, running
    `sunray doctor --format prometheus --output FILE` for node_exporter's
    textfile collector. doctor's doctor-timer row then says whether FILE is
    fresh. Alert on sunray_check{status="fail"} == 1.
    """
    from sunray.boot import timer

    check_format(format)
    result = timer.install(root_of(c, root), settings(c), init=init, interval=interval,
                           output=output, dry_run=dry_run, revert=revert)
    finish(result, format)


@task(
    help={
        "hosts": "Comma-separated hosts, each [user@]host[:port].",
        "hosts_file": "File with one host per line ('#' starts a comment).",
        "inventory": "YAML inventory: 'groups: {NAME: [host, ...]}', a host may be "
        "a mapping with host:, root:, program:, python: (for --push); or an Ansible "
        "inventory, YAML or INI (ansible_host, ansible_port, ansible_user, "
        "ansible_python_interpreter).",
        "group": "Only this inventory group (repeatable: --group a --group b).",
        "task": f"The task run on every host: {', '.join(tasklist.FLEET_TASKS)}.",
        "dry_run": "Pass --dry-run to the remote task (not for doctor).",
        "root": "Pass --root DIR to the remote task (an inventory root: wins).",
        "parallel": "At most N hosts at once (default sunray.fleet.parallel, 8).",
        "push": "Run the sunray pyz on every host instead of an installed sunray: sent "
        "to /var/lib/sunray/sunray.pyz when the host's copy differs (by SHA-256), run "
        "with the host's python3. Without it the pyz goes only to hosts without sunray.",
        "pyz": "The pyz to send (./bootstrap dist builds dist/sunray-VERSION.pyz; default "
        "sunray.fleet.pyz, else the pyz this program runs from).",
        "format": FORMAT_HELP,
    },
    iterable=["group"],
)
@guarded
def fleet(c: invoke.Context, hosts: Optional[str] = None, hosts_file: Optional[str] = None,
          inventory: Optional[str] = None, group: Optional[List[str]] = None, task: str = "doctor",
          dry_run: bool = False, root: Optional[str] = None, parallel: Optional[str] = None,
          push: bool = False, pyz: Optional[str] = None, format: str = "text") -> None:
    """Run one sunray task on many servers over SSH, N at a time.

    Each host runs `sunray TASK --format json`; the table has one line per
    host (unreachable, refused, failed or its summary) and --format json gives
    one document for all. A host that fails never stops the others. Exit 1
    when any host failed (a doctor with a failing check counts as failed).
    Hosts without sunray get the sunray pyz (by checksum, once) when one is
    known (--pyz, sunray.fleet.pyz); --push uses it on every host. Reads
    ~/.ssh/config (sunray.fleet.ssh_config).
    """
    from sunray import fleet as fleet_run

    check_format(format)
    result = fleet_run.run(
        settings(c),
        hosts=hosts,
        hosts_file=hosts_file,
        inventory=inventory,
        groups=group or [],
        task=task,
        dry_run=dry_run,
        root=root,
        parallel=parallel,
        push=push,
        pyz=pyz,
    )
    finish(result, format)


# --- apply and demo --------------------------------------------------------


@task(help={"root": ROOT_HELP, "dry_run": "Show every step's diff or plan; change nothing.",
            "revert": "Undo every step, last first (remove-modules for each kernel, then each "
            "step's --revert).", "format": FORMAT_HELP})
@guarded
def apply(c: invoke.Context, root: Optional[str] = None, dry_run: bool = False,
          revert: bool = False, format: str = "text") -> None:
    """Make this Sun Ray server right: every fix in order, then the doctor.

    Runs patch-tmpwatch, esd-dir, install-boot-hook, install-kernel-hooks and
    rebuild-modules, then doctor. A failing step is reported and the others
    still run; exit 1 if any step or check failed. A second run changes nothing;
    apply --revert undoes it all.
    """
    from sunray import apply as apply_steps

    check_format(format)
    finish(apply_steps.run(root_of(c, root, writes=not dry_run), settings(c), dry_run=dry_run, revert=revert), format)


@task(help={"path": "Where to build the sandbox server (default ./demo; an earlier "
            "demo there is replaced, any other directory is refused).",
            "format": FORMAT_HELP})
@guarded
def demo(c: invoke.Context, path: str = "demo", format: str = "text") -> None:
    """Build a sandbox Sun Ray server from the shipped fixtures and fix it with apply.

    The sandbox is a CentOS 6 shaped tree in ./demo (stock tmpwatch job, SRSS
    stand-ins, a stale /tmp/.esd, kernel header links to the host's headers).
    Nothing outside it is changed.
    """
    from sunray import demo as demo_server

    check_format(format)
    finish(demo_server.run(path, settings(c)), format)


# --- esound ---------------------------------------------------------------


@task(
    help={
        "srpm": "The distribution's esound source RPM (esound-*.src.rpm) to rebuild.",
        "tarball": "Build from an upstream tarball (esound-VERSION.tar.gz) with "
        "sunray's own spec instead of an SRPM.",
        "output": "Directory for the built RPMs, the new SRPM and the build log "
        "(default ./dist, or sunray.esound.output).",
        "suffix": "Appended to the Release so the package upgrades the stock one "
        "and is recognisably ours (default oss: 2.el5 -> 2.el5.oss).",
        "allow_root_build": "Allow sunray.esound.build_user to be root: run the "
        "SRPM's build scripts as root (refused otherwise).",
        "dry_run": "Print the spec changes as a diff; build nothing.",
        "format": FORMAT_HELP,
    }
)
@guarded
def build_esound(c: invoke.Context, srpm: Optional[str] = None, tarball: Optional[str] = None,
                 output: Optional[str] = None, suffix: Optional[str] = None,
                 allow_root_build: bool = False, dry_run: bool = False, format: str = "text") -> None:
    """Rebuild esound without ALSA (OSS only) and verify the result.

    Rewrites the spec (configure --disable-alsa, ALSA BuildRequires dropped,
    Release + .oss, a %changelog entry), runs rpmbuild -ba in a private
    temporary tree, checks the RPMs like check-esound and copies them to
    --output. Run as root, rpmbuild runs as sunray.esound.build_user (default
    nobody), never as root unless --allow-root-build. Install the result with
    rpm -Uvh. A failed build prints the end of the build log and keeps the
    whole log in --output.
    """
    from sunray.esound.build import build

    check_format(format)
    result = build(
        settings(c), srpm=srpm, tarball=tarball, output=output, suffix=suffix, dry_run=dry_run,
        allow_root_build=allow_root_build,
    )
    finish(result, format)


@task(
    iterable=["rpm"],
    help={
        "rpm": "A binary esound RPM to check; repeat --rpm for several (esound, esound-devel).",
        "installed": "Check the installed /usr/bin/esd and libesd under --root instead.",
        "root": ROOT_HELP,
        "format": FORMAT_HELP,
    },
)
@guarded
def check_esound(c: invoke.Context, rpm: Optional[List[str]] = None, installed: bool = False,
                 root: Optional[str] = None, format: str = "text") -> None:
    """Prove that esound has no ALSA in it: exit 1 naming the file if it has.

    check-esound --rpm FILE [--rpm FILE ...]   or   check-esound --installed
    For RPMs: no requirement on libasound, no ELF file needing libasound,
    /usr/bin/esd present. With --installed: esd and libesd under the root
    need no libasound (esound not installed at all: says so, exit 0).
    """
    from sunray.esound.scan import check_installed, check_rpms

    check_format(format)
    paths = list(rpm or [])
    if installed and paths:
        raise UsageError("check-esound: give RPM files or --installed, not both")
    if installed:
        result = check_installed(root_of(c, root))
    else:
        result = check_rpms(paths)
    finish(result, format)


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
def rebuild_modules(c: invoke.Context, root: Optional[str] = None, kernel: Optional[List[str]] = None,
                    jobs: Optional[str] = None, force: bool = False, dry_run: bool = False,
                    format: str = "text") -> None:
    """Build and install the SRSS kernel modules (utadem, utdisk, utio) per kernel.

    Builds /usr/src/SUNWut/* for each kernel with its own headers (never the
    running kernel by accident), in parallel, checks vermagic, installs a
    kernel's set into /lib/modules/K/extra/sunray all or nothing, runs depmod
    and checks that modules.dep names them. Up-to-date modules are not
    rebuilt; a run killed or failed half-way is finished by the next one. A
    failed build or install keeps the modules already installed; the table
    shows the log path and the log's tail. Exit 1 when any build failed.
    """
    from sunray.modules.rebuild import rebuild

    check_format(format)
    result = rebuild(root_of(c, root, writes=not dry_run), settings(c), kernels=kernel or None,
                     jobs=jobs, force=force, dry_run=dry_run)
    finish(result, format)


@task(help={"root": ROOT_HELP, "kernel": "The kernel version whose modules to delete.",
            "dry_run": DRY_RUN_HELP, "format": FORMAT_HELP})
@guarded
def remove_modules(c: invoke.Context, root: Optional[str] = None, kernel: Optional[str] = None,
                   dry_run: bool = False, format: str = "text") -> None:
    """Delete the SRSS modules, record and logs this toolkit installed for one kernel.

    Run by the kernel removal hooks; also the undo of rebuild-modules. Touches
    only what the toolkit's record for that kernel lists (the modules, the
    directories it created) and depmod's index, which it gives back as it
    was: made again, or removed when the kernel had none before.
    """
    from sunray.modules.remove import remove

    check_format(format)
    if not kernel:
        raise UsageError("--kernel K is required")
    finish(remove(root_of(c, root, writes=not dry_run), settings(c), kernel, dry_run=dry_run), format)


@task(help={"root": ROOT_HELP, "dry_run": DRY_RUN_HELP, "revert": REVERT_HELP,
            "format": FORMAT_HELP})
@guarded
def install_kernel_hooks(c: invoke.Context, root: Optional[str] = None, dry_run: bool = False,
                         revert: bool = False, format: str = "text") -> None:
    """Rebuild the SRSS modules whenever a kernel is installed; clean up on removal.

    Installs /etc/kernel/postinst.d/sunray-modules (Debian, Ubuntu, RHEL 6/7),
    /etc/kernel/postrm.d/sunray-modules and
    /etc/kernel/install.d/85-sunray.install (systemd kernel-install: Fedora,
    RHEL 8+). Each calls the sunray program for the kernel being installed or
    removed. RHEL 5 runs no such hooks: there `sunray boot` does the rebuild.
    """
    from sunray.modules import kernel_hooks

    check_format(format)
    result = kernel_hooks.install(root_of(c, root, writes=not dry_run), settings(c), dry_run=dry_run, revert=revert)
    finish(result, format)


@task(help={"root": ROOT_HELP, "dry_run": DRY_RUN_HELP, "format": FORMAT_HELP})
@guarded
def export_dkms(c: invoke.Context, root: Optional[str] = None, dry_run: bool = False,
                format: str = "text") -> None:
    """Write the SRSS module sources as a DKMS tree: /usr/src/sunray-ut-VERSION.

    For sites that standardise on DKMS: sources plus a dkms.conf (AUTOINSTALL
    on, one entry per module). Then: dkms add/build/install -m sunray-ut -v VERSION.
    """
    from sunray.modules import dkms_export

    check_format(format)
    finish(dkms_export.export(root_of(c, root, writes=not dry_run), settings(c), dry_run=dry_run), format)


ns = Collection.from_module(sys.modules[__name__], config={"sunray": defaults()})
