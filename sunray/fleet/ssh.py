"""The SSH side of fleet: ~/.ssh/config, Fabric connections, failures in one line.

``~/.ssh/config`` (setting ``sunray.fleet.ssh_config``; empty: not read) is
parsed by paramiko's ``SSHConfig`` and handed to Fabric's ``Config``, so a
host alias gets its ``HostName``, ``User``, ``Port`` and ``IdentityFile``
the way ``ssh`` would. Precedence: what the host string or the inventory
says wins over ssh_config, which wins over the ``sunray.fleet`` defaults
(``user``, ``identity``). ``ProxyJump`` hops are built here, not by
Fabric, so every hop is checked against sunray's known_hosts with sunray's
host key policy (Fabric's own hops would accept any host key).

Everything that comes from ssh_config is checked before the first host is
contacted (``plan``): a host name, user, port or jump hop that fleet would
not accept on the command line is refused the same way.
"""

import os
from typing import Any, Dict, List, Tuple

from ..core.errors import UsageError

DEFAULT_SSH_CONFIG = "~/.ssh/config"
MAX_HOPS = 8


def load_ssh_config(fleet_settings: Dict[str, Any]) -> Any:
    """The parsed ssh_config (a paramiko ``SSHConfig``; empty when not read).

    The default file may be missing; a file named in the setting may not.
    """
    import paramiko

    value = fleet_settings.get("ssh_config", DEFAULT_SSH_CONFIG)
    if value is None:
        value = DEFAULT_SSH_CONFIG
    if not isinstance(value, str):
        raise UsageError(f"sunray.fleet.ssh_config: expected a file name or '', not {value!r}")
    if not value:
        return paramiko.SSHConfig()
    path = os.path.expanduser(value)
    if not os.path.exists(path):
        if value == DEFAULT_SSH_CONFIG:
            return paramiko.SSHConfig()
        raise UsageError(f"sunray.fleet.ssh_config: {value}: no such file ('' reads none)")
    try:
        return paramiko.SSHConfig.from_path(path)
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"sunray.fleet.ssh_config: {value}: cannot read: "
                         f"{getattr(e, 'strerror', None) or e}") from None
    except Exception as e:  # paramiko raises several kinds for a bad line
        raise UsageError(f"sunray.fleet.ssh_config: {value}: {e}") from None


def _lookup(ssh_config, host, where):
    try:
        return ssh_config.lookup(host)
    except Exception as e:  # a Match rule paramiko cannot evaluate, a bad token...
        raise UsageError(f"{where}: ssh_config: {e}") from None


def plan(target: Any, fleet_settings: Dict[str, Any], ssh_config: Any, depth: int = 0) -> Dict[str, Any]:
    """How to reach ``target``: host, user, port, keys and the jump hops
    (each a plan of its own), ssh_config applied and checked. UsageError
    when ssh_config gives something fleet would refuse."""
    from .hosts import parse_host

    where = f"host {target.name}"
    found = _lookup(ssh_config, target.host, where)
    host = target.host
    if "hostname" in found:
        host = parse_host(_bracket(found["hostname"])).host
    user = target.user or found.get("user") or fleet_settings.get("user") or None
    if user and user != target.user:
        parse_host(f"{user}@x")  # the same rule as a host string's user
    port = target.port
    if port is None and "port" in found:
        text = str(found["port"])
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise UsageError(f"{where}: ssh_config Port {text!r}: expected 1-65535")
        port = int(text)
    # ssh_config's IdentityFile first, then sunray.fleet.identity; a missing
    # file is skipped, as ssh does (a `Host *` rule often names id_rsa).
    keys = [os.path.expanduser(k) for k in found.get("identityfile", [])]
    keys = [k for k in keys if os.path.isfile(k)]
    identity = fleet_settings.get("identity")
    if identity:
        keys.append(os.path.expanduser(str(identity)))
    hops = []
    jump = found.get("proxyjump")
    if jump and jump.lower() != "none":
        if depth >= MAX_HOPS:
            raise UsageError(f"{where}: ssh_config ProxyJump: more than {MAX_HOPS} hops (a loop?)")
        for spec in jump.split(","):
            if "://" in spec:
                raise UsageError(f"{where}: ssh_config ProxyJump {spec!r}: use [user@]host[:port]")
            hop = parse_host(spec)
            if hop.host in (target.host, host) and hop.port in (None, port):
                raise UsageError(f"{where}: ssh_config ProxyJump {spec!r} is the host itself")
            hops.append(plan(hop, fleet_settings, ssh_config, depth + 1))
    return {"host": host, "user": user, "port": port or 22, "keys": list(dict.fromkeys(keys)),
            "hops": hops, "name": target.name}


def _bracket(host):
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def connect(route: Dict[str, Any], fleet_settings: Dict[str, Any], gateway: Any = None) -> Any:
    """A Fabric Connection along ``route`` (from ``plan``); the jump hops
    are Connections made the same way, each with sunray's host key rules."""
    import fabric
    import paramiko

    for hop in route["hops"][:1]:
        # ssh's ProxyJump a,b: reach a first, then b through a, then the host.
        gateway = connect(hop, fleet_settings, gateway)
    for hop in route["hops"][1:]:
        gateway = connect(dict(hop, hops=[]), fleet_settings, gateway)
    connect_kwargs: Dict[str, Any] = {"allow_agent": bool(fleet_settings.get("use_agent", True)),
                                      "look_for_keys": not route["keys"]}
    if route["keys"]:
        connect_kwargs["key_filename"] = list(route["keys"])
    # Fabric reads no ssh_config here: plan() already applied it (the same
    # file, checked), and a second lookup would redo HostName on HostName.
    fabric_config = fabric.Config(ssh_config=paramiko.SSHConfig(), lazy=True)
    conn = fabric.Connection(
        route["host"], user=route["user"] or fabric_config.user, port=route["port"],
        config=fabric_config, gateway=gateway if gateway is not None else False,
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


def close(conn: Any) -> None:
    """Close ``conn`` and every jump hop behind it."""
    while conn:
        conn.close()
        conn = getattr(conn, "gateway", None)
        if isinstance(conn, (str, bool)):
            return


def failure(exc: BaseException) -> Tuple[str, str]:
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
    if isinstance(exc, paramiko.ChannelException):
        return "unreachable", f"the jump host could not open the connection: {exc}"
    if isinstance(exc, OSError):
        return "unreachable", exc.strerror or str(exc)
    return "error", f"{type(exc).__name__}: {exc}"


def run_with_input(conn: Any, command: str, data: bytes, timeout: float) -> Tuple[int, str, str]:
    """Run ``command`` with ``data`` on its stdin; (exit code, stdout, stderr).
    Used to send the pyz: its bytes go through the channel, nothing else."""
    conn.open()
    channel = conn.client.get_transport().open_session(timeout=timeout)
    try:
        channel.settimeout(timeout)
        channel.exec_command(command)
        try:
            channel.sendall(data)
            channel.shutdown_write()
        except OSError:
            pass  # the remote side stopped reading: its stderr and exit code say why
        out = channel.makefile("rb").read()
        err = channel.makefile_stderr("rb").read()
        code = channel.recv_exit_status()
    finally:
        channel.close()
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def routes_of(targets: List[Any], fleet_settings: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every target's route, ssh_config read once and checked before connecting."""
    ssh_config = load_ssh_config(fleet_settings)
    return [plan(t, fleet_settings, ssh_config) for t in targets]

