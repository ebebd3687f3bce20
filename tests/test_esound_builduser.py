"""Who runs the source RPM's build scripts (sunray/esound/builduser.py).

As root, build-esound runs rpmbuild as the build user (nobody), in a new
session without a terminal, with a minimal environment, and kills what the
build leaves running. A probe spec records what its %install sees and
packages it; the build is started from a pty, like an admin's root shell.
"""

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import PYTHON, assert_clean_error, need_root, run_sunray
from esound_support import STOCK_SPEC, binary_rpm, listing, make_srpm, rpm_facts

from sunray.core.errors import UsageError
from sunray.esound import elf
from sunray.esound.builduser import BUILD_PATH, build_user

pytest_plugins = ["esound_fixtures"]

# %install records what the build scripts can see and do, and packages it:
# the uid and groups, whether /dev/tty opens (TIOCSTI needs it), the whole
# environment, and the pid of a `sleep` left running in the background.
PROBE_SPEC = STOCK_SPEC.replace(
    "make install DESTDIR=$RPM_BUILD_ROOT\n",
    "make install DESTDIR=$RPM_BUILD_ROOT\n"
    "probe=$RPM_BUILD_ROOT%{_datadir}/esound-build\n"
    "mkdir -p $probe\n"
    "id -u > $probe/uid\n"
    "id -G > $probe/groups\n"
    "(exec 3</dev/tty) 2>>$probe/tty && echo tty-opened >>$probe/tty || echo no-tty >>$probe/tty\n"
    "env > $probe/env\n"
    "sleep 300 </dev/null >/dev/null 2>&1 &\n"
    "echo $! > $probe/leftover\n",
).replace("%{_includedir}/esd.h\n", "%{_includedir}/esd.h\n%{_datadir}/esound-build\n")

MARKER = "SUNRAY_TEST_ROOT_ONLY"


def open_tmpdir():
    """A TMPDIR the build user can pass through (pytest's own is root-only)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="sunray-esound-test-", dir="/tmp"))
    os.chmod(path, 0o755)
    return path


def run_on_terminal(argv, env, timeout=600):
    """Run ``argv`` as a session leader on a fresh pseudo-terminal, its
    controlling tty: like an admin at a root shell. Returns (exit code,
    terminal output)."""
    import pty
    import select
    import time

    pid, master = pty.fork()
    if pid == 0:  # the child: exec or die, never return into pytest
        try:
            os.chdir(Path(__file__).resolve().parent.parent)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every holder of the terminal is gone
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(master)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def _probe(out, name):
    return rpm_facts(binary_rpm(out))["files"][f"/usr/share/esound-build/{name}"].decode()


@pytest.fixture(scope="module")
def probe_build(esound_work):
    """build-esound of PROBE_SPEC as root from a terminal, with a marker
    variable in root's environment."""
    need_root()
    srpm = make_srpm(esound_work / "probe", PROBE_SPEC)
    out = esound_work / "probe" / "dist"
    tmpdir = open_tmpdir()
    env = {k: v for k, v in os.environ.items() if k != "SUNRAY_DEBUG"}
    env.update({"TMPDIR": str(tmpdir), MARKER: "leaked"})
    try:
        code, output = run_on_terminal(
            [PYTHON, "-m", "sunray", "build-esound", "--srpm", str(srpm),
             "--output", str(out), "--format", "json"], env)
        assert code == 0, output
        assert listing(tmpdir) == []  # the private tree was there, and is gone
    finally:
        shutil.rmtree(tmpdir)
    return {"out": out, "output": output}


def test_terminal_harness_gives_a_tty_the_build_user_could_use():
    """Control: on run_on_terminal's pty, a child dropped to nobody without a
    new session opens /dev/tty; so the no-tty result below means something."""
    need_root()
    import pwd

    nobody = pwd.getpwnam("nobody")
    script = ("import subprocess; print('nobody-tty-exit', subprocess.run("
              "['sh', '-c', 'exec 3</dev/tty'], user=%d, group=%d, extra_groups=[]).returncode)"
              % (nobody.pw_uid, nobody.pw_gid))
    code, output = run_on_terminal(["/usr/bin/python3", "-c", script], {"PATH": "/usr/bin:/bin"})
    assert code == 0, output
    assert "nobody-tty-exit 0" in output


