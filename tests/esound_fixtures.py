"""The fixtures the esound test files share, loaded with
``pytest_plugins = ["esound_fixtures"]``: session-wide, so the stock SRPM,
its stock rebuild and the OSS build are made once per test run (they drive
rpmbuild, gcc and make: the tests that use them are system tests)."""

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest
from conftest import need
from esound_support import build_esound, make_el6_srpm, make_srpm, stock_rebuild, stock_rebuild_all


@pytest.fixture(scope="session")
def esound_work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scratch space for the tests that build with rpmbuild, gcc and make."""
    need("rpmbuild", "gcc", "make")
    if not Path("/usr/include/alsa/asoundlib.h").exists():
        pytest.fail("libasound2-dev is missing (see .ci/apt-packages)")
    return tmp_path_factory.mktemp("esound")


@pytest.fixture(scope="session")
def stock_srpm(esound_work: Path) -> Path:
    """The stand-in's SRPM with the distribution-style spec."""
    return make_srpm(esound_work / "stock")


@pytest.fixture(scope="session")
def stock_rpm(esound_work: Path, stock_srpm: Path) -> Path:
    """The stock rebuild of ``stock_srpm``: esd linking libasound."""
    return stock_rebuild(esound_work / "stock", stock_srpm)


@pytest.fixture(scope="session")
def oss_build(esound_work: Path, stock_srpm: Path) -> Dict[str, Any]:
    """build-esound of ``stock_srpm``: its process, output directory, JSON
    result and private TMPDIR."""
    out = esound_work / "dist"
    proc = build_esound("--srpm", stock_srpm, "--output", out, "--format", "json", tmpdir=esound_work / "tmp-ok")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"proc": proc, "out": out, "result": json.loads(proc.stdout), "tmp": esound_work / "tmp-ok"}


@pytest.fixture(scope="session")
def el6_srpm(esound_work: Path) -> Path:
    """The EL6-shaped SRPM (split packages, daemon deleted in %install)."""
    return make_el6_srpm(esound_work / "el6")


@pytest.fixture(scope="session")
def el6_control(esound_work: Path, el6_srpm: Path) -> List[Path]:
    """Plain `rpmbuild --rebuild` of ``el6_srpm``: -libs, -tools, -devel linking ALSA."""
    return stock_rebuild_all(esound_work / "el6", el6_srpm)


@pytest.fixture(scope="session")
def el6_build(esound_work: Path, el6_srpm: Path) -> Dict[str, Any]:
    """build-esound of ``el6_srpm``, like ``oss_build``."""
    out = esound_work / "el6-dist"
    proc = build_esound("--srpm", el6_srpm, "--output", out, "--format", "json", tmpdir=esound_work / "tmp-el6")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"proc": proc, "out": out, "result": json.loads(proc.stdout), "tmp": esound_work / "tmp-el6"}
