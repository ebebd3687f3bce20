"""build-esound (sunray/esound/build.py) with the real rpmbuild and our stand-in esound.

The stand-in (tests/fixtures/esound) behaves like the real esound: configure
links libasound when ALSA headers exist, unless --disable-alsa. The control
test proves that: a stock rebuild of its SRPM requires libasound.so.2.
"""

from pathlib import Path

import pytest
from conftest import assert_clean_error, run_sunray
from esound_support import (
    STOCK_SPEC,
    binary_rpm,
    build_esound,
    dist_tag,
    listing,
    make_srpm,
    make_tarball,
    rpm_facts,
)

from sunray.esound import elf

pytest_plugins = ["esound_fixtures"]

# Every test here drives rpmbuild, gcc and make.
pytestmark = pytest.mark.system


# --- control -------------------------------------------------------------------


def test_control_stock_rebuild_links_alsa(stock_rpm):
    facts = rpm_facts(stock_rpm)
    assert "libasound.so.2()(64bit)" in facts["requires"]
    esd = elf.parse(facts["files"]["/usr/bin/esd"])
    assert "libasound.so.2" in esd.needed


# --- build-esound from the SRPM -------------------------------------------------


def test_build_esound_output_has_no_alsa(oss_build):
    binary = binary_rpm(oss_build["out"])
    facts = rpm_facts(binary)
    assert not [r for r in facts["requires"] if "libasound" in r or "alsa" in r]
    assert facts["release"] == f"2{dist_tag()}.oss"
    assert "/usr/bin/esd" in facts["files"]
    libs = [p for p in facts["files"] if "/libesd.so" in p]
    assert libs, facts["files"].keys()
    for path in ["/usr/bin/esd", *libs]:
        info = elf.parse(facts["files"][path])
        assert not info.needs("libasound"), (path, info.needed)
    # And the stand-in really ran OSS-only: its libesd reports "oss".
    assert b"oss" in facts["files"][libs[0]]


def test_build_esound_writes_new_srpm_with_rewritten_spec(oss_build):
    (src,) = Path(oss_build["out"]).glob("*.src.rpm")
    assert src.name == f"esound-0.2.36-2{dist_tag()}.oss.src.rpm"
    facts = rpm_facts(src)
    assert facts["sourcepackage"] == 1
    spec = facts["files"]["/esound.spec"].decode()
    assert "%configure --disable-alsa" in spec
    assert "alsa-lib-devel" not in spec
    assert "BuildRequires: audiofile-devel" in spec
    assert "Release: 2%{?dist}.oss" in spec
    entry = spec.split("%changelog\n", 1)[1].splitlines()[0]
    assert entry.startswith("* ") and "sunray build-esound" in entry and entry.endswith("0.2.36-2.oss")


def test_build_esound_reports_paths_check_and_nodeps(oss_build):
    result = oss_build["result"]
    assert sorted(result["outputs"]) == sorted(str(p) for p in Path(oss_build["out"]).iterdir())
    assert result["check_result"]["failure"] is None
    assert any("--nodeps" in n for n in result["notes"])  # Debian: empty rpm database
    assert listing(oss_build["tmp"]) == []  # the private _topdir is gone


