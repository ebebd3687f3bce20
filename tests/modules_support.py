"""Helpers shared by the kernel-module tests: sandbox servers with the SRSS
fixture tree and the host's kernel headers linked in."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import IN_CI, PROGRAM, REPO, need, run_sunray

SRSS = REPO / "sunray" / "demo_fixtures" / "srss"  # the demo's SRSS module stand-ins


def host_kernels():
    """At least two kernel versions with headers on this machine (old, update)."""
    from sunray.demo import host_header_kernels

    kernels = [k for k in host_header_kernels() if k.endswith("-amd64")]
    if len(kernels) < 2:
        message = "needs two linux-headers-*-amd64 packages (./bootstrap installs them)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return kernels[-2:]


def make_server(top, kernels):
    """A server tree at top: the SRSS module sources, /etc/debian_version and
    /lib/modules/K/build linked to the host's headers for each kernel."""
    need("make", "gcc", "depmod", "modinfo")
    from sunray.demo import sandbox_kernels

    top = Path(top)
    for d in ("etc", "var/lib", "var/log", "var/tmp", "lib/modules", "tmp"):
        (top / d).mkdir(parents=True, exist_ok=True)
    (top / "etc/debian_version").write_text("12.8\n")
    shutil.copytree(SRSS, top, dirs_exist_ok=True)
    sandbox_kernels(str(top), kernels)
    return top


def rebuild(top, *args, settings_file=None):
    """Run `sunray rebuild-modules --root top ARGS` (with ``-f settings_file``)."""
    extra = ["-f", str(settings_file)] if settings_file else []
    return run_sunray(*extra, "rebuild-modules", "--root", top, *args)


def modinfo(field, path):
    return subprocess.run(["modinfo", "-F", field, str(path)], capture_output=True,
                          text=True, check=True).stdout.strip()


def installed(top, kernel):
    """{name: bytes} of the .ko files installed for kernel."""
    dest = Path(top) / "lib/modules" / kernel / "extra/sunray"
    if not dest.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(dest.glob("*.ko"))}


def record(top, kernel):
    path = Path(top) / "var/lib/sunray/modules" / f"{kernel}.json"
    return json.loads(path.read_text()) if path.exists() else None


def statuses(doc):
    """{(kernel, module): status} of a rebuild-modules JSON document."""
    return {(p["kernel"], p["module"]): p["status"] for p in doc["pairs"]}


ALL_KO = ["utadem.ko", "utdisk.ko", "utdiskctl.ko", "utio.ko"]
MODULES = ["utadem", "utdisk", "utio"]


def sunray_program():
    """The installed `sunray` beside the interpreter the program runs on
    (the venv's console script; .venv36's launcher in the 3.6 tier)."""
    if not os.access(PROGRAM, os.X_OK):
        pytest.skip("needs the sunray program installed next to the test interpreter")
    return str(PROGRAM)
