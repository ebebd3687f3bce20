"""The program as a new admin gets it: a plain ``pip install .`` (no extras)
and the pyz, each run from outside the checkout, with none of the extras
the rest of the suite installs (PyYAML, Fabric, zstandard). What these
paths need must come from the declared dependencies; what only an extra
brings must be asked for in one line naming the extra.

The venv is made once and kept under build/plain-install/ (made again when
pyproject.toml changes); each session reinstalls only this checkout's wheel
into it, without touching its dependencies.
"""

import ast
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import tomllib
from conftest import REPO, assert_clean_error
from esound_support import make_srpm

sys.path.insert(0, str(REPO / "packaging"))
import build_pyz  # noqa: E402

from sunray.core.optional import EXTRAS  # noqa: E402

# pip, a built bundle, rpmbuild for the zstd SRPM.
pytestmark = pytest.mark.system

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
CACHE = REPO / "build" / "plain-install"
PYTHON36 = Path("/root/.pyenv/versions/3.6.15/bin/python")
PROPOSAL = """\
title: Branch offices
customer: Example Ltd
defaults:
  price: 0.30
sites:
  - name: Head office
    seats: 40
  - name: Depot
    seats: 8
    hours_before: 10
"""
INVENTORY = "groups:\n  lab:\n    - srv1\n    - host: srv2\n      root: /srv/image\n"
FLEET_NEEDS = "sunray: fleet needs Fabric: pip install 'sunray-toolkit[fleet]'"


def _normal(name):
    return name.lower().replace("_", "-").replace(".", "-")


def _declared():
    """The distributions pyproject.toml's dependencies name (markers aside)."""
    import re

    return {_normal(re.match(r"[A-Za-z0-9._-]+", d).group(0)) for d in PYPROJECT["project"]["dependencies"]}


_SKIP = shutil.ignore_patterns(".git", ".venv*", ".python36", "build", "dist", "demo", "__pycache__",
                               "*.egg-info", ".*cache")


def _pip(python, *args, cwd):
    proc = subprocess.run([str(python), "-m", "pip", *args], capture_output=True, text=True, cwd=str(cwd))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def plain(tmp_path_factory):
    """bin/ of a venv with this checkout pip-installed, no extras."""
    CACHE.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes() + sys.version.encode()).hexdigest()[:12]
    env_dir = CACHE / f"venv-{digest}"
    python = env_dir / "bin" / "python"
    work = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools writes build/ and *.egg-info in the source
    # tree, where another build may be writing (test_packaging_pyz's).
    source = work / "source"
    shutil.copytree(REPO, source, ignore=_SKIP)
    content = hashlib.sha256()
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        content.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    with open(CACHE / "lock", "w") as lock:  # xdist workers share the cache: one installs
        fcntl.flock(lock, fcntl.LOCK_EX)
        for stale in CACHE.glob("venv-*"):  # an older pyproject.toml's
            if stale != env_dir:
                shutil.rmtree(stale, ignore_errors=True)
        stamp = env_dir / "source.sha256"
        if not stamp.exists() or stamp.read_text() != content.hexdigest():
            _pip(sys.executable, "wheel", "--no-deps", "-q", "-w", str(work), str(source), cwd=work)
            (wheel,) = work.glob("sunray_toolkit-*.whl")
            if not python.exists():
                venv.create(env_dir, with_pip=True)
                _pip(python, "install", "-q", "--disable-pip-version-check", str(wheel), cwd=work)
            else:  # the dependencies stay as they are
                _pip(python, "install", "-q", "--disable-pip-version-check", "--no-deps", "--force-reinstall",
                     str(wheel), cwd=work)
            stamp.write_text(content.hexdigest())
        _pip(python, "check", cwd=work)
    return env_dir / "bin"


@pytest.fixture(scope="session")
def pyz(tmp_path_factory):
    out = tmp_path_factory.mktemp("pyz")
    return build_pyz.build(out, REPO / "build" / "pyz-downloads")


