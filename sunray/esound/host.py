"""Whether the build host is the distribution a source RPM was made for.

build-esound builds on the host it runs on, meant to be the Sun Ray server
itself. A RHEL 6 SRPM built on a Debian host (or on RHEL 5) gets that host's
compiler and libraries, so build-esound says so in one line before building.
The SRPM's dist tag (``3.1.el6``, ``2.fc12``) names its target; the host is
read from /etc/os-release, or /etc/redhat-release on RHEL 5 and 6, which
have no os-release.
"""

import re
from typing import Dict, Optional, Tuple

OS_RELEASE = "/etc/os-release"
REDHAT_RELEASE = "/etc/redhat-release"
_DIST = re.compile(r"\.(el|fc)(\d+)")
_EL_IDS = ("rhel", "centos", "ol", "scientific", "rocky", "almalinux", "redhat")
_REDHAT_VERSION = re.compile(r"release\s+(\d+)")


def target_of(release: str) -> Optional[Tuple[str, str]]:
    """("el", "6") for a release like ``3.1.el6`` (None without a dist tag)."""
    m = _DIST.search(release)
    return (m.group(1), m.group(2)) if m else None


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _os_release(text: str) -> Dict[str, str]:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip("\"'")
    return fields


def host_distribution(os_release: str = OS_RELEASE,
                      redhat_release: str = REDHAT_RELEASE) -> Optional[Tuple[str, str, str]]:
    """(family "el"/"fc"/other ID, major version, pretty name) of this host, or None."""
    text = _read(os_release)
    if text is not None:
        fields = _os_release(text)
        ids = [fields.get("ID", "")] + fields.get("ID_LIKE", "").split()
        major = fields.get("VERSION_ID", "").split(".")[0]
        pretty = fields.get("PRETTY_NAME") or fields.get("NAME") or fields.get("ID", "unknown")
        if fields.get("ID") == "fedora":
            return "fc", major, pretty
        if any(i in _EL_IDS for i in ids):
            return "el", major, pretty
        return fields.get("ID", "unknown"), major, pretty
    text = _read(redhat_release)
    if text is not None:
        m = _REDHAT_VERSION.search(text)
        family = "fc" if text.startswith("Fedora") else "el"
        return family, m.group(1) if m else "", text.strip().splitlines()[0] if text.strip() else "Red Hat"
    return None


def host_mismatch(release: str, os_release: str = OS_RELEASE,
                  redhat_release: str = REDHAT_RELEASE) -> Optional[str]:
    """One line when this host is not the distribution ``release`` was made
    for; None when it is, or when either side is unknown."""
    target = target_of(release)
    host = host_distribution(os_release, redhat_release)
    if target is None or host is None:
        return None
    family, major, pretty = host
    if (family, major) == target:
        return None
    return (f"building the {target[0]}{target[1]} source RPM on {pretty}: the RPMs get this host's "
            f"compiler and libraries; build on the {target[0]}{target[1]} server itself to match it")
