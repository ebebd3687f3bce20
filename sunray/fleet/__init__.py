"""One sunray task on many servers over SSH (Fabric 3), N hosts at a time.

Every host runs ``<program> TASK --format json [--dry-run] [--root DIR]``;
the command line is built with ``shlex.join`` from a list of validated words,
never from text pasted into a shell string. Each host's exit code, JSON
report (or why there is none: unreachable, authentication, unknown host key,
output that is not JSON...) and time are collected; a host that fails never
stops the others.

Concurrency: a ThreadPoolExecutor of ``--parallel N`` workers, each with one
Fabric ``Connection``. Fabric's ``ThreadingGroup`` would start one thread per
host at once (no limit), and running it batch by batch makes every batch
wait for its slowest host; a pool keeps N hosts busy until the list is done.
Fabric and paramiko are imported only when a fleet runs: ``sunray --help``
stays fast.

Hosts without sunray run the sunray pyz, sent once by checksum (``push``);
``~/.ssh/config`` and ProxyJump hops are applied in ``ssh``.
"""

import json
import os
import re
import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ..core import tasklist
from ..core.errors import UsageError
from .hosts import Target, check_program, check_remote_root, parse_host

TASKS = tasklist.FLEET_TASKS
DRY_RUN_TASKS = tasklist.FLEET_DRY_RUN_TASKS
MAX_PARALLEL = 256

_INVENTORY_KEYS = {"host", "root", "program", "python"}


# --- where the hosts come from ------------------------------------------------------


def _read_local(path, what):
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read {what}: {getattr(e, 'strerror', None) or e}") from None


def hosts_from_file(path: Union[str, Path]) -> List[Target]:
    """Hosts of a file: one per line, blank lines and '#' comments ignored."""
    targets = []
    for number, line in enumerate(_read_local(path, "hosts file").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            try:
                targets.append(parse_host(line))
            except UsageError as e:
                raise UsageError(f"{path}:{number}: {e}") from None
    return targets


def hosts_from_inventory(path: Union[str, Path], groups: Sequence[str] = ()) -> List[Target]:
    """Hosts of an inventory: sunray's YAML ``groups: {NAME: [host | {host:, root:,
    program:}]}``, or an Ansible inventory, YAML or INI (see ansible_inventory)."""
    from ..core.yamlload import load_bounded_yaml

    text = _read_local(path, "inventory")
    # Bounded (size, aliases, depth), a key given twice refused, read with
    # the YAML every install has (sunray.core.yamlload).
    try:
        data = load_bounded_yaml(text, str(path))
    except UsageError:
        if not re.search(r"(?m)^\s*\[[^\]\n]+\]\s*$", text):
            raise
        data = None  # an INI inventory: [group] lines
    if not isinstance(data, dict) or "groups" not in data:
        return _ansible_hosts(path, text, data, groups)
    if not isinstance(data.get("groups"), dict):
        raise UsageError(f"{path}: expected a mapping with 'groups: {{NAME: [hosts]}}'")
    known = data["groups"]
    for name in groups:
        if name not in known:
            raise UsageError(f"{path}: no group {name!r} (groups: {', '.join(map(str, known))})")
    targets = []
    for name in groups or list(known):
        entries = known[name] or []
        if not isinstance(entries, list):
            raise UsageError(f"{path}: group {name!r}: expected a list of hosts")
        for entry in entries:
            targets.append(_inventory_entry(entry, f"{path}: group {name!r}"))
    return targets


def _ansible_hosts(path, text, data, groups):
    from . import ansible_inventory

    if isinstance(data, dict) and ansible_inventory.is_ansible_yaml(data):
        hosts, members = ansible_inventory.from_yaml(data, str(path))
    elif data is None or isinstance(data, str):
        hosts, members = ansible_inventory.from_ini(text, str(path))
    else:
        raise UsageError(f"{path}: expected sunray's 'groups: {{NAME: [hosts]}}' or an Ansible "
                         "inventory (YAML or INI)")
    for name in groups:
        if name not in members:
            raise UsageError(f"{path}: no group {name!r} (groups: {', '.join(sorted(members))})")
    chosen = [h for name in groups for h in members[name]] if groups else list(hosts)
    targets = []
    for name in dict.fromkeys(chosen):
        spec, python = ansible_inventory.spec_of(name, hosts[name])
        try:
            target = parse_host(spec)
            if python:
                target = replace(target, python=check_program(python, "ansible_python_interpreter"))
        except UsageError as e:
            raise UsageError(f"{path}: host {name!r}: {e}") from None
        targets.append(target)
    return targets


def _inventory_entry(entry, where):
    if isinstance(entry, str):
        return parse_host(entry)
    if not isinstance(entry, dict) or "host" not in entry:
        raise UsageError(f"{where}: expected a host string or a mapping with 'host:'")
    unknown = set(entry) - _INVENTORY_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
                         f"(allowed: {', '.join(sorted(_INVENTORY_KEYS))})")
    target = parse_host(entry["host"])
    where = f"{where}: host {entry['host']!r}"
    root = check_remote_root(entry["root"], where) if entry.get("root") else None
    program = check_program(entry["program"], where) if entry.get("program") else None
    python = check_program(entry["python"], where) if entry.get("python") else None
    return Target(target.user, target.host, target.port, root, program, python)


