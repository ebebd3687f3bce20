"""build-esound (sunray/esound/build.py) with the real rpmbuild and our stand-in esound.

The stand-in (tests/fixtures/esound) behaves like the real esound: configure
links libasound when ALSA headers exist, unless --disable-alsa. The control
test proves that: a stock rebuild of its SRPM requires libasound.so.2.
"""

import gzip
import re
import subprocess
from pathlib import Path

import pytest
from conftest import assert_clean_error, need, run_sunray
from esound_support import (
    EL6_SPEC,
    STOCK_SPEC,
    binary_rpm,
    build_esound,
    dist_tag,
    listing,
    make_el6_srpm,
    make_srpm,
    make_tarball,
    rpm_facts,
)

from sunray.esound import elf
from sunray.esound.host import host_distribution

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


# --- the EL6 shape: the spec deletes the daemon -----------------------------------------------


def _readelf_dynamic(tmp_path, name, data):
    """`readelf -d` of ``data``: its dynamic section, as text."""
    path = tmp_path / name
    path.write_bytes(data)
    proc = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0 and "Dynamic section" in proc.stdout, proc.stdout + proc.stderr
    return proc.stdout


def test_el6_control_rebuild_links_alsa_and_has_no_daemon(el6_control):
    facts = {rpm_facts(p)["name"]: rpm_facts(p) for p in el6_control}
    assert sorted(facts) == ["esound-devel", "esound-libs", "esound-tools"]
    assert not [n for n, f in facts.items() if "/usr/bin/esd" in f["files"]]
    assert "libasound.so.2()(64bit)" in facts["esound-libs"]["requires"]
    (lib,) = [p for p in facts["esound-libs"]["files"] if "/libesd.so" in p]
    assert "libasound.so.2" in elf.parse(facts["esound-libs"]["files"][lib]).needed


def test_el6_build_ships_an_oss_only_esd(el6_build, tmp_path):
    need("readelf")
    rpms = [p for p in Path(el6_build["out"]).glob("*.rpm") if not p.name.endswith(".src.rpm")]
    facts = {rpm_facts(p)["name"]: rpm_facts(p) for p in rpms}
    assert sorted(facts) == ["esound-daemon", "esound-devel", "esound-libs", "esound-tools"]
    for name, f in facts.items():
        assert not [r for r in f["requires"] if "libasound" in r or "alsa" in r], name
        assert f["release"] == "3.1.oss"
    daemon = facts["esound-daemon"]
    # esd.1 as it is, or compressed where rpmbuild compresses man pages
    # (brp-compress: every RHEL build host).
    assert sorted(daemon["files"])[0] == "/usr/bin/esd" and len(daemon["files"]) == 2, daemon["files"]
    assert MAN_PAGE.fullmatch(sorted(daemon["files"])[1]), daemon["files"]
    esd = daemon["files"]["/usr/bin/esd"]
    (lib,) = [p for p in facts["esound-libs"]["files"] if "/libesd.so" in p]
    for name, data in (("esd", esd), ("libesd", facts["esound-libs"]["files"][lib])):
        dynamic = _readelf_dynamic(tmp_path, name, data)
        assert "libasound" not in dynamic, dynamic
    assert "Shared library: [libesd.so.0]" in _readelf_dynamic(tmp_path, "esd", esd)
    proc = subprocess.run(["rpm", "-qp", "--requires", str(next(p for p in rpms if "daemon" in p.name))],
                          capture_output=True, text=True)
    assert "esound-libs(x86-64) = 1:0.2.41-3.1.oss" in proc.stdout.splitlines()
    result = el6_build["result"]
    assert result["daemon_restored"] == "esound-daemon"
    assert any(n.startswith("restored: /usr/bin/esd") for n in result["notes"])


# The man page as it is, or compressed by a brp-compress step.
MAN_PAGE = re.compile(r"/usr/share/man/man1/esd\.1(\.gz|\.bz2|\.xz|\.zst)?")
# The test's own man-page compression step, like RHEL's brp-compress, in the
# spec of the test's SRPM: the build runs with it whatever the host's rpm
# macros say (Debian's brp-compress is a bash script run by sh: a no-op).
COMPRESSING = ("%global __os_install_post find \"$RPM_BUILD_ROOT%{_mandir}\" -type f "
               "-name '*.[0-9]' -exec gzip -9 -n {} +\n")


