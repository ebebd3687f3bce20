"""build-esound and check-esound with the real rpmbuild and our stand-in esound.

The stand-in (tests/fixtures/esound) behaves like the real esound: configure
links libasound when ALSA headers exist, unless --disable-alsa. The control
test proves that: a stock rebuild of its SRPM requires libasound.so.2.
"""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import assert_clean_error, need, need_root, run_sunray, tree_snapshot
from esound_support import (
    STOCK_SPEC,
    dist_tag,
    listing,
    make_srpm,
    make_tarball,
    rpm_facts,
    stock_rebuild,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sunray.errors import UsageError
from sunray.esound import elf as elfdeps
from sunray.esound import spec as specedit


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    need("rpmbuild", "gcc", "make")
    if not Path("/usr/include/alsa/asoundlib.h").exists():
        pytest.fail("libasound2-dev is missing (see .ci/apt-packages)")
    return tmp_path_factory.mktemp("esound")


@pytest.fixture(scope="module")
def srpm(work):
    return make_srpm(work / "stock")


@pytest.fixture(scope="module")
def stock_rpm(work, srpm):
    return stock_rebuild(work / "stock", srpm)


def build(*args, tmpdir):
    """Run build-esound with a private TMPDIR, to see that nothing is left there."""
    tmpdir.mkdir(parents=True, exist_ok=True)
    return run_sunray("build-esound", *args, env={"TMPDIR": str(tmpdir)})


@pytest.fixture(scope="module")
def oss_build(work, srpm):
    out = work / "dist"
    proc = build("--srpm", srpm, "--output", out, "--format", "json", tmpdir=work / "tmp-ok")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"proc": proc, "out": out, "result": json.loads(proc.stdout), "tmp": work / "tmp-ok"}


def _binary(out):
    (rpm,) = [p for p in Path(out).glob("*.rpm") if not p.name.endswith(".src.rpm")]
    return rpm


# --- control -------------------------------------------------------------------


def test_control_stock_rebuild_links_alsa(stock_rpm):
    facts = rpm_facts(stock_rpm)
    assert "libasound.so.2()(64bit)" in facts["requires"]
    esd = elfdeps.parse(facts["files"]["/usr/bin/esd"])
    assert "libasound.so.2" in esd.needed


def test_check_esound_fails_on_stock_rpm(stock_rpm):
    proc = run_sunray("check-esound", "--rpm", stock_rpm)
    assert_clean_error(proc, 1, "ALSA found", "/usr/bin/esd", "libasound")
    assert "ALSA  " in proc.stdout


# --- build-esound from the SRPM -------------------------------------------------


def test_build_esound_output_has_no_alsa(oss_build):
    binary = _binary(oss_build["out"])
    facts = rpm_facts(binary)
    assert not [r for r in facts["requires"] if "libasound" in r or "alsa" in r]
    assert facts["release"] == f"2{dist_tag()}.oss"
    assert "/usr/bin/esd" in facts["files"]
    libs = [p for p in facts["files"] if "/libesd.so" in p]
    assert libs, facts["files"].keys()
    for path in ["/usr/bin/esd", *libs]:
        info = elfdeps.parse(facts["files"][path])
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