def targets_of(hosts: Optional[str] = None, hosts_file: Optional[str] = None,
               inventory: Optional[str] = None, groups: Sequence[str] = ()) -> List[Target]:
    """Every host named by --hosts, --hosts-file and --inventory/--group, in order, once."""
    if groups and not inventory:
        raise UsageError("--group needs --inventory FILE")
    targets = []
    if hosts:
        targets += [parse_host(h) for h in str(hosts).split(",") if h.strip()]
    if hosts_file:
        targets += hosts_from_file(hosts_file)
    if inventory:
        targets += hosts_from_inventory(inventory, groups)
    unique = list(dict.fromkeys(targets))
    if not unique:
        raise UsageError("no hosts: give --hosts a,b,c, --hosts-file FILE or --inventory FILE")
    return unique


# --- the command each host runs ---------------------------------------------------------


def remote_argv(target: Target, task: str, fleet_settings: Dict[str, Any], dry_run: bool = False,
                root: Optional[str] = None) -> List[str]:
    """The remote command as a list of words (validated; joined with shlex.join)."""
    if task not in TASKS:
        raise UsageError(f"--task {task!r}: expected one of {', '.join(TASKS)}")
    if dry_run and task not in DRY_RUN_TASKS:
        raise UsageError(f"--dry-run: {task} changes nothing anyway")
    program = target.program or check_program(fleet_settings.get("program") or "sunray",
                                              "sunray.fleet.program")
    argv = ["sudo", "-n", "--"] if fleet_settings.get("sudo") else []
    return argv + [program] + task_words(target, task, dry_run, root)


def task_words(target: Target, task: str, dry_run: bool = False,
               root: Optional[str] = None) -> List[str]:
    """The words after the program: ``TASK --format json [--dry-run] [--root DIR]``."""
    words = [task, "--format", "json"] + (["--dry-run"] if dry_run else [])
    root = target.root or (check_remote_root(root, "--root") if root else None)
    return words + (["--root", root] if root else [])


# --- results ----------------------------------------------------------------------------


@dataclass
class HostResult:
    host: str
    status: str  # ok | failed | unreachable | auth-failed | host-key | timeout | bad-output | usage-error | error
    exit_code: Optional[int] = None
    seconds: float = 0.0
    summary: str = ""
    result: Optional[dict] = None  # the remote task's JSON report
    stderr: str = ""  # the end of the remote stderr (warnings, the error line)
    pyz: Optional[dict] = None  # --push: {action: kept|sent|would-send|failed, bytes, path, sha256}

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "would-push")

    def to_dict(self) -> Dict[str, Any]:
        return {"host": self.host, "status": self.status, "ok": self.ok,
                "exit_code": self.exit_code, "seconds": round(self.seconds, 3),
                "summary": self.summary, "result": self.result, "stderr": self.stderr,
                "pyz": self.pyz}


@dataclass
class FleetReport:
    task: str
    parallel: int
    hosts: list = field(default_factory=list)  # HostResult, in the order given
    seconds: float = 0.0
    warnings: list = field(default_factory=list)

    @property
    def failed(self) -> List[HostResult]:
        return [h for h in self.hosts if not h.ok]

    @property
    def failure(self) -> str:
        failed = self.failed
        if not failed:
            return ""
        return (f"{len(failed)} of {len(self.hosts)} host(s) failed: "
                + ", ".join(f"{h.host} ({h.status})" for h in failed))

    def to_dict(self) -> Dict[str, Any]:
        return {"task": "fleet", "remote_task": self.task, "parallel": self.parallel,
                "seconds": round(self.seconds, 3),
                "hosts": [h.to_dict() for h in self.hosts],
                "failed": [h.host for h in self.failed],
                "failure": self.failure or None}

    def to_text(self) -> str:
        header = ("HOST", "STATUS", "EXIT", "TIME", "SUMMARY")
        rows = [(h.host, h.status.upper(), "-" if h.exit_code is None else str(h.exit_code),
                 f"{h.seconds:.1f}s", h.summary) for h in self.hosts]
        widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths)) + "  " + r[4]
                 for r in [header] + rows]
        lines.append("")
        lines.append(f"fleet {self.task}: {len(self.hosts)} host(s), "
                     f"{len(self.hosts) - len(self.failed)} ok, {len(self.failed)} failed, "
                     f"{self.seconds:.1f}s ({self.parallel} at a time)")
        return "\n".join(lines)


