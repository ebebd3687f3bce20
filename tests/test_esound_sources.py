"""build-esound's input (sunray/esound/sources.py and rpm.py): every bad
SRPM or tarball is a clean exit 2 that leaves nothing behind, and mutated
SRPM bytes never get past the checks as anything but a valid read."""

import os
import shutil

import pytest
from conftest import assert_clean_error, run_sunray
from esound_support import STOCK_SPEC, build_esound, listing, make_srpm, make_tarball
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sunray.core.errors import UsageError
from sunray.esound.sources import read_srpm

pytest_plugins = ["esound_fixtures"]


def _bad(work, tag, path, *needles, env=None):
    out = work / tag / "dist"
    tmp = work / tag / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    full_env = {"TMPDIR": str(tmp), **(env or {})}
    proc = run_sunray("build-esound", "--srpm", path, "--output", out, env=full_env)
    assert_clean_error(proc, 2, *needles)
    assert not out.exists()
    assert listing(tmp) == []
    return proc


# --- the source RPM ----------------------------------------------------------------------


def test_bad_empty_file(tmp_path):
    empty = tmp_path / "empty.src.rpm"
    empty.write_bytes(b"")
    _bad(tmp_path, "empty", empty, "empty file")


def test_bad_random_bytes(tmp_path):
    junk = tmp_path / "junk.src.rpm"
    junk.write_bytes(os.urandom(4096))
    _bad(tmp_path, "junk", junk, "not an RPM")


def test_bad_random_bytes_after_rpm_lead(tmp_path):
    junk = tmp_path / "lead.src.rpm"
    junk.write_bytes(b"\xed\xab\xee\xdb" + os.urandom(4000))
    _bad(tmp_path, "lead", junk, "corrupt or truncated RPM header")


@pytest.mark.system
@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.9])
def test_bad_truncated_srpm(esound_work, stock_srpm, fraction):
    data = stock_srpm.read_bytes()
    cut = esound_work / f"cut-{fraction}.src.rpm"
    cut.write_bytes(data[: int(len(data) * fraction)])
    _bad(esound_work, f"cut-{fraction}", cut, "truncated")


@pytest.mark.system
def test_bad_corrupt_payload(esound_work, stock_srpm):
    data = bytearray(stock_srpm.read_bytes())
    data[-100] ^= 0xFF
    bad = esound_work / "corrupt.src.rpm"
    bad.write_bytes(bytes(data))
    _bad(esound_work, "corrupt", bad, "payload digest mismatch")


@pytest.mark.system
def test_bad_binary_rpm(esound_work, stock_rpm):
    _bad(esound_work, "binary", stock_rpm, "a binary RPM", ".src.rpm")


@pytest.mark.system
def test_bad_srpm_of_other_package(esound_work):
    other = make_srpm(
        esound_work / "other",
        STOCK_SPEC.replace("Name: esound", "Name: pulseaudio").replace("Source0: esound-", "Source0: pulseaudio-"),
        name="pulseaudio",
    )
    _bad(esound_work, "other", other, "'pulseaudio'", "not of esound")


@pytest.mark.system
def test_bad_spec_without_configure(esound_work):
    spec = STOCK_SPEC.replace("%configure\n", "")
    srpm = make_srpm(esound_work / "noconf", spec)
    _bad(esound_work, "noconf", srpm, "no configure step", "refusing")


@pytest.mark.system
def test_bad_zstd_payload_without_zstandard(esound_work, tmp_path):
    zsrpm = make_srpm(esound_work / "zstd", defines=["_source_payload w19.zstdio"])
    # Hide the installed zstandard module: the program must name what to install.
    shim = tmp_path / "shim" / "zstandard"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    _bad(esound_work, "zstd", zsrpm, "zstd-compressed payload needs zstandard",
         "pip install 'sunray-toolkit[zstd]'",
         env={"PYTHONPATH": str(shim.parent)})


@pytest.mark.system
def test_zstd_payload_with_zstandard_dry_run(esound_work):
    zsrpm = make_srpm(esound_work / "zstd-ok", defines=["_source_payload w19.zstdio"])
    proc = run_sunray("build-esound", "--srpm", zsrpm, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "+%configure --disable-alsa" in proc.stdout


@pytest.mark.system
def test_bad_legacy_lzma_payload(esound_work):
    lsrpm = make_srpm(esound_work / "lzma", defines=["_source_payload w9.lzdio"])
    _bad(esound_work, "lzma", lsrpm, "legacy lzma")


@pytest.mark.system
@hypothesis_settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(flips=st.lists(st.tuples(st.integers(0, 2999), st.integers(0, 255)), min_size=1, max_size=6))
def test_mutated_srpm_is_usage_error_or_valid(stock_srpm, flips):
    """Untrusted RPM bytes: whatever the damage, a UsageError or a valid read."""
    data = bytearray(stock_srpm.read_bytes())
    for pos, value in flips:
        data[pos % len(data)] = value
    path = stock_srpm.parent / "mutated.src.rpm"
    path.write_bytes(bytes(data))
    try:
        facts, files, spec = read_srpm(path)
    except UsageError:
        return
    assert facts["name"] == "esound" and spec in files


# --- the upstream tarball ----------------------------------------------------------------


def test_tarball_bad_inputs(tmp_path):
    cases = []
    (tmp_path / "badtar").mkdir()
    junk = tmp_path / "badtar" / "esound-0.2.41.tar.gz"
    junk.write_bytes(os.urandom(2000))
    cases.append((junk, "not a readable tar archive"))
    noconf = make_tarball(tmp_path / "badtar", version="0.2.40", compression="gz", skip={"configure"})
    cases.append((noconf, "no esound-0.2.40/configure"))
    (tmp_path / "badtar" / "evil").mkdir()
    evil = make_tarball(tmp_path / "badtar" / "evil", version="0.2.41", compression="gz",
                        extra={"esound-0.2.41/../../etc/x": b"x"})
    cases.append((evil, "unsafe"))
    wrong_name = tmp_path / "badtar" / "sound.tar.gz"
    shutil.copy(noconf, wrong_name)
    cases.append((wrong_name, "esound-VERSION.tar.gz"))
    for path, needle in cases:
        out = tmp_path / "badtar" / "dist"
        proc = build_esound("--tarball", path, "--output", out, tmpdir=tmp_path / "badtar" / "tmp")
        assert_clean_error(proc, 2, needle)
        assert not out.exists()
        assert listing(tmp_path / "badtar" / "tmp") == []
