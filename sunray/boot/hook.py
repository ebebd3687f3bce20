"""The boot hook: run ``sunray boot`` at every boot, before SRSS starts.

``install()`` writes either a SysV init script (RHEL 5/6, and Debian without
systemd) or a systemd oneshot unit (RHEL 7+, Debian), registers it, and warns
when /tmp is mounted nodev. ``status()`` is a read-only look for doctor.
What the hook runs at boot is ``sunray.boot.run.boot()``.

Names (other code relies on them):

* SysV script ``/etc/rc.d/init.d/sunray-boot`` when the root has
  ``/etc/rc.d/init.d`` (RHEL layout), else ``/etc/init.d/sunray-boot``;
  links ``S05sunray-boot`` in rc2-5.d and ``K95sunray-boot`` in rc0,1,6.d
  (``/etc/rc.d/rcN.d`` or ``/etc/rcN.d``);
* systemd unit ``/etc/systemd/system/sunray-boot.service``, enabled by
  ``/etc/systemd/system/multi-user.target.wants/sunray-boot.service``.

What an install writes is recorded in ``<state_dir>/boothook.json`` before
its first write (``record``), so that ``--revert`` removes exactly that
(files, links, and the directories the install had to create), even after
an install killed half-way. Installs and reverts run under the one lock and
a run journal (``sunray.core.journal``).
"""

import glob
import math
import os
import re
import shlex
import shutil
import subprocess
from pathlib import PurePosixPath
from typing import Any, Dict, List, Tuple

from ..core.errors import JobFailed, UsageError
from ..core.fileedit import FileEditor
from ..core.hookprogram import NO_PYTHON, program_path
from ..core.journal import Journal
from ..core.report import Report
from ..core.rootfs import Root, executable
from ..core.subprocesses import run_captured
from ..tmpclean import dropin, tmpmount
from . import record as hook_record

NAME = "sunray-boot"
INITS = ("auto", "sysv", "systemd")

# chkconfig priorities: DKMS's boot rebuilder starts at 04, SRSS at 98. 05
# starts right after DKMS (its module builds are done) and long before SRSS.
START_PRIORITY = "05"
STOP_PRIORITY = "95"  # stop is a no-op; 100 - start, as chkconfig convention
START_LEVELS = ("2", "3", "4", "5")
STOP_LEVELS = ("0", "1", "6")

RHEL_INITD = "/etc/rc.d/init.d"
DEBIAN_INITD = "/etc/init.d"
# The init script, RHEL layout first (where /etc/init.d links to rc.d/init.d).
SCRIPTS = (f"{RHEL_INITD}/{NAME}", f"{DEBIAN_INITD}/{NAME}")
UNIT_DIR = "/etc/systemd/system"
UNIT = f"{UNIT_DIR}/{NAME}.service"
WANTS_LINK = f"{UNIT_DIR}/multi-user.target.wants/{NAME}.service"

_UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.@-]+\.(service|target|socket|mount|path|timer)$")


# --- settings -------------------------------------------------------------


def before_units(settings: Dict[str, Any]) -> List[str]:
    """``sunray.boot.before``: the SRSS units to start before, validated."""
    units = (settings.get("boot") or {}).get("before", [])
    if isinstance(units, str):
        units = units.split()
    for unit in units:
        if not isinstance(unit, str) or not _UNIT_NAME.match(unit):
            raise UsageError(
                f"sunray.boot.before: {unit!r} is not a systemd unit name (like utsvc.service)"
            )
    return list(units)


def boot_timeout(settings: Dict[str, Any]) -> int:
    value = (settings.get("boot") or {}).get("timeout", 600)
    try:
        seconds = math.ceil(float(value))
    except (TypeError, ValueError, OverflowError):
        seconds = 0
    if seconds <= 0:
        raise UsageError(f"sunray.boot.timeout {value!r}: expected a positive number of seconds")
    return seconds


# --- what the root looks like ---------------------------------------------


def _is_dir(root, server_path):
    resolved = root.resolve(server_path)
    return resolved is not None and root.path(resolved).is_dir()