def summarize(task: str, data: Dict[str, Any]) -> str:
    """One line from a remote task's JSON report."""
    if task == "doctor" and isinstance(data.get("summary"), dict):
        counts = data["summary"]
        line = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "warn", "fail"))
        bad = [c.get("id", "?") for c in data.get("checks", [])
               if isinstance(c, dict) and c.get("status") == "fail"]
        return line + (f": {', '.join(map(str, bad))}" if bad else "")
    if data.get("failure"):
        return str(data["failure"])
    if "changed" in data:
        return "changed" if data["changed"] else "nothing to change"
    return "done"


def judge(task: str, exit_code: Optional[int], stdout: str,
          stderr: str) -> Tuple[str, str, Optional[Dict[str, Any]]]:
    """(status, summary, parsed JSON) of a finished remote command."""
    last = (stderr.strip().splitlines() or [""])[-1][:300]
    if exit_code == 127:
        return "error", f"program not found on the host (sunray.fleet.program): {last}", None
    try:
        data = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        if exit_code == 2:
            return "usage-error", last or "remote usage error (exit 2)", None
        what = "no output" if not stdout.strip() else "output is not a JSON report"
        return "bad-output", f"{what} (exit {exit_code}){': ' + last if last else ''}", None
    summary = summarize(task, data)
    if exit_code == 0:
        return "ok", summary, data
    return "failed", summary, data


# --- SSH --------------------------------------------------------------------------------


def _missing(res, fleet_settings) -> bool:
    """The remote program is not there: exit 127 (the shell), or sudo's own
    "command not found" (exit 1)."""
    if res.exited == 127:
        return True
    return bool(fleet_settings.get("sudo")) and res.exited == 1 and \
        "command not found" in res.stderr and res.stderr.startswith("sudo:")


def run_on_host(target: Target, argv: List[str], task: str, fleet_settings: Dict[str, Any],
                route: Optional[Dict[str, Any]] = None, push_plan: Optional[Dict[str, Any]] = None,
                dry_run: bool = False, root: Optional[str] = None) -> HostResult:
    """Run ``argv`` on one host (with --push: the kept pyz, sent first when it
    differs); never raises for a host's problem."""
    from . import push, ssh

    start = time.monotonic()
    conn = None
    push_plan = push_plan or {"mode": "never", "bundle": None}
    bundle = push_plan.get("bundle")
    try:
        route = route or ssh.plan(target, fleet_settings, ssh.load_ssh_config(fleet_settings))
        conn = ssh.connect(route, fleet_settings)
        res = None
        if not (bundle and push_plan["mode"] == "always"):
            res = conn.run(shlex.join(argv), hide=True, warn=True, in_stream=False, pty=False,
                           timeout=float(fleet_settings.get("command_timeout") or 1800))
            if not (bundle and _missing(res, fleet_settings)):
                status, summary, data = judge(task, res.exited, res.stdout, res.stderr)
                if res.exited == 127 and not bundle:
                    summary += " (--push --pyz FILE runs the sunray pyz instead)"
                return HostResult(target.name, status, res.exited, time.monotonic() - start,
                                  summary, data, stderr=res.stderr[-2000:])
        got = push.run_pushed(conn, target, fleet_settings, push_plan,
                              task_words(target, task, dry_run, root), dry_run)
        sent = got["pyz"]
        seconds = time.monotonic() - start
        if sent["action"] == "would-send":
            return HostResult(target.name, "would-push", None, seconds,
                              f"would send sunray.pyz ({sent['bytes']} bytes) to {sent['path']}, "
                              f"then run {task} --dry-run from it", pyz=sent)
        if sent["action"] == "failed":
            last = (got["stderr"].strip().splitlines() or ["no reason given"])[-1][:300]
            return HostResult(target.name, "push-failed", got["exited"], seconds,
                              f"sunray.pyz not kept in {sent['path']}: {last}",
                              stderr=got["stderr"][-2000:], pyz=sent)
        status, summary, data = judge(task, got["exited"], got["stdout"], got["stderr"])
        if got["exited"] == 127:
            summary = ("python not found on the host (inventory python: or "
                       f"ansible_python_interpreter, sunray.fleet.python): {summary}")
        if sent["action"] == "sent":
            summary = f"sunray.pyz sent ({sent['bytes']} bytes); {summary}"
        return HostResult(target.name, status, got["exited"], seconds, summary, data,
                          stderr=got["stderr"][-2000:], pyz=sent)
    except Exception as exc:  # one host's trouble is that host's result
        status, summary = ssh.failure(exc)
        return HostResult(target.name, status, None, time.monotonic() - start, summary)
    finally:
        if conn is not None:
            ssh.close(conn)


