"""check-esound (sunray/esound/check.py) on RPMs and installed trees: the stock
rebuild of the stand-in links ALSA and fails, build-esound's result passes."""

import json
import os
from pathlib import Path

import pytest
from conftest import assert_clean_error, run_sunray, tree_snapshot
from esound_support import binary_rpm, rpm_facts

from sunray.esound.check import check_installed
from sunray.rootfs import Root

pytest_plugins = ["esound_fixtures"]


@pytest.mark.system
def test_check_esound_fails_on_stock_rpm(stock_rpm):
    proc = run_sunray("check-esound", "--rpm", stock_rpm)
    assert_clean_error(proc, 1, "ALSA found", "/usr/bin/esd", "libasound")
    assert "ALSA  " in proc.stdout


@pytest.mark.system
def test_check_esound_passes_on_built_rpm(oss_build):
    proc = run_sunray("check-esound", "--rpm", binary_rpm(oss_build["out"]), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["failure"] is None
    assert {f["path"] for f in data["files"]} >= {"/usr/bin/esd"}
    assert not any(f["alsa"] for f in data["files"])


@pytest.mark.system
def test_check_esound_usage_errors(stock_srpm, tmp_path):
    assert_clean_error(run_sunray("check-esound"), 2, "give RPM files or --installed")
    assert_clean_error(run_sunray("check-esound", "--rpm", stock_srpm), 2, "source RPM")
    junk = tmp_path / "junk.rpm"
    junk.write_bytes(b"garbage" * 10)
    assert_clean_error(run_sunray("check-esound", "--rpm", junk), 2, "not an RPM")


# --- check-esound --installed --------------------------------------------------------------


def _install(root, rpm):
    """Put an RPM's esd and libesd into a sandbox root (like rpm -i would)."""
    facts = rpm_facts(rpm)
    for path, data in facts["files"].items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.chmod(target, 0o755)
    lib = next(p for p in facts["files"] if "/libesd.so." in p)
    (root / lib.lstrip("/")).parent.joinpath("libesd.so.0").symlink_to(Path(lib).name)
    return root


@pytest.mark.system
def test_check_installed_alsa_esd_fails_naming_file(sandbox, stock_rpm):
    _install(sandbox, stock_rpm)
    before = tree_snapshot(sandbox)
    proc = run_sunray("check-esound", "--installed", "--root", sandbox)
    assert_clean_error(proc, 1, "ALSA found", "/usr/bin/esd needs libasound")
    assert tree_snapshot(sandbox) == before


@pytest.mark.system
def test_check_installed_oss_esd_passes(sandbox, oss_build):
    _install(sandbox, binary_rpm(oss_build["out"]))
    proc = run_sunray("check-esound", "--installed", "--root", sandbox, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["installed"] is True
    paths = {f["path"] for f in data["files"]}
    assert "/usr/bin/esd" in paths and any("libesd.so.0." in p for p in paths)


@pytest.mark.system
def test_check_installed_link_outside_root_is_not_followed(sandbox, oss_build, stock_rpm, tmp_path):
    _install(sandbox, binary_rpm(oss_build["out"]))
    outside = tmp_path / "outside-libesd.so.9"
    outside.write_bytes(rpm_facts(stock_rpm)["files"]["/usr/bin/esd"])
    (sandbox / "usr" / "lib64" / "libesd.so.9").symlink_to(outside)
    proc = run_sunray("check-esound", "--installed", "--root", sandbox)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "outside the root" in proc.stderr


def test_check_installed_not_installed(sandbox):
    proc = run_sunray("check-esound", "--installed", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert "not installed" in proc.stdout


@pytest.mark.system
def test_check_installed_api_for_the_doctor(sandbox, stock_rpm):
    _install(sandbox, stock_rpm)
    report = check_installed(Root(sandbox))
    assert "/usr/bin/esd" in report.failure
    assert report.to_dict()["installed"] is True
