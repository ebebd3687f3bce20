"""Shared test fixtures: sandbox roots and a runner for the real program.

The program under test runs on SUNRAY_TEST_PYTHON when it is set (the 3.6
tier of ./bootstrap test: a Python 3.6 environment, see
docs/development.md), else on the interpreter running pytest. Tests start it
with ``run_sunray``, or as ``PYTHON -m sunray`` and ``PROGRAM`` (the
``sunray`` command beside that interpreter) where they need to.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
IN_CI = bool(os.environ.get("CI"))
# The interpreter the program under test runs on, and its `sunray` command.
PYTHON = os.environ.get("SUNRAY_TEST_PYTHON") or sys.executable
PROGRAM = Path(PYTHON).parent / "sunray"

# Test files that never start the program (they call the package in-process,
# on pytest's own interpreter): with SUNRAY_TEST_PYTHON set they would only
# repeat the normal run, so they are left out. A file missing here runs in
# both: a new file costs time, never coverage.
IN_PROCESS_ONLY = {
    "test_boot_checks.py", "test_docs.py", "test_esound_elf.py", "test_esound_spec.py",
    "test_modules_checks.py", "test_modules_discover.py", "test_modules_results.py",
    "test_layers.py", "test_package.py", "test_core_rootfs.py", "test_core_tasklist.py", "test_tmpclean_checks.py",
    "test_tmpclean_shell.py", "test_tmpclean_tmpmount.py",
}

# Files the 3.6 tier leaves out although they start the program: the crash
# test (slow: each kill point runs the program three times) checks the
# journal, the lock and the reverts, whose mechanism is the same on 3.6; the
# plain-install tier runs its own installs (the pyz on 3.6 among them).
FIRST_TIER_ONLY = {"test_crash.py", "test_plain_install.py"}


def pytest_collection_modifyitems(config, items):
    """With SUNRAY_TEST_PYTHON set, run only what applies to the program on
    that interpreter: not the workstation tasks' tests (savings and fleet,
    marked ``workstation``: their floor is 3.9, not the servers' 3.6), not
    the in-process files and FIRST_TIER_ONLY above."""
    if not os.environ.get("SUNRAY_TEST_PYTHON"):
        return
    kept, dropped = [], []
    for item in items:
        skip = (item.get_closest_marker("workstation") or item.path.name in IN_PROCESS_ONLY
                or item.path.name in FIRST_TIER_ONLY)
        (dropped if skip else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def need(*tools):
    """Skip when a tool is missing locally; in CI a missing tool is a failure
    (CI installs every tool, so a skip there would hide a broken test)."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        message = f"needs {', '.join(missing)} (see .ci/apt-packages)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def need_root():
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("this test runs as root (CI does)")
        pytest.skip("needs root")


@pytest.fixture
def sandbox(tmp_path):
    """An empty server tree: /etc, /tmp (1777), /var, /usr."""
    root = tmp_path / "root"
    for d in ("etc", "var/lib", "var/log", "usr/src", "lib/modules", "run"):
        (root / d).mkdir(parents=True)
    (root / "tmp").mkdir()
    os.chmod(root / "tmp", 0o1777)
    return root


@pytest.fixture
def home(tmp_path):
    """An empty HOME for runs of the program (see cli_support.sunray)."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def run_sunray(*args, env=None, cwd=None, input=None, timeout=600):
    """Run the real `sunray` program; return the CompletedProcess (text)."""
    full_env = dict(os.environ)
    full_env.pop("SUNRAY_DEBUG", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [PYTHON, "-m", "sunray", *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or REPO,
        input=input,
        timeout=timeout,
    )


def assert_clean_error(proc, code, *needles):
    """A usage or job error: exit ``code``, a one-line cause, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    assert last.startswith("sunray: "), proc.stderr
    for needle in needles:
        assert needle in last, (needle, last)


def tree_snapshot(root):
    """Every path under root with its type, mode, owner and content digest."""
    import hashlib

    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if p.is_symlink():
                what = ("link", os.readlink(p))
            elif p.is_file():
                what = ("file", hashlib.sha256(p.read_bytes()).hexdigest())
            else:
                what = ("dir",)
            snap[str(p.relative_to(root))] = (what, st.st_mode, st.st_uid, st.st_gid)
    return snap