def test_check_esound_passes_on_built_rpm(oss_build):
    proc = run_sunray("check-esound", "--rpm", _binary(oss_build["out"]), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["failure"] is None
    assert {f["path"] for f in data["files"]} >= {"/usr/bin/esd"}
    assert not any(f["alsa"] for f in data["files"])


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
def test_build_esound_configure_forms(work, variant):
    old, new = VARIANTS[variant]
    assert old in STOCK_SPEC
    srpm = make_srpm(work / variant, STOCK_SPEC.replace(old, new))
    out = work / variant / "dist"
    proc = build("--srpm", srpm, "--output", out, tmpdir=work / variant / "tmp")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    facts = rpm_facts(_binary(out))
    assert not [r for r in facts["requires"] if "libasound" in r]
    assert not elfdeps.parse(facts["files"]["/usr/bin/esd"]).needs("libasound")
    assert facts["release"].endswith(".oss")


# --- --dry-run -----------------------------------------------------------------------


def test_dry_run_prints_diff_and_builds_nothing(work, srpm):
    out = work / "dry" / "dist"
    proc = build("--srpm", srpm, "--output", out, "--dry-run", tmpdir=work / "dry" / "tmp")
    assert proc.returncode == 0, proc.stderr
    assert "-%configure\n+%configure --disable-alsa" in proc.stdout
    assert "-Release: 2%{?dist}\n+Release: 2%{?dist}.oss" in proc.stdout
    assert "-BuildRequires: alsa-lib-devel, audiofile-devel\n+BuildRequires: audiofile-devel" in proc.stdout
    assert not out.exists()
    assert listing(work / "dry" / "tmp") == []


# --- bad input --------------------------------------------------------------------------


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


def test_bad_empty_file(work):
    empty = work / "empty.src.rpm"
    empty.write_bytes(b"")
    _bad(work, "empty", empty, "empty file")


def test_bad_random_bytes(work):
    junk = work / "junk.src.rpm"
    junk.write_bytes(os.urandom(4096))
    _bad(work, "junk", junk, "not an RPM")


def test_bad_random_bytes_after_rpm_lead(work):
    junk = work / "lead.src.rpm"
    junk.write_bytes(b"\xed\xab\xee\xdb" + os.urandom(4000))
    _bad(work, "lead", junk, "corrupt or truncated RPM header")


@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.9])
def test_bad_truncated_srpm(work, srpm, fraction):
    data = srpm.read_bytes()
    cut = work / f"cut-{fraction}.src.rpm"
    cut.write_bytes(data[: int(len(data) * fraction)])
    _bad(work, f"cut-{fraction}", cut, "truncated")


def test_bad_corrupt_payload(work, srpm):
    data = bytearray(srpm.read_bytes())
    data[-100] ^= 0xFF
    bad = work / "corrupt.src.rpm"
    bad.write_bytes(bytes(data))
    _bad(work, "corrupt", bad, "payload digest mismatch")


def test_bad_binary_rpm(work, stock_rpm):
    _bad(work, "binary", stock_rpm, "a binary RPM", ".src.rpm")


def test_bad_srpm_of_other_package(work):
    other = make_srpm(
        work / "other",
        STOCK_SPEC.replace("Name: esound", "Name: pulseaudio").replace("Source0: esound-", "Source0: pulseaudio-"),
        name="pulseaudio",
    )
    _bad(work, "other", other, "'pulseaudio'", "not of esound")


def test_bad_spec_without_configure(work):
    spec = STOCK_SPEC.replace("%configure\n", "")
    srpm = make_srpm(work / "noconf", spec)
    _bad(work, "noconf", srpm, "no configure step", "refusing")


def test_bad_zstd_payload_without_zstandard(work, tmp_path):
    zsrpm = make_srpm(work / "zstd", defines=["_source_payload w19.zstdio"])
    # Hide the installed zstandard module: the program must name what to install.
    shim = tmp_path / "shim" / "zstandard"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    _bad(work, "zstd", zsrpm, "pip install zstandard", "rpmfile[zstd]",
         env={"PYTHONPATH": str(shim.parent)})


