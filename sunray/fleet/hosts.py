"""The hosts of a fleet: ``[user@]host[:port]`` and the words checked for a
remote command line (roots, program and Python paths)."""

import re
from dataclasses import dataclass
from typing import Optional

from ..core.errors import UsageError

_USER = re.compile(r"[A-Za-z_][A-Za-z0-9._-]{0,31}")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+")
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._+@%/-]*")
_PROGRAM = re.compile(r"[A-Za-z0-9._+@%/-]+")


@dataclass(frozen=True)
class Target:
    """One host to run on, with its own root, program and Python (for the
    pushed pyz) when the inventory says so."""

    user: Optional[str] = None
    host: str = ""
    port: Optional[int] = None
    root: Optional[str] = None
    program: Optional[str] = None
    python: Optional[str] = None

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
