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
"""

import json
import os
import re
import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .core import tasklist
from .core.errors import UsageError

TASKS = tasklist.FLEET_TASKS
DRY_RUN_TASKS = tasklist.FLEET_DRY_RUN_TASKS
MAX_PARALLEL = 256

_USER = re.compile(r"[A-Za-z_][A-Za-z0-9._-]{0,31}")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+")
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._+@%/-]*")
_PROGRAM = re.compile(r"[A-Za-z0-9._+@%/-]+")
_INVENTORY_KEYS = {"host", "root", "program"}


@dataclass(frozen=True)
class Target:
    """One host to run on, with its own root and program when the inventory says so."""

    user: Optional[str] = None
    host: str = ""
    port: Optional[int] = None
    root: Optional[str] = None
    program: Optional[str] = None

    @property
    def name(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (f"{self.user}@" if self.user else "") + host + (f":{self.port}" if self.port else "")


def parse_host(spec: object) -> Target:
    """``[user@]host[:port]`` (``[v6addr]:port`` for IPv6) -> Target; UsageError if bad."""
    if not isinstance(spec, str) or not spec.strip():
        raise UsageError(f"host {spec!r}: expected [user@]host[:port]")
    text = spec.strip()
    user = None
    if "@" in text:
        user, text = text.split("@", 1)
        if not _USER.fullmatch(user):
            raise UsageError(f"host {spec!r}: bad user name {user!r}")
    port_text = None
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not _IPV6.fullmatch(host) or (rest and not rest.startswith(":")):
            raise UsageError(f"host {spec!r}: bad IPv6 address (use [addr]:port)")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text = text.partition(":")
        port_text = port_text if colon else None
        if not _HOSTNAME.fullmatch(host):
            raise UsageError(f"host {spec!r}: bad host name {host!r}")
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise UsageError(f"host {spec!r}: bad port {port_text!r} (1-65535)")
        port = int(port_text)
    return Target(user=user, host=host, port=port)


def check_remote_root(path: object, where: str) -> str:
    if not isinstance(path, str) or not _SAFE_PATH.fullmatch(path) or "/../" in path + "/":
        raise UsageError(f"{where}: root {path!r}: expected an absolute path without blanks or '..'")
    return path


def check_program(program: object, where: str) -> str:
    if not isinstance(program, str) or not _PROGRAM.fullmatch(program) or program.startswith("-"):
        raise UsageError(f"{where}: program {program!r}: expected a path or a program name")
    return program


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
    """Hosts of a YAML inventory ``groups: {NAME: [host | {host:, root:, program:}]}``."""
    from .core.yamlload import load_bounded_yaml

    # Bounded (size, aliases, depth), a key given twice refused, read with
    # the YAML every install has (sunray.core.yamlload).
    data = load_bounded_yaml(_read_local(path, "inventory"), str(path))
    if not isinstance(data, dict) or not isinstance(data.get("groups"), dict):
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
    return Target(target.user, target.host, target.port, root, program)


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
    argv += [program, task, "--format", "json"]
    if dry_run:
        argv.append("--dry-run")
    root = target.root or (check_remote_root(root, "--root") if root else None)
    if root:
        argv += ["--root", root]
    return argv


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

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> Dict[str, Any]:
        return {"host": self.host, "status": self.status, "ok": self.ok,
                "exit_code": self.exit_code, "seconds": round(self.seconds, 3),
                "summary": self.summary, "result": self.result, "stderr": self.stderr}


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


def _connection(target, fleet_settings):
    """A Fabric Connection that uses only what the sunray.fleet settings name:
    no ~/.ssh/config, no /etc/fabric.yaml, host keys from known_hosts."""
    import fabric
    import paramiko

    identity = fleet_settings.get("identity")
    connect_kwargs = {"allow_agent": bool(fleet_settings.get("use_agent", True)),
                      "look_for_keys": not identity}
    if identity:
        connect_kwargs["key_filename"] = [os.path.expanduser(str(identity))]
    fabric_config = fabric.Config(ssh_config=paramiko.SSHConfig(), lazy=True)
    conn = fabric.Connection(
        target.host,
        user=target.user or fleet_settings.get("user") or None,
        port=target.port or 22,
        config=fabric_config,
        connect_timeout=float(fleet_settings.get("connect_timeout") or 10),
        connect_kwargs=connect_kwargs,
    )
    known_hosts = os.path.expanduser(str(fleet_settings.get("known_hosts") or "~/.ssh/known_hosts"))
    if os.path.isfile(known_hosts):
        conn.client.load_host_keys(known_hosts)
    strict = fleet_settings.get("strict_host_keys", True)
    conn.client.set_missing_host_key_policy(
        paramiko.RejectPolicy() if strict else paramiko.WarningPolicy())
    return conn


def _ssh_failure(exc):
    """(status, summary) for an exception raised while connecting or running."""
    import socket

    import paramiko
    from invoke.exceptions import CommandTimedOut

    if isinstance(exc, CommandTimedOut):
        return "timeout", f"remote task still running after {exc.timeout}s (sunray.fleet.command_timeout)"
    if isinstance(exc, paramiko.BadHostKeyException):
        return "host-key", "host key CHANGED: not the host in known_hosts (check before trusting it)"
    if isinstance(exc, paramiko.AuthenticationException):
        return "auth-failed", f"authentication failed: {exc}"
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return "unreachable", "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unreachable", f"unknown host: {exc.strerror or exc}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "unreachable", "connection timed out (sunray.fleet.connect_timeout)"
    if isinstance(exc, paramiko.SSHException) and "known_hosts" in str(exc):
        return "host-key", "unknown host key: add it to sunray.fleet.known_hosts (ssh-keyscan, then check it)"
    if isinstance(exc, OSError):
        return "unreachable", exc.strerror or str(exc)
    return "error", f"{type(exc).__name__}: {exc}"


def run_on_host(target: Target, argv: List[str], task: str, fleet_settings: Dict[str, Any]) -> HostResult:
    """Run ``argv`` on one host; never raises for a host's problem."""
    start = time.monotonic()
    conn = None
    try:
        conn = _connection(target, fleet_settings)
        res = conn.run(shlex.join(argv), hide=True, warn=True, in_stream=False, pty=False,
                       timeout=float(fleet_settings.get("command_timeout") or 1800))
        status, summary, data = judge(task, res.exited, res.stdout, res.stderr)
        return HostResult(target.name, status, res.exited, time.monotonic() - start, summary, data,
                          stderr=res.stderr[-2000:])
    except Exception as exc:  # one host's trouble is that host's result
        status, summary = _ssh_failure(exc)
        return HostResult(target.name, status, None, time.monotonic() - start, summary)
    finally:
        if conn is not None:
            conn.close()