@pytest.fixture
def work(tmp_path):
    """A directory outside the checkout with a proposal, an inventory, a
    demo-shaped server tree and an empty HOME."""
    from sunray.demo import build

    (tmp_path / "proposal.yaml").write_text(PROPOSAL)
    (tmp_path / "sites.yaml").write_text(INVENTORY)
    (tmp_path / "home").mkdir()
    build(tmp_path / "server")
    return tmp_path


def _env(work):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SUNRAY_", "INVOKE_"))}
    env.update(HOME=str(work / "home"), PATH="/usr/bin:/bin")
    return env


def _runner(kind, plain_bin=None, pyz_file=None, python=None):
    def run(work, *args):
        if kind == "pip":
            argv = [str(plain_bin / "sunray")]
        else:
            argv = [str(python), "-I", "-S", str(pyz_file)]  # the bundle alone: no site-packages
        return subprocess.run(argv + [str(a) for a in args], capture_output=True, text=True, cwd=str(work),
                              env=_env(work), timeout=600)

    return run


@pytest.fixture(params=["pip", "pyz-3.11", "pyz-3.6"])
def sunray(request, tmp_path_factory):
    """The program from the plain install, from the pyz on this Python and on 3.6."""
    if request.param == "pip":
        return _runner("pip", plain_bin=request.getfixturevalue("plain"))
    python = Path(sys.executable) if request.param == "pyz-3.11" else PYTHON36
    if not python.exists():
        from conftest import IN_CI

        if IN_CI:
            pytest.fail(f"needs {python}")
        pytest.skip(f"needs {python}")
    return _runner("pyz", pyz_file=request.getfixturevalue("pyz"), python=python)


# --- what a plain install lacks, and what every module may import --------------------


def test_the_plain_install_has_no_extra(plain):
    for module in sorted(EXTRAS):
        proc = subprocess.run([str(plain / "python"), "-c", f"import {module}"], capture_output=True, text=True)
        assert proc.returncode != 0, f"{module} is installed: the tier would not see it missing"


def test_every_module_imports_in_a_plain_install(plain):
    """A module-level import of anything not declared fails here."""
    script = ("import importlib, pkgutil, sunray\n"
              "for m in pkgutil.walk_packages(sunray.__path__, 'sunray.'):\n"
              "    importlib.import_module(m.name)\n")
    proc = subprocess.run([str(plain / "python"), "-c", script], capture_output=True, text=True, cwd="/")
    assert proc.returncode == 0, proc.stderr


