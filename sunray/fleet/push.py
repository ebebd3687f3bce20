"""fleet --push: run sunray on hosts that do not have it, from the one-file bundle.

The bundle is the pyz ``./bootstrap dist`` builds (``--pyz FILE``, setting
``sunray.fleet.pyz``, else the pyz this program runs from). On the host it
is kept as ``PYZ_DIR/sunray.pyz`` (setting ``sunray.fleet.pyz_dir``,
default ``/var/lib/sunray``): the place, the name and the SHA-256 rule of
the sunray.server Ansible collection, so both find the same copy.

Each host runs a small Python program (``REMOTE``, given with ``-c``; every
word of the command line is quoted with ``shlex.quote``) with the host's
``python3`` (the inventory's ``python:`` / ``ansible_python_interpreter``,
or ``sunray.fleet.python``):

* ``run DIR SHA256 SIZE TASK...``: when the kept copy has that digest, it
  replaces itself with ``python sunray.pyz TASK...`` (one SSH command: a
  second run sends nothing); otherwise it exits ``DIFFERS`` at once;
* ``install DIR SHA256 SIZE``: reads the bundle from stdin, checks its size
  and digest, writes it under a temporary name in DIR (mode 0644), then
  renames it over the kept copy: a killed transfer leaves the old copy or
  the new one, never half of one. DIR is made 0755 when missing, and is
  refused when it is a link, or owned by another user, or writable by
  group or others (the copy is run as root).
"""

import hashlib
import os
import shlex
import zipfile
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from ..core.errors import UsageError

PYZ_NAME = "sunray.pyz"
DEFAULT_DIR = "/var/lib/sunray"
MAX_BYTES = 64 << 20
DIFFERS = 75  # EX_TEMPFAIL: the kept copy is missing or another one
MODES = ("missing", "always", "never")

# Runs on the host's Python: 3.6 syntax (and 2.7's, to fail politely there).
REMOTE = r"""
import hashlib, os, stat, sys, tempfile
mode, d, want, size = sys.argv[1:5]
kept = os.path.join(d, "sunray.pyz")
me = os.geteuid()
def refuse(why):
    sys.stderr.write("sunray: %s: %s\n" % (d, why))
    sys.exit(3)
def safe(st):
    return st.st_uid in (0, me) and not st.st_mode & 0o022
def check_dir():
    st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode):
        refuse("not a directory (sunray.fleet.pyz_dir)")
    if not safe(st):
        refuse("owned by another user or writable by others: not used for sunray.pyz")
def digest(path):
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or not safe(st):
            return None
        h = hashlib.sha256()
        for block in iter(lambda: f.read(65536), b""):
            h.update(block)
        return h.hexdigest()
if mode == "run":
    st = os.lstat(d) if os.path.lexists(d) else None
    # not there, or not safe to run from: install says which
    if not st or not stat.S_ISDIR(st.st_mode) or not safe(st) or digest(kept) != want:
        sys.stdout.write("sunray-pyz: differs\n")
        sys.exit(75)
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, kept] + sys.argv[5:])
try:
    if not os.path.lexists(d):
        os.makedirs(d, 0o755)
        os.chmod(d, 0o755)
    check_dir()
    data = getattr(sys.stdin, "buffer", sys.stdin).read(int(size) + 1)
    if len(data) != int(size) or hashlib.sha256(data).hexdigest() != want:
        refuse("the copy of sunray.pyz received is incomplete or damaged: not kept")
    fd, part = tempfile.mkstemp(prefix=".sunray.pyz.", dir=d)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.rename(part, kept)
    except BaseException:
        os.unlink(part)
        raise
except OSError as e:
    refuse(e.strerror or str(e))
sys.stdout.write("sunray-pyz: sent\n")
"""


@dataclass(frozen=True)
class Bundle:
    """The pyz to send: where it came from, its bytes and their SHA-256."""

    path: str
    data: bytes
    sha256: str


def running_pyz() -> Optional[str]:
    """The pyz this program runs from, or None (a checkout, a venv, the RPM)."""
    path = os.path.abspath(__file__)
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent
        if os.path.isfile(path):
            return path if zipfile.is_zipfile(path) else None


def load_bundle(path: str, where: str) -> Bundle:
    """Read and check a pyz before any host is contacted."""
    full = os.path.abspath(os.path.expanduser(path))
    try:
        with open(full, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{where}: {path}: no such file (./bootstrap dist builds "
                         "dist/sunray-VERSION.pyz)") from None
    except OSError as e:
        raise UsageError(f"{where}: {path}: cannot read: {e.strerror or e}") from None
    if len(data) > MAX_BYTES:
        raise UsageError(f"{where}: {path}: larger than {MAX_BYTES >> 20} MiB: not a sunray pyz")
    try:
        import io

        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, ValueError):
        raise UsageError(f"{where}: {path}: not a zip application (a sunray pyz)") from None
    if "__main__.py" not in names or "sunray/__init__.py" not in names:
        raise UsageError(f"{where}: {path}: a zip without sunray in it: not a sunray pyz")
    return Bundle(full, data, hashlib.sha256(data).hexdigest())