def detect_init(root: Root) -> Tuple[str, str]:
    """``(kind, reason)``: the init system of the root ("sysv" or "systemd")
    and why, by this rule (first match wins):

    1. ``/run/systemd/system`` is a directory (the system runs systemd now) -> systemd;
    2. ``/sbin/init`` exists: systemd when it resolves (inside the root) to a
       file named systemd, else sysv (sysvinit, or upstart which runs the
       rc scripts too);
    3. ``/lib/systemd/systemd`` or ``/usr/lib/systemd/systemd`` exists and
       ``/etc/systemd/system`` is a directory -> systemd;
    4. ``/etc/rc.d/init.d`` or ``/etc/init.d`` is a directory -> sysv;
    5. otherwise: UsageError asking for --init.
    """
    if root.path("/run/systemd/system").is_dir() and not os.path.islink(
        root.path("/run/systemd/system")
    ):
        return "systemd", "/run/systemd/system exists: systemd is running"
    init = root.resolve("/sbin/init")
    if init is not None:
        if PurePosixPath(init).name == "systemd":
            return "systemd", f"/sbin/init is systemd ({init})"
        return "sysv", f"/sbin/init is {init}, not systemd"
    has_systemd = any(root.path(p).is_file() for p in ("/lib/systemd/systemd",
                                                         "/usr/lib/systemd/systemd"))
    if has_systemd and _is_dir(root, UNIT_DIR):
        return "systemd", "systemd and /etc/systemd/system are present"
    for initd in (RHEL_INITD, DEBIAN_INITD):
        if _is_dir(root, initd):
            return "sysv", f"{initd} exists and there is no systemd"
    raise UsageError(
        f"cannot tell the init system of {root.top} (no /sbin/init, no systemd, "
        "no /etc/init.d): say --init sysv or --init systemd"
    )


def sysv_layout(root: Root) -> Tuple[str, str]:
    """(script path, rc directory pattern) for the root's SysV layout."""
    if _is_dir(root, RHEL_INITD):
        return SCRIPTS[0], "/etc/rc.d/rc{}.d"
    return SCRIPTS[1], "/etc/rc{}.d"


def rc_links(rc_pattern: str) -> Dict[str, str]:
    """{link path: target} of the rc?.d links (relative targets, as chkconfig makes)."""
    links = {}
    for level in START_LEVELS:
        links[f"{rc_pattern.format(level)}/S{START_PRIORITY}{NAME}"] = f"../init.d/{NAME}"
    for level in STOP_LEVELS:
        links[f"{rc_pattern.format(level)}/K{STOP_PRIORITY}{NAME}"] = f"../init.d/{NAME}"
    return links


def _use_chkconfig(root):
    return root.is_host and shutil.which("chkconfig") is not None


def _systemd_running(root):
    return root.is_host and os.path.isdir("/run/systemd/system") and shutil.which("systemctl")


# --- /tmp mounted nodev ---------------------------------------------------


def tmp_nodev_warnings(root: Root) -> List[str]:
    """Every reason /tmp is (or will be) mounted nodev, as warning lines
    (a tmp.mount with nodev that nothing enables is not one)."""
    return [f.warning() for f in tmpmount.nodev_findings(root) if f.kind != tmpmount.DORMANT]


# --- install and revert ---------------------------------------------------


def _render_sysv(settings, program):
    from ..core.templating import render
    from ..esddir.place import esd_path

    esd_dir = esd_path(settings)
    start_before = [u[: -len(".service")] for u in before_units(settings) if u.endswith(".service")]
    return render(
        "sunray-boot.init.j2",
        service=NAME,
        start_priority=START_PRIORITY,
        stop_priority=STOP_PRIORITY,
        start_before=start_before,
        esd_dir=esd_dir,
        esd_dir_sh=shlex.quote(esd_dir),
        program_sh=shlex.quote(program),
        timeout=boot_timeout(settings),
        no_python=NO_PYTHON,
    )