VARIANTS = {
    "configure-with-options": ("%configure\n", "%configure --with-x --enable-shared\n"),
    "configure-multiline": (
        "%configure\n",
        "%configure \\\n    --with-x \\\n    --enable-shared\n",
    ),
    "dot-configure": (
        "%configure\n",
        "CFLAGS=\"$RPM_OPT_FLAGS\" ./configure --prefix=/usr --libdir=%{_libdir}\n",
    ),
    "explicit-enable-alsa": ("%configure\n", "%configure \\\n  --enable-alsa \\\n  --with-x\n"),
    "release-and-comma-deps": (
        "BuildRequires: alsa-lib-devel, audiofile-devel\n",
        "BuildRequires: audiofile-devel >= 0.2, alsa-lib-devel >= 1.0.14 gcc\n",
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_build_esound_configure_forms(esound_work, variant):
    old, new = VARIANTS[variant]
    assert old in STOCK_SPEC
    srpm = make_srpm(esound_work / variant, STOCK_SPEC.replace(old, new))
    out = esound_work / variant / "dist"
    proc = build_esound("--srpm", srpm, "--output", out, tmpdir=esound_work / variant / "tmp")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    facts = rpm_facts(binary_rpm(out))
    assert not [r for r in facts["requires"] if "libasound" in r]
    assert not elf.parse(facts["files"]["/usr/bin/esd"]).needs("libasound")
    assert facts["release"].endswith(".oss")


# --- --dry-run -----------------------------------------------------------------------


def test_dry_run_prints_diff_and_builds_nothing(esound_work, stock_srpm):
    out = esound_work / "dry" / "dist"
    proc = build_esound("--srpm", stock_srpm, "--output", out, "--dry-run", tmpdir=esound_work / "dry" / "tmp")
    assert proc.returncode == 0, proc.stderr
    assert "-%configure\n+%configure --disable-alsa" in proc.stdout
    assert "-Release: 2%{?dist}\n+Release: 2%{?dist}.oss" in proc.stdout
    assert "-BuildRequires: alsa-lib-devel, audiofile-devel\n+BuildRequires: audiofile-devel" in proc.stdout
    assert not out.exists()
    assert listing(esound_work / "dry" / "tmp") == []


# --- usage and the output directory -----------------------------------------------------


def test_bad_usage(esound_work, stock_srpm):
    assert_clean_error(run_sunray("build-esound"), 2, "exactly one of")
    assert_clean_error(run_sunray("build-esound", "--srpm", stock_srpm, "--suffix", "o/ss", "--dry-run"),
                       2, "--suffix")
    assert_clean_error(run_sunray("build-esound", "--srpm", esound_work / "missing.src.rpm"), 2, "No such file")


def test_output_symlink_refused(esound_work, stock_srpm):
    real = esound_work / "real-out"
    real.mkdir()
    link = esound_work / "link-out"
    link.symlink_to(real)
    proc = build_esound("--srpm", stock_srpm, "--output", link, tmpdir=esound_work / "symlink-tmp")
    assert_clean_error(proc, 2, "symlink")
    assert listing(real) == []


# --- a failing build ---------------------------------------------------------------------


def test_failed_rpmbuild_shows_log_tail_and_keeps_log(esound_work):
    spec = STOCK_SPEC.replace("make %{?_smp_mflags}\n",
                              "make %{?_smp_mflags}\necho sunray-test-breaks-here >&2\nexit 3\n")
    srpm = make_srpm(esound_work / "fails", spec)
    out = esound_work / "fails" / "dist"
    proc = build_esound("--srpm", srpm, "--output", out, tmpdir=esound_work / "fails" / "tmp")
    assert_clean_error(proc, 1, "rpmbuild failed", "full log:")
    assert "sunray-test-breaks-here" in proc.stdout  # the tail of the log
    (log,) = out.glob("*.build.log")
    assert "sunray-test-breaks-here" in log.read_text()
    assert not list(out.glob("*.rpm"))
    assert listing(esound_work / "fails" / "tmp") == []


# --- --tarball ------------------------------------------------------------------------------


def test_build_from_tarball(esound_work):
    tarball = make_tarball(esound_work, version="0.2.41", compression="gz")
    out = esound_work / "tarball" / "dist"
    proc = build_esound("--tarball", tarball, "--output", out, tmpdir=esound_work / "tarball" / "tmp")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    binary = binary_rpm(out)
    facts = rpm_facts(binary)
    assert (facts["version"], facts["release"]) == ("0.2.41", f"1{dist_tag()}.oss")
    assert not [r for r in facts["requires"] if "libasound" in r]
    assert "/usr/bin/esd" in facts["files"]
    assert not elf.parse(facts["files"]["/usr/bin/esd"]).needs("libasound")
    assert listing(esound_work / "tarball" / "tmp") == []