def test_el6_build_with_compressed_man_pages_ships_esd_1_gz(esound_work, tmp_path):
    """The restored daemon's %files says esd.1*: it must take esd.1.gz too."""
    srpm = make_el6_srpm(esound_work / "el6-gz", COMPRESSING + EL6_SPEC)
    out = esound_work / "el6-gz-dist"
    proc = build_esound("--srpm", srpm, "--output", out, tmpdir=esound_work / "tmp-el6-gz")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rpms = [p for p in out.glob("*.rpm") if not p.name.endswith(".src.rpm")]
    facts = {rpm_facts(p)["name"]: rpm_facts(p) for p in rpms}
    daemon = facts["esound-daemon"]
    assert sorted(daemon["files"]) == ["/usr/bin/esd", "/usr/share/man/man1/esd.1.gz"]
    page = gzip.decompress(daemon["files"]["/usr/share/man/man1/esd.1.gz"])
    assert page.startswith(b".") and b"esd" in page  # a man page, compressed once
    for name, f in facts.items():
        assert not [r for r in f["requires"] if "libasound" in r or "alsa" in r], name
    assert listing(esound_work / "tmp-el6-gz") == []


def test_el6_build_changelog_satisfies_rpmlint(el6_build):
    need("rpmlint")
    (src,) = Path(el6_build["out"]).glob("*.src.rpm")
    spec = rpm_facts(src)["files"]["/esound.spec"].decode()
    entry = spec.split("%changelog\n", 1)[1].splitlines()[0]
    assert entry.endswith(" sunray build-esound <root@localhost> - 1:0.2.41-3.1.el6.oss")
    proc = subprocess.run(["rpmlint", *map(str, Path(el6_build["out"]).glob("*.rpm"))],
                          capture_output=True, text=True)
    assert "changelog" not in proc.stdout, proc.stdout


def test_el6_build_names_a_foreign_build_host(el6_build):
    host = host_distribution()
    if host is not None and host[:2] == ("el", "6"):
        pytest.skip("this host is EL6")
    (line,) = [x for x in el6_build["proc"].stderr.splitlines() if "source RPM on" in x]
    assert line.startswith("sunray: note: building the el6 source RPM on ")


def test_el6_dry_run_says_what_is_restored(esound_work, el6_srpm):
    out = esound_work / "el6-dry" / "dist"
    proc = build_esound("--srpm", el6_srpm, "--output", out, "--dry-run", tmpdir=esound_work / "el6-dry" / "tmp")
    assert proc.returncode == 0, proc.stderr
    assert "-rm -f $RPM_BUILD_ROOT%{_bindir}/esd $RPM_BUILD_ROOT%{_mandir}/man1/esd.1*\n" in proc.stdout
    assert "+%package daemon\n" in proc.stdout and "+%files daemon\n" in proc.stdout
    assert "restored: /usr/bin/esd (deleted or not packaged by the spec) ships in esound-daemon" in proc.stdout
    assert "spec: %package daemon added (esound-daemon: /usr/bin/esd and its man page" in proc.stdout
    assert not out.exists()


def test_esd_lost_in_the_build_is_said_truthfully(esound_work):
    # The deletion is a form we do not rewrite, and -tools lists all of
    # %{_bindir}: rpmbuild succeeds, but no RPM has esd. Not an ALSA problem.
    rm_line = "rm -f $RPM_BUILD_ROOT%{_bindir}/esd $RPM_BUILD_ROOT%{_mandir}/man1/esd.1*\n"
    spec = EL6_SPEC.replace(rm_line, "find $RPM_BUILD_ROOT -name esd -delete\n")
    spec = spec.replace("%{_bindir}/esdcat\n%{_mandir}/man1/esdcat.1*\n", "%{_bindir}/*\n%{_mandir}/man1/*\n")
    srpm = make_el6_srpm(esound_work / "el6-lost", spec)
    out = esound_work / "el6-lost" / "dist"
    proc = build_esound("--srpm", srpm, "--output", out, tmpdir=esound_work / "el6-lost" / "tmp")
    # The line number is the SRPM's own spec's.
    line = spec.splitlines().index("find $RPM_BUILD_ROOT -name esd -delete") + 1
    assert_clean_error(proc, 1, "no built RPM ships /usr/bin/esd (the spec deletes it in %install, "
                       f"line {line}: find $RPM_BUILD_ROOT -name esd -delete), not copied")
    closing = proc.stderr.strip().splitlines()[-1]
    assert "ALSA" not in closing, closing
    assert not list(out.glob("*.rpm"))
    assert list(out.glob("*.build.log"))