def check_settings(fleet_settings: Dict[str, Any]) -> Dict[str, Any]:
    """Refuse bad sunray.fleet values before any host is contacted."""
    for key in ("connect_timeout", "command_timeout"):
        value = fleet_settings.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or value <= 0):
            raise UsageError(f"sunray.fleet.{key}: expected a number of seconds, not {value!r}")
    for key in ("identity", "known_hosts", "python", "pyz"):
        value = fleet_settings.get(key)
        if value is not None and not isinstance(value, str):
            raise UsageError(f"sunray.fleet.{key}: expected a file name, not {value!r}")
    identity = fleet_settings.get("identity")
    if identity and not os.path.isfile(os.path.expanduser(identity)):
        raise UsageError(f"sunray.fleet.identity: {identity}: no such key file")
    known_hosts = os.path.expanduser(fleet_settings.get("known_hosts") or "~/.ssh/known_hosts")
    if os.path.exists(known_hosts):
        from paramiko.hostkeys import HostKeys

        try:
            HostKeys(known_hosts)
        except Exception as e:  # paramiko raises several kinds for a broken file
            raise UsageError(f"sunray.fleet.known_hosts: {known_hosts}: unreadable: {e}") from None
    return fleet_settings


def run(settings: Dict[str, Any], hosts: Optional[str] = None, hosts_file: Optional[str] = None,
        inventory: Optional[str] = None, groups: Sequence[str] = (), task: str = "doctor",
        dry_run: bool = False, root: Optional[str] = None,
        parallel: Union[int, str, None] = None, push: bool = False,
        pyz: Optional[str] = None) -> FleetReport:
    """Run ``task`` on every host, ``parallel`` at a time; a FleetReport in host order.

    ``push``: run the sunray pyz (``pyz``, sunray.fleet.pyz or the running
    one), sent to a host whose kept copy differs; without it the pyz is sent
    only to hosts where the program is missing (sunray.fleet.push)."""
    import logging

    from ..core.optional import require

    targets = targets_of(hosts, hosts_file, inventory, groups)
    for module in ("fabric", "paramiko"):  # before any setting needs them, and any host
        require(module, "fleet")
    from . import push as pushing
    from . import ssh

    fleet_settings = check_settings(settings.get("fleet") or {})
    push_plan = pushing.check_settings(fleet_settings, push, pyz)
    commands = [remote_argv(t, task, fleet_settings, dry_run=dry_run, root=root) for t in targets]
    if push_plan["bundle"]:
        for t in targets:
            pushing.remote_command(fleet_settings, t, [])  # sunray.fleet.python checked now
    routes = ssh.routes_of(targets, fleet_settings)
    parallel = parallel if parallel is not None else fleet_settings.get("parallel", 8)
    try:
        parallel = int(parallel)
    except (TypeError, ValueError):
        parallel = 0
    if not 1 <= parallel <= MAX_PARALLEL:
        raise UsageError(f"--parallel: expected a number from 1 to {MAX_PARALLEL}")
    # paramiko logs every failed connection with a traceback; the table says it in one line.
    logging.getLogger("paramiko").addHandler(logging.NullHandler())
    logging.getLogger("paramiko").propagate = False

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=min(parallel, len(targets))) as pool:
        futures = [pool.submit(run_on_host, t, argv, task, fleet_settings, route=route,
                               push_plan=push_plan, dry_run=dry_run, root=root)
                   for t, argv, route in zip(targets, commands, routes)]
        results = [f.result() for f in futures]
    report = FleetReport(task=task, parallel=parallel, hosts=results,
                         seconds=time.monotonic() - start)
    if not fleet_settings.get("strict_host_keys", True):
        report.warnings.append("sunray.fleet.strict_host_keys is off: unknown host keys were accepted")
    return report