def test_zstd_payload_with_zstandard_dry_run(work):
    zsrpm = make_srpm(work / "zstd-ok", defines=["_source_payload w19.zstdio"])
    proc = run_sunray("build-esound", "--srpm", zsrpm, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "+%configure --disable-alsa" in proc.stdout


def test_bad_legacy_lzma_payload(work):
    lsrpm = make_srpm(work / "lzma", defines=["_source_payload w9.lzdio"])
    _bad(work, "lzma", lsrpm, "legacy lzma")


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(flips=st.lists(st.tuples(st.integers(0, 2999), st.integers(0, 255)), min_size=1, max_size=6))
def test_mutated_srpm_is_usage_error_or_valid(srpm, flips):
    """Untrusted RPM bytes: whatever the damage, a UsageError or a valid read."""
    from sunray.esound.sources import read_srpm

    data = bytearray(srpm.read_bytes())
    for pos, value in flips:
        data[pos % len(data)] = value
    path = srpm.parent / "mutated.src.rpm"
    path.write_bytes(bytes(data))
    try:
        facts, files, spec = read_srpm(path)
    except UsageError:
        return
    assert facts["name"] == "esound" and spec in files


def test_bad_usage(work, srpm):
    assert_clean_error(run_sunray("build-esound"), 2, "exactly one of")
    assert_clean_error(run_sunray("build-esound", "--srpm", srpm, "--suffix", "o/ss", "--dry-run"), 2, "--suffix")
    assert_clean_error(run_sunray("build-esound", "--srpm", work / "missing.src.rpm"), 2, "No such file")


def test_output_symlink_refused(work, srpm):
    real = work / "real-out"
    real.mkdir()
    link = work / "link-out"
    link.symlink_to(real)
    proc = build("--srpm", srpm, "--output", link, tmpdir=work / "symlink-tmp")
    assert_clean_error(proc, 2, "symlink")
    assert listing(real) == []


# --- a failing build ---------------------------------------------------------------------


def test_failed_rpmbuild_shows_log_tail_and_keeps_log(work):
    spec = STOCK_SPEC.replace("make %{?_smp_mflags}\n",
                              "make %{?_smp_mflags}\necho sunray-test-breaks-here >&2\nexit 3\n")
    srpm = make_srpm(work / "fails", spec)
    out = work / "fails" / "dist"
    proc = build("--srpm", srpm, "--output", out, tmpdir=work / "fails" / "tmp")
    assert_clean_error(proc, 1, "rpmbuild failed", "full log:")
    assert "sunray-test-breaks-here" in proc.stdout  # the tail of the log
    (log,) = out.glob("*.build.log")
    assert "sunray-test-breaks-here" in log.read_text()
    assert not list(out.glob("*.rpm"))
    assert listing(work / "fails" / "tmp") == []


# --- --tarball ------------------------------------------------------------------------------


def test_build_from_tarball(work):
    tarball = make_tarball(work, version="0.2.41", compression="gz")
    out = work / "tarball" / "dist"
    proc = build("--tarball", tarball, "--output", out, tmpdir=work / "tarball" / "tmp")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    binary = _binary(out)
    facts = rpm_facts(binary)
    assert (facts["version"], facts["release"]) == ("0.2.41", f"1{dist_tag()}.oss")
    assert not [r for r in facts["requires"] if "libasound" in r]
    assert "/usr/bin/esd" in facts["files"]
    assert not elfdeps.parse(facts["files"]["/usr/bin/esd"]).needs("libasound")
    assert listing(work / "tarball" / "tmp") == []


def test_tarball_bad_inputs(work):
    junk = work / "esound-0.2.41.tar.gz"
    junk.parent.mkdir(exist_ok=True)
    cases = []
    (work / "badtar").mkdir()
    junk = work / "badtar" / "esound-0.2.41.tar.gz"
    junk.write_bytes(os.urandom(2000))
    cases.append((junk, "not a readable tar archive"))
    noconf = make_tarball(work / "badtar", version="0.2.40", compression="gz", skip={"configure"})
    cases.append((noconf, "no esound-0.2.40/configure"))
    (work / "badtar" / "evil").mkdir()
    evil = make_tarball(work / "badtar" / "evil", version="0.2.41", compression="gz",
                        extra={"esound-0.2.41/../../etc/x": b"x"})
    cases.append((evil, "unsafe"))
    wrong_name = work / "badtar" / "sound.tar.gz"
    shutil.copy(noconf, wrong_name)
    cases.append((wrong_name, "esound-VERSION.tar.gz"))
    for path, needle in cases:
        out = work / "badtar" / "dist"
        proc = build("--tarball", path, "--output", out, tmpdir=work / "badtar" / "tmp")
        assert_clean_error(proc, 2, needle)
        assert not out.exists()
        assert listing(work / "badtar" / "tmp") == []


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


def test_check_installed_alsa_esd_fails_naming_file(sandbox, stock_rpm):
    _install(sandbox, stock_rpm)
    before = tree_snapshot(sandbox)
    proc = run_sunray("check-esound", "--installed", "--root", sandbox)
    assert_clean_error(proc, 1, "ALSA found", "/usr/bin/esd needs libasound")
    assert tree_snapshot(sandbox) == before


def test_check_installed_oss_esd_passes(sandbox, oss_build):
    _install(sandbox, _binary(oss_build["out"]))
    proc = run_sunray("check-esound", "--installed", "--root", sandbox, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["installed"] is True
    paths = {f["path"] for f in data["files"]}
    assert "/usr/bin/esd" in paths and any("libesd.so.0." in p for p in paths)


def test_check_installed_link_outside_root_is_not_followed(sandbox, oss_build, stock_rpm, tmp_path):
    _install(sandbox, _binary(oss_build["out"]))
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


def test_check_installed_api_for_the_doctor(sandbox, stock_rpm):
    from sunray.esound.check import check_installed
    from sunray.rootfs import Root

    _install(sandbox, stock_rpm)
    report = check_installed(Root(sandbox))
    assert "/usr/bin/esd" in report.failure
    assert report.to_dict()["installed"] is True


def test_check_esound_usage_errors(srpm, tmp_path):
    assert_clean_error(run_sunray("check-esound"), 2, "give RPM files or --installed")
    assert_clean_error(run_sunray("check-esound", "--rpm", srpm), 2, "source RPM")
    junk = tmp_path / "junk.rpm"
    junk.write_bytes(b"garbage" * 10)
    assert_clean_error(run_sunray("check-esound", "--rpm", junk), 2, "not an RPM")


# --- the spec rewrite, unit level ------------------------------------------------------------


def test_rewrite_is_exact_for_the_stock_spec():
    edit = specedit.rewrite(STOCK_SPEC, "oss", "0.2.36", "2", when=0)
    assert edit.release == "2%{?dist}.oss"
    assert edit.text.split("%changelog")[0].count("--disable-alsa") == 1
    assert "* Thu Jan 01 1970 sunray build-esound - 0.2.36-2.oss\n" in edit.text
    # Leaving the changelog aside, exactly three lines changed.
    old = STOCK_SPEC.splitlines()
    new = [x for x in edit.text.splitlines() if x not in old]
    assert len(new) == 3 + 3  # configure, Release, BuildRequires + the entry's three text lines


def test_rewrite_forms():
    def rw(fragment):
        return specedit.rewrite(STOCK_SPEC.replace("%configure\n", fragment), "oss", "1", "1").text

    assert "%{configure} --disable-alsa --with-x\n" in rw("%{configure} --with-x\n")
    assert "./configure --disable-alsa \\\n  --prefix=/usr\n" in rw("./configure \\\n  --prefix=/usr\n")
    out = rw("%configure --enable-alsa=yes --with-x\n")
    assert "--enable-alsa" not in out and "%configure --disable-alsa --with-x" in out
    already = rw("%configure --disable-alsa\n")
    assert already.split("%changelog")[0].count("--disable-alsa") == 1
    # A comment mentioning configure is not a configure step.
    with pytest.raises(UsageError):
        specedit.rewrite(STOCK_SPEC.replace("%configure\n", "# %configure\n"), "oss", "1", "1")


def test_rewrite_without_changelog_section_adds_one():
    spec = STOCK_SPEC.split("%changelog")[0]
    text = specedit.rewrite(spec, "oss", "0.2.36", "2").text
    assert text.rstrip().split("\n%changelog\n")[1].startswith("* ")


# --- who runs the source RPM's build scripts -------------------------------------------

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
    return rpm_facts(_binary(out))["files"][f"/usr/share/esound-build/{name}"].decode()


@pytest.fixture(scope="module")
def probe_build(work):
    """build-esound of PROBE_SPEC as root from a terminal, with a marker
    variable in root's environment."""
    need_root()
    srpm = make_srpm(work / "probe", PROBE_SPEC)
    out = work / "probe" / "dist"
    tmpdir = open_tmpdir()
    env = {k: v for k, v in os.environ.items() if k != "SUNRAY_DEBUG"}
    env.update({"TMPDIR": str(tmpdir), MARKER: "leaked"})
    try:
        code, output = run_on_terminal(
            [sys.executable, "-m", "sunray", "build-esound", "--srpm", str(srpm),
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
    facts = rpm_facts(_binary(out))
    assert not [r for r in facts["requires"] if "libasound" in r]
    assert not elfdeps.parse(facts["files"]["/usr/bin/esd"]).needs("libasound")
    for p in out.iterdir():
        assert os.stat(p).st_uid == 0  # copied out by root, not left to nobody


def test_build_has_no_controlling_terminal(probe_build):
    """No ctty: the SRPM cannot TIOCSTI keystrokes into the admin's shell."""
    tty = _probe(probe_build["out"], "tty")
    assert "no-tty" in tty and "tty-opened" not in tty
    assert "No such device or address" in tty  # ENXIO: no controlling terminal


def test_build_gets_a_minimal_environment(probe_build):
    from sunray.esound.builduser import BUILD_PATH

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
    from sunray.esound.builduser import build_user

    user = build_user({})
    assert (user.name, user.dropped) == ("nobody", True) and user.uid != 0
    with pytest.raises(UsageError, match="build_user 'root' is root.*--allow-root-build"):
        build_user({"build_user": "root"})
    root = build_user({"build_user": "root"}, allow_root_build=True)
    assert (root.name, root.uid, root.dropped) == ("root", 0, False)
    for bad in ("no-such-user-here", "x;id", "", 7):
        with pytest.raises(UsageError, match="build_user"):
            build_user({"build_user": bad or "$"})


@pytest.mark.parametrize("user, needles", [
    ("root", ("is root", "--allow-root-build")),
    ("no-such-user-here", ("sunray.esound.build_user", "no such user")),
])
def test_bad_build_user_is_refused_before_building(work, srpm, tmp_path, user, needles):
    need_root()
    proc = run_sunray("build-esound", "--srpm", srpm, "--output", tmp_path / "dist",
                      env={"INVOKE_SUNRAY_ESOUND_BUILD_USER": user})
    assert_clean_error(proc, 2, *needles)
    assert listing(tmp_path / "dist") is None


@pytest.mark.parametrize("link", ["ln -s /etc/shadow", "ln %{_sourcedir}/esound-0.2.36.tar.bz2"])
def test_links_planted_in_the_build_tree_are_not_followed(work, tmp_path, link):
    """The build user owns RPMS/: a link to a secret there (or a hard link,
    which old kernels allow to any file) must not be copied out by root."""
    need_root()
    spec = STOCK_SPEC.replace(
        "make install DESTDIR=$RPM_BUILD_ROOT\n",
        "make install DESTDIR=$RPM_BUILD_ROOT\nmkdir -p %{_rpmdir}/noarch\n"
        f"{link} %{{_rpmdir}}/noarch/shadow.rpm\n",
    )
    srpm = make_srpm(tmp_path / "planted", spec)
    out = tmp_path / "dist"
    proc = run_sunray("build-esound", "--srpm", srpm, "--output", out)
    assert_clean_error(proc, 1, "RPMS/noarch/shadow.rpm is not a plain file")
    assert not out.exists() or not list(out.glob("*.rpm"))