def check_settings(fleet_settings: Dict[str, Any], push: bool, pyz: Optional[str]) -> Dict[str, Any]:
    """The push plan: {mode, bundle (or None), dir}; UsageError when bad."""
    from .hosts import check_remote_root

    mode = fleet_settings.get("push") or "missing"
    if mode not in MODES:
        raise UsageError(f"sunray.fleet.push: {mode!r}: expected one of {', '.join(MODES)}")
    mode = "always" if push else mode
    directory = check_remote_root(fleet_settings.get("pyz_dir") or DEFAULT_DIR,
                                  "sunray.fleet.pyz_dir")
    if directory == "/":
        raise UsageError("sunray.fleet.pyz_dir: expected a directory for sunray.pyz, not /")
    bundle = None
    if pyz:
        bundle = load_bundle(pyz, "--pyz")
    elif fleet_settings.get("pyz"):
        if not isinstance(fleet_settings["pyz"], str):
            raise UsageError(f"sunray.fleet.pyz: expected a file name, not {fleet_settings['pyz']!r}")
        bundle = load_bundle(fleet_settings["pyz"], "sunray.fleet.pyz")
    elif mode != "never" and running_pyz():
        bundle = load_bundle(str(running_pyz()), "the running pyz")
    if mode == "always" and bundle is None:
        raise UsageError("--push: no sunray pyz to send: give --pyz FILE (./bootstrap dist "
                         "builds dist/sunray-VERSION.pyz) or set sunray.fleet.pyz")
    if mode == "never":
        bundle = None
    return {"mode": mode, "bundle": bundle, "dir": directory.rstrip("/")}


def remote_command(fleet_settings: Dict[str, Any], target: Any, words: List[str]) -> List[str]:
    """The words of a REMOTE command: [sudo -n --] PYTHON -c REMOTE WORDS..."""
    from .hosts import check_program

    python = target.python or check_program(fleet_settings.get("python") or "python3",
                                            "sunray.fleet.python")
    prefix = ["sudo", "-n", "--"] if fleet_settings.get("sudo") else []
    return prefix + [python, "-c", REMOTE] + words


def _differs(res) -> bool:
    return res.exited == DIFFERS and res.stdout.startswith("sunray-pyz: differs")


def run_pushed(conn: Any, target: Any, fleet_settings: Dict[str, Any], plan: Dict[str, Any],
               tail: List[str], dry_run: bool) -> Dict[str, Any]:
    """Run ``sunray TAIL`` from the kept pyz, sending it first when the kept
    copy differs. Returns {exited, stdout, stderr, pyz: {action, bytes, path}}
    with action one of kept, sent, would-send, failed."""
    bundle = plan["bundle"]
    timeout = float(fleet_settings.get("command_timeout") or 1800)
    where = {"path": f"{plan['dir']}/{PYZ_NAME}", "sha256": bundle.sha256, "bytes": 0}
    run_words = [plan["dir"], bundle.sha256, str(len(bundle.data))] + tail
    command = shlex.join(remote_command(fleet_settings, target, ["run"] + run_words))

    def run():
        return conn.run(command, hide=True, warn=True, in_stream=False, pty=False, timeout=timeout)

    res = run()
    if not _differs(res):
        return {"exited": res.exited, "stdout": res.stdout, "stderr": res.stderr,
                "pyz": dict(where, action="kept")}
    if dry_run:
        return {"exited": None, "stdout": "", "stderr": "",
                "pyz": dict(where, action="would-send", bytes=len(bundle.data))}
    install = shlex.join(remote_command(fleet_settings, target, ["install"] + run_words[:3]))
    from .ssh import run_with_input

    code, out, err = run_with_input(conn, install, bundle.data, timeout)
    sent = dict(where, bytes=len(bundle.data))
    if code != 0 or not out.startswith("sunray-pyz: sent"):
        return {"exited": code, "stdout": out, "stderr": err, "pyz": dict(sent, action="failed")}
    res = run()
    if _differs(res):
        return {"exited": None, "stdout": "", "stderr": res.stderr,
                "pyz": dict(sent, action="failed")}
    return {"exited": res.exited, "stdout": res.stdout, "stderr": res.stderr,
            "pyz": dict(sent, action="sent")}