def _imports():
    """(module file, line, top-level name imported, inside a function?) of every import in sunray/."""
    found = []
    for path in sorted((REPO / "sunray").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        lazy = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                for n in ast.walk(f)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.append((path.relative_to(REPO), node.lineno, name.split(".")[0], id(node) in lazy))
    return found


def test_every_import_is_declared_or_an_extra_asked_for(plain):
    """Outside the standard library and sunray itself, a module imports a
    declared dependency, or an extra's library (sunray.core.optional.EXTRAS,
    whose extra must exist and name it) inside a function: never at the top,
    where a plain install would fail to import the module."""
    proc = subprocess.run([str(plain / "python"), "-c", "import importlib.metadata as m, json; "
                           "print(json.dumps(m.packages_distributions()))"], capture_output=True, text=True)
    provided = {name: {_normal(d) for d in dists} for name, dists in json.loads(proc.stdout).items()}
    declared = _declared()
    extras = {name: {_normal(r.split(">")[0].split("=")[0].split("[")[0]) for r in reqs}
              for name, reqs in PYPROJECT["project"]["optional-dependencies"].items()}
    problems = []
    for path, line, name, lazy in _imports():
        if name in sys.stdlib_module_names or name == "sunray":
            continue
        if provided.get(name, set()) & declared:
            continue
        if name in EXTRAS:
            distribution, extra = EXTRAS[name]
            if _normal(distribution) not in extras.get(extra, ()):
                problems.append(f"{path}:{line}: {name}: extra [{extra}] does not list {distribution}")
            elif not lazy:
                problems.append(f"{path}:{line}: {name} (extra [{extra}]) imported at the top of the module")
            continue
        problems.append(f"{path}:{line}: {name} is neither a declared dependency nor an extra "
                        "(pyproject.toml, sunray.core.optional.EXTRAS)")
    assert not problems, "\n".join(problems)


# --- the program: savings with YAML, fleet without Fabric, doctor, a dry run ------------


def test_savings_reads_a_yaml_proposal_and_writes_yaml(sunray, work):
    """Before: internal error: ModuleNotFoundError: No module named 'yaml'."""
    proc = sunray(work, "savings", "--config", "proposal.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "Head office" in proc.stdout and "Depot" in proc.stdout and "Branch offices" in proc.stdout
    proc = sunray(work, "savings", "--config", "proposal.yaml", "--format", "yaml")
    assert proc.returncode == 0, proc.stderr
    assert "title: Branch offices" in proc.stdout and '"name": "Depot"' in proc.stdout
    (work / "twice.yaml").write_text(PROPOSAL.replace("  price: 0.30\n", "  price: 0.30\n  price: 3200\n"))
    assert_clean_error(sunray(work, "savings", "--config", "twice.yaml"), 2, "twice.yaml: line 5, column 3: "
                       "duplicate key 'price'")


def test_fleet_without_fabric_names_the_extra(sunray, work):
    """Before: internal error: ... No module named 'paramiko'. The inventory
    is read first (its own errors come before the missing library)."""
    for args in (["--hosts", "h", "--task", "doctor"], ["--inventory", "sites.yaml"],
                 ["--inventory", "sites.yaml", "--group", "lab", "--task", "apply", "--dry-run"]):
        proc = sunray(work, "fleet", *args)
        assert_clean_error(proc, 2, FLEET_NEEDS)
        assert proc.stderr == FLEET_NEEDS + "\n"
    (work / "bad.yaml").write_text("groups:\n  lab: [a]\n  lab: [b]\n")
    assert_clean_error(sunray(work, "fleet", "--inventory", "bad.yaml"), 2, "line 3, column 3: duplicate key 'lab'")


def test_doctor_and_a_dry_run(sunray, work):
    proc = sunray(work, "doctor", "--root", work / "server")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "tmp-cleaner-tmpwatch" in proc.stdout and "module-sources" in proc.stdout
    before = (work / "server/etc/cron.daily/tmpwatch").read_bytes()
    proc = sunray(work, "apply", "--root", work / "server", "--dry-run")
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    assert "-x /tmp/SUNWut" in proc.stdout
    assert (work / "server/etc/cron.daily/tmpwatch").read_bytes() == before
    assert not (work / "server/var/lib/sunray").exists()


def test_a_zstd_srpm_without_zstandard_names_the_extra(sunray, work):
    from conftest import need

    need("rpmbuild")
    srpm = make_srpm(work / "zstd", defines=["_source_payload w19.zstdio"])
    proc = sunray(work, "build-esound", "--srpm", srpm, "--dry-run")
    assert_clean_error(proc, 2, "zstd-compressed payload needs zstandard: pip install 'sunray-toolkit[zstd]'")


def test_a_workbook_without_xlsxwriter_names_the_extra(sunray, work):
    """The HTML and PDF paths need nothing extra; the workbook asks for its
    library in one line and writes nothing."""
    assert sunray(work, "savings", "--config", "proposal.yaml", "--format", "html").returncode == 0
    proc = sunray(work, "savings", "--config", "proposal.yaml", "--format", "xlsx", "--output", "book.xlsx")
    assert_clean_error(proc, 2, "--format xlsx needs XlsxWriter: pip install 'sunray-toolkit[xlsx]'")
    assert not (work / "book.xlsx").exists()