def _render_unit(settings, program):
    from ..core.templating import render
    from ..esddir.place import esd_path

    return render(
        "sunray-boot.service.j2",
        path=UNIT,
        esd_dir=esd_path(settings),
        before=before_units(settings),
        program=program,
        timeout=boot_timeout(settings),
    )


def _run(argv, what):
    try:
        proc = run_captured(argv, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise JobFailed(f"{what} failed: {e}") from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise JobFailed(f"{what} failed (exit {proc.returncode})"
                        + (f": {detail[-1]}" if detail else ""))
    return proc


def _run_noted(argv, report, dry_run):
    """Run ``argv`` and note it in the report; a dry run only notes it."""
    command = " ".join(argv)
    if dry_run:
        report.notes.append("would run: " + command)
    else:
        _run(argv, command)
        report.notes.append("ran: " + command)


def install(root: Root, settings: Dict[str, Any], init: str = "auto", dry_run: bool = False,
            revert: bool = False) -> Report:
    """Install (or with ``revert`` remove) the boot hook. Returns a Report."""
    if init not in INITS:
        raise UsageError(f"--init {init!r}: expected one of {', '.join(INITS)}")
    editor = FileEditor(root, dry_run=dry_run, state_dir=settings.get("state_dir", "/var/lib/sunray"))
    report = Report("install-boot-hook", root=str(root.top), dry_run=dry_run)
    if revert:
        with Journal(root, settings, "install-boot-hook", dry_run=dry_run,
                     revert=True) as journal:
            editor.journal = journal
            _revert(root, settings, editor, report)
        report.notes.extend(journal.notes)
        return report

    if init == "auto":
        kind, why = detect_init(root)
        report.notes.append(f"init system: {kind} ({why})")
    else:
        kind = init
        report.notes.append(f"init system: {kind} (--init)")
    program = program_path(settings, root)
    if not os.path.isfile(root.path(program)):
        report.warnings.append(
            f"{program} does not exist under the root: the hook will fail until sunray is "
            "installed there (or set sunray.program)"
        )

    # Everything is rendered and checked before the first write.
    files, links, commands = {}, {}, []
    if kind == "sysv":
        script, rc_pattern = sysv_layout(root)
        files[script] = (_render_sysv(settings, program), 0o755)
        if _use_chkconfig(root):
            commands.append(["chkconfig", "--add", NAME])
        else:
            links = rc_links(rc_pattern)
    else:
        files[UNIT] = (_render_unit(settings, program), 0o644)
        files[dropin.DROPIN] = (dropin.content(settings), 0o644)
        links[WANTS_LINK] = UNIT

    targets = list(files) + list(links)
    record = hook_record.load(root, settings)
    other = "systemd" if kind == "sysv" else "sysv"
    if other in record.get("inits", []):
        report.warnings.append(
            f"a {other} boot hook from an earlier install is still there; "
            "`sunray install-boot-hook --revert` removes both"
        )
    # Refuse before the first write (a directory where a file or link goes,
    # a read-only mount): a bad target never leaves a half install.
    editor.check(files=list(files), links=list(links), what="install the boot hook")
    new_record = hook_record.planned(root, record, kind, files, targets, commands, program)
    with Journal(root, settings, "install-boot-hook", targets, dry_run=dry_run) as journal:
        if not dry_run and new_record != record:
            # Before the first write: a killed install is reverted as a whole.
            hook_record.save(root, settings, new_record)
        for path, (content, mode) in files.items():
            report.add(editor.write(path, content, mode=mode))
        for path, target in links.items():
            report.add(editor.symlink(path, target))
        registered_before = _chkconfig_registered(root)
        for argv in commands:
            if registered_before and not report.changed:
                continue  # chkconfig already knows this very script
            _run_noted(argv, report, dry_run)
        if kind == "systemd" and report.changed and not dry_run and _systemd_running(root):
            _run_noted(["systemctl", "daemon-reload"], report, dry_run=False)
    report.notes.extend(journal.notes)
    report.warnings.extend(tmp_nodev_warnings(root))
    report.data["init"] = kind
    report.data["program"] = program
    return report


def _chkconfig_registered(root):
    if not _use_chkconfig(root):
        return False
    return any(os.path.lexists(p) for level in START_LEVELS
               for p in root.path(f"/etc/rc.d/rc{level}.d").glob(f"S??{NAME}"))


def _all_own_paths(root):
    """Every path an install of either kind may have written (both layouts)."""
    paths = [UNIT, WANTS_LINK]
    for script, pattern in zip(SCRIPTS, ("/etc/rc.d/rc{}.d", "/etc/rc{}.d")):
        paths.append(script)
        paths.extend(rc_links(pattern))
    return paths


def _revert(root, settings, editor, report):
    record = hook_record.load(root, settings)
    paths = list(record.get("paths", []))
    paths += [p for p in _all_own_paths(root) if p not in paths and editor.has_backup(p)]
    if not paths:
        report.notes.append("no boot hook installed by sunray: nothing to revert")
        return
    editor.check_revert(paths)  # all or nothing
    if record.get("chkconfig") and _use_chkconfig(root):
        _run_noted(["chkconfig", "--del", NAME], report, editor.dry_run)
    # Links before the files they point to.
    paths.sort(key=lambda p: (not os.path.islink(root.path(p)), p))
    for path in paths:
        change = editor.revert(path)
        if change.note != "no backup: nothing to revert":
            report.add(change)
    if editor.dry_run:
        return
    for directory in sorted(record.get("dirs", []), key=len, reverse=True):
        try:
            os.rmdir(root.path(directory))  # only when empty: never someone else's files
        except OSError:
            pass
    if _systemd_running(root) and "systemd" in record.get("inits", []):
        _run(["systemctl", "daemon-reload"], "systemctl daemon-reload")
    try:
        os.unlink(hook_record.record_path(root, settings))
    except FileNotFoundError:
        pass


# --- read-only status -----------------------------------------------------


def status(root: Root, settings: Dict[str, Any]) -> Dict[str, Any]:
    """What boot hook is installed under the root, for doctor.

    ``installed`` is sysv, systemd, both or none as install-boot-hook would
    have left it; ``files`` and ``links`` map each expected path to whether it
    is there (links: to the right target). Whether init will run it:
    ``unit``/``unit_enabled``, ``sysv_script`` (the first init script found,
    RHEL or Debian layout), ``sysv_script_runs`` (executable) and
    ``start_links`` (every rc?.d start link, whatever its priority).
    """
    script, rc_pattern = sysv_layout(root)
    files = {script: root.path(script).is_file(), UNIT: root.path(UNIT).is_file()}
    expected_links = dict(rc_links(rc_pattern))
    expected_links[WANTS_LINK] = UNIT
    links = {}
    for path, target in expected_links.items():
        host = root.path(path)
        links[path] = os.path.islink(host) and os.readlink(host) == target
    sysv = files[script] and (all(links[p] for p in rc_links(rc_pattern))
                              or _chkconfig_registered(root))
    systemd = files[UNIT] and links[WANTS_LINK]
    installed = {(True, True): "both", (True, False): "sysv",
                 (False, True): "systemd", (False, False): "none"}[(bool(sysv), bool(systemd))]
    # Whether it will run at boot, as init sees it: any start link counts (an
    # admin or chkconfig may have chosen another priority), either layout.
    scripts = [p for p in SCRIPTS if os.path.lexists(root.path(p))]
    start_links = sorted(root.server_path(p)
                         for pattern in ("/etc/rc.d/rc?.d/S*" + NAME, "/etc/rc?.d/S*" + NAME)
                         for p in glob.glob(str(root.path(pattern))))
    return {
        "installed": installed,
        "files": files,
        "links": links,
        "unit": os.path.lexists(root.path(UNIT)),
        "unit_enabled": os.path.lexists(root.path(WANTS_LINK)),
        "sysv_script": scripts[0] if scripts else None,
        "sysv_script_runs": bool(scripts) and executable(root.path(scripts[0])),
        "start_links": start_links,
        "tmp_nodev": tmp_nodev_warnings(root),
    }
