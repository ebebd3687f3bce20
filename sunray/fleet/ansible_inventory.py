"""Ansible inventories for ``sunray fleet --inventory``: YAML and INI.

A site keeps one inventory: the hosts of an Ansible inventory, with their
``ansible_host``, ``ansible_port``, ``ansible_user`` and
``ansible_python_interpreter`` (host variables, or a group's ``vars`` /
``[group:vars]``, the host's winning), groups nested with ``children``.
Every other variable is ignored; host patterns (``web[1:3]``), dynamic
inventories and vaults are Ansible's own business and are refused or left
out. Values are checked like every other host (``fleet.parse_host``).
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..core.errors import UsageError

KEYS = ("ansible_host", "ansible_port", "ansible_user", "ansible_python_interpreter")

# host name -> its variables (only KEYS), in the order first seen
Hosts = Dict[str, Dict[str, Any]]


def is_ansible_yaml(data: Any) -> bool:
    """An Ansible YAML inventory: a mapping of groups, each with hosts/children/vars."""
    if not isinstance(data, dict) or "groups" in data or not data:
        return False
    return all(isinstance(g, dict) and set(g) <= {"hosts", "children", "vars"} or g is None
               for g in data.values())


def from_yaml(data: Dict[str, Any], where: str) -> Tuple[Hosts, Dict[str, List[str]]]:
    """(hosts with their variables, group -> host names) of a YAML inventory."""
    hosts: Hosts = {}
    members: Dict[str, List[str]] = {}

    def walk(name: str, group: Any, inherited: Dict[str, Any], seen: Sequence[str]) -> List[str]:
        if name in seen:
            raise UsageError(f"{where}: group {name!r} contains itself")
        group = group or {}
        if not isinstance(group, dict):
            raise UsageError(f"{where}: group {name!r}: expected hosts:, children:, vars:")
        own = dict(inherited, **_vars(group.get("vars"), f"{where}: group {name!r}"))
        names = []
        entries = group.get("hosts") or {}
        if not isinstance(entries, dict):
            raise UsageError(f"{where}: group {name!r}: hosts: expected a mapping of host names")
        for host, hostvars in entries.items():
            host = str(host)
            merged = dict(own, **_vars(hostvars, f"{where}: host {host!r}"))
            hosts.setdefault(host, {}).update(merged)
            names.append(host)
        children = group.get("children") or {}
        if not isinstance(children, dict):
            raise UsageError(f"{where}: group {name!r}: children: expected a mapping of groups")
        for child, body in children.items():
            names += walk(str(child), body, own, list(seen) + [name])
        members.setdefault(name, [])
        members[name] += [n for n in names if n not in members[name]]
        return names

    for name, group in data.items():
        walk(str(name), group, {}, [])
    return hosts, members


def from_ini(text: str, where: str) -> Tuple[Hosts, Dict[str, List[str]]]:
    """(hosts with their variables, group -> host names) of an INI inventory."""
    import shlex

    hosts: Hosts = {}
    members: Dict[str, List[str]] = {"ungrouped": []}
    group_vars: Dict[str, Dict[str, Any]] = {}
    children: Dict[str, List[str]] = {}
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        at = f"{where}:{number}"
        if line.startswith("["):
            if not line.endswith("]"):
                raise UsageError(f"{at}: expected [group], [group:vars] or [group:children]")
            section, _, kind = line[1:-1].partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "vars", "children"):
                raise UsageError(f"{at}: unknown section kind {kind!r}")
            members.setdefault(section, [])
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as e:
            raise UsageError(f"{at}: {e}") from None
        if not words:
            continue
        if kind == "vars":
            group_vars.setdefault(section, {}).update(_pairs(words, at))
        elif kind == "children":
            children.setdefault(section, []).append(words[0])
        else:
            host = words[0]
            if "[" in host and ":" in host:
                raise UsageError(f"{at}: host ranges ({host}) are not supported: list the hosts")
            hosts.setdefault(host, {}).update(_pairs(words[1:], at))
            members[section].append(host)

    def all_hosts(group: str, seen: Sequence[str]) -> List[str]:
        if group in seen:
            raise UsageError(f"{where}: group {group!r} contains itself")
        names = list(members.get(group, []))
        for child in children.get(group, []):
            names += [n for n in all_hosts(child, list(seen) + [group]) if n not in names]
        return names

    resolved = {g: all_hosts(g, []) for g in set(members) | set(children)}
    for group, values in group_vars.items():  # a host's own variables win
        for host in resolved.get(group, []):
            for key, value in values.items():
                hosts[host].setdefault(key, value)
    return hosts, {g: names for g, names in resolved.items() if names}


def _vars(values: Any, where: str) -> Dict[str, Any]:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise UsageError(f"{where}: expected a mapping of variables")
    return {k: v for k, v in values.items() if k in KEYS}


def _pairs(words: List[str], where: str) -> Dict[str, str]:
    out = {}
    for word in words:
        key, equals, value = word.partition("=")
        if not equals:
            raise UsageError(f"{where}: expected NAME=VALUE, not {word!r}")
        if key in KEYS:
            out[key] = value
    return out


def spec_of(name: str, variables: Dict[str, Any]) -> Tuple[str, Optional[str]]:
    """(``[user@]host[:port]`` for fleet.parse_host, the interpreter or None)."""
    host = str(variables.get("ansible_host") or name)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    user = variables.get("ansible_user")
    port = variables.get("ansible_port")
    spec = (f"{user}@" if user else "") + host + (f":{port}" if port not in (None, "") else "")
    python = variables.get("ansible_python_interpreter")
    return spec, (str(python) if python else None)