def check_settings(fleet_settings: Dict[str, Any]) -> Dict[str, Any]:
    """Refuse bad sunray.fleet values before any host is contacted."""
    for key in ("connect_timeout", "command_timeout"):
        value = fleet_settings.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or value <= 0):
            raise UsageError(f"sunray.fleet.{key}: expected a number of seconds, not {value!r}")
    for key in ("identity", "known_hosts"):
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
        parallel: Union[int, str, None] = None) -> FleetReport:
    """Run ``task`` on every host, ``parallel`` at a time; a FleetReport in host order."""
    import logging

    from .core.optional import require

    targets = targets_of(hosts, hosts_file, inventory, groups)
    for module in ("fabric", "paramiko"):  # before any setting needs them, and any host
        require(module, "fleet")
    fleet_settings = check_settings(settings.get("fleet") or {})
    commands = [remote_argv(t, task, fleet_settings, dry_run=dry_run, root=root) for t in targets]
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
        futures = [pool.submit(run_on_host, t, argv, task, fleet_settings)
                   for t, argv in zip(targets, commands)]
        results = [f.result() for f in futures]
    report = FleetReport(task=task, parallel=parallel, hosts=results,
                         seconds=time.monotonic() - start)
    if not fleet_settings.get("strict_host_keys", True):
        report.warnings.append("sunray.fleet.strict_host_keys is off: unknown host keys were accepted")
    return report
