"""check-esound (sunray/esound/scan.py) on RPMs and installed trees: the stock
rebuild of the stand-in links ALSA and fails, build-esound's result passes."""

import json
from pathlib import Path

import pytest
from conftest import assert_clean_error, run_sunray, tree_snapshot
from esound_support import binary_rpm, install_rpm, rpm_facts

from sunray.core.rootfs import Root
from sunray.esound.scan import check_installed

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


@pytest.mark.system
def test_check_installed_alsa_esd_fails_naming_file(sandbox, stock_rpm):
    install_rpm(sandbox, stock_rpm)
    before = tree_snapshot(sandbox)
    proc = run_sunray("check-esound", "--installed", "--root", sandbox)
    assert_clean_error(proc, 1, "ALSA found", "/usr/bin/esd needs libasound")
    assert tree_snapshot(sandbox) == before


@pytest.mark.system
def test_check_installed_oss_esd_passes(sandbox, oss_build):
    install_rpm(sandbox, binary_rpm(oss_build["out"]))
    proc = run_sunray("check-esound", "--installed", "--root", sandbox, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["installed"] is True
    paths = {f["path"] for f in data["files"]}
    assert "/usr/bin/esd" in paths and any("libesd.so.0." in p for p in paths)


@pytest.mark.system
def test_check_installed_link_outside_root_is_not_followed(sandbox, oss_build, stock_rpm, tmp_path):
    install_rpm(sandbox, binary_rpm(oss_build["out"]))
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
    install_rpm(sandbox, stock_rpm)
    report = check_installed(Root(sandbox))
    assert "/usr/bin/esd" in report.failure
    assert report.to_dict()["installed"] is True


@pytest.mark.system
def test_check_installed_libs_without_daemon_says_so(sandbox, el6_build, el6_control, tmp_path):
    # An EL6 server: esound-libs only. OSS-only libesd: exit 0, but the daemon is missing.
    (libs,) = [p for p in Path(el6_build["out"]).glob("esound-libs-*.rpm")]
    install_rpm(sandbox, libs)
    proc = run_sunray("check-esound", "--installed", "--root", sandbox)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "the esound daemon is missing" in proc.stdout
    assert "sunray build-esound --srpm esound-*.src.rpm" in proc.stdout
    report = check_installed(Root(sandbox))
    assert report.data["daemon_missing"] is True and report.data["installed"] is False
    # The stock EL6 libesd links ALSA: that fails, and the daemon is still named.
    (stock_libs,) = [p for p in el6_control if "esound-libs-" in p.name]
    stock_root = install_rpm(tmp_path / "stock-root", stock_libs)
    proc = run_sunray("check-esound", "--installed", "--root", stock_root)
    assert_clean_error(proc, 1, "ALSA found")
    assert "the esound daemon is missing" in proc.stdout