@pytest.mark.system
def test_build_as_root_runs_rpmbuild_as_nobody(probe_build):
    import pwd

    nobody = pwd.getpwnam("nobody")
    out = probe_build["out"]
    result = json.loads(probe_build["output"])
    assert result["build_user"] == "nobody"
    assert f"rpmbuild runs as nobody (uid {nobody.pw_uid}) in a new session: no terminal, " \
           "minimal environment" in result["notes"]
    assert int(_probe(out, "uid")) == nobody.pw_uid != 0
    assert _probe(out, "groups").split() == [str(nobody.pw_gid)]  # root's groups dropped
    # the normal OSS result all the same
    facts = rpm_facts(binary_rpm(out))
    assert not [r for r in facts["requires"] if "libasound" in r]
    assert not elf.parse(facts["files"]["/usr/bin/esd"]).needs("libasound")
    for p in out.iterdir():
        assert os.stat(p).st_uid == 0  # copied out by root, not left to nobody


@pytest.mark.system
def test_build_has_no_controlling_terminal(probe_build):
    """No ctty: the SRPM cannot TIOCSTI keystrokes into the admin's shell."""
    tty = _probe(probe_build["out"], "tty")
    assert "no-tty" in tty and "tty-opened" not in tty
    assert "No such device or address" in tty  # ENXIO: no controlling terminal


@pytest.mark.system
def test_build_gets_a_minimal_environment(probe_build):
    text = _probe(probe_build["out"], "env")
    assert MARKER not in text and "leaked" not in text
    env = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert env["PATH"] == BUILD_PATH
    assert env["LANG"] == "C"
    assert env["USER"] == env["LOGNAME"] == "nobody"
    assert env["HOME"].endswith("/top") and "sunray-esound-" in env["HOME"]
    assert env["TMPDIR"] == env["HOME"] + "/tmp"
    for name in ("TMPDIR", "HOME", "PATH"):
        assert os.environ.get(name) != env[name]


@pytest.mark.system
def test_build_leftovers_are_killed(probe_build):
    """A background process the build leaves behind does not outlive it."""
    import time

    pid = int(_probe(probe_build["out"], "leftover"))
    for _ in range(50):  # init reaps the killed orphan shortly
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                alive = f.read().startswith(b"sleep")
        except FileNotFoundError:
            alive = False
        if not alive:
            break
        time.sleep(0.1)
    assert not alive, f"the build's leftover sleep (pid {pid}) is still running"


def test_build_user_selection():
    need_root()
    user = build_user({})
    assert (user.name, user.dropped) == ("nobody", True) and user.uid != 0
    with pytest.raises(UsageError, match="build_user 'root' is root.*--allow-root-build"):
        build_user({"build_user": "root"})
    root = build_user({"build_user": "root"}, allow_root_build=True)
    assert (root.name, root.uid, root.dropped) == ("root", 0, False)
    for bad in ("no-such-user-here", "x;id", "", 7):
        with pytest.raises(UsageError, match="build_user"):
            build_user({"build_user": bad or "$"})


@pytest.mark.system
@pytest.mark.parametrize("user, needles", [
    ("root", ("is root", "--allow-root-build")),
    ("no-such-user-here", ("sunray.esound.build_user", "no such user")),
])
def test_bad_build_user_is_refused_before_building(stock_srpm, tmp_path, user, needles):
    need_root()
    proc = run_sunray("build-esound", "--srpm", stock_srpm, "--output", tmp_path / "dist",
                      env={"INVOKE_SUNRAY_ESOUND_BUILD_USER": user})
    assert_clean_error(proc, 2, *needles)
    assert listing(tmp_path / "dist") is None
