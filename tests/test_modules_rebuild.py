"""rebuild-modules: real kbuild builds of the SRSS-like fixture against the
host's Debian kernel headers (two kernels: the "installed" one and its update),
installed into sandbox servers, checked with modinfo and depmod's output."""

import fcntl
import hashlib
import json
import os
import subprocess
import threading
import time

import pytest
from conftest import assert_clean_error, need, tree_snapshot
from modules_support import (
    ALL_KO,
    MODULES,
    host_kernels,
    installed,
    make_server,
    modinfo,
    rebuild,
    record,
    statuses,
)


def rebuild_json(top, *args, settings_file=None, code=0):
    proc = rebuild(top, "--format", "json", *args, settings_file=settings_file)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def kernels():
    return host_kernels()


@pytest.fixture(scope="module")
def built(tmp_path_factory, kernels):
    """One server built once for both kernels; tests using it do not change it."""
    top = make_server(tmp_path_factory.mktemp("built") / "root", kernels)
    doc = rebuild_json(top)
    return top, doc


@pytest.fixture
def one_kernel(tmp_path, kernels):
    """A fresh server with only the update kernel, built once."""
    top = make_server(tmp_path / "root", kernels[-1:])
    rebuild_json(top)
    return top, kernels[-1]


@pytest.mark.system
def test_builds_every_module_for_every_kernel_with_its_vermagic(built, kernels):
    top, doc = built
    assert statuses(doc) == {(k, m): "built" for k in kernels for m in MODULES}
    for kernel in kernels:
        kos = installed(top, kernel)
        assert sorted(kos) == ALL_KO
        dest = top / "lib/modules" / kernel / "extra/sunray"
        for name in ALL_KO:
            # the kernel asked for, not the machine's running kernel
            assert modinfo("vermagic", dest / name).startswith(kernel + " ")
            assert os.uname().release not in modinfo("vermagic", dest / name)
        dep = (top / "lib/modules" / kernel / "modules.dep").read_text()
        for name in ALL_KO:
            assert f"extra/sunray/{name}:" in dep
        rec = record(top, kernel)
        assert sorted(f for m in rec["modules"].values() for f in m["files"]) == ALL_KO
        for m in rec["modules"].values():
            for name, digest in m["files"].items():
                assert hashlib.sha256((dest / name).read_bytes()).hexdigest() == digest
        log = top / "var/log/sunray/modules" / kernel / "utdisk.log"
        # scratch space, never the source tree
        assert f"M={top}/usr/src" not in log.read_text()
        assert f"M={top}/var/tmp/sunray-kbuild-" in log.read_text()
        assert f"-C /usr/src/linux-headers-{kernel}" in log.read_text()
    # nothing was built inside the source tree
    assert not list((top / "usr/src/SUNWut").rglob("*.o"))
    assert not list((top / "usr/src/SUNWut").rglob("*.ko"))


@pytest.mark.system
def test_second_run_builds_nothing_and_changes_nothing(built, kernels):
    top, _ = built
    before = tree_snapshot(top)
    start = time.monotonic()
    doc = rebuild_json(top)
    elapsed = time.monotonic() - start
    assert statuses(doc) == {(k, m): "up to date" for k in kernels for m in MODULES}
    assert doc["changed"] is False
    assert tree_snapshot(top) == before
    assert elapsed < 5  # a no-op runs no make at all (the bench measures it properly)


@pytest.mark.system
def test_text_output_is_a_table_with_log_paths(built, kernels):
    top, _ = built
    proc = rebuild(top)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:4] == ["KERNEL", "MODULE", "STATUS", "SECONDS"]
    assert any(line.startswith(kernels[0]) and " utdisk " in line and "up to date" in line
               and line.endswith(f"modules/{kernels[0]}/utdisk.log") for line in lines)


@pytest.mark.system
def test_dry_run_plans_and_touches_nothing(built, kernels):
    top, _ = built
    before = tree_snapshot(top)
    doc = rebuild_json(top, "--dry-run", "--force")
    assert set(statuses(doc).values()) == {"would build"}
    doc = rebuild_json(top, "--dry-run")
    assert set(statuses(doc).values()) == {"up to date"}
    assert tree_snapshot(top) == before


@pytest.mark.system
def test_status_for_doctor_is_read_only(built, kernels):
    from sunray.core.config import defaults
    from sunray.core.rootfs import Root
    from sunray.modules.rebuild import status

    top, _ = built
    before = tree_snapshot(top)
    rows = status(Root(top), defaults())
    assert [r["kernel"] for r in rows] == kernels
    for r in rows:
        assert r["headers"] and r["current"] and r["vermagic_ok"]
        assert r["installed"] == ALL_KO
    assert tree_snapshot(top) == before


def test_missing_headers_skipped_by_default_failure_when_asked(tmp_path):
    top = make_server(tmp_path / "root", [])
    (top / "lib/modules/9.9.9-1-amd64/kernel").mkdir(parents=True)
    proc = rebuild(top)
    assert proc.returncode == 0, proc.stderr
    assert "9.9.9-1-amd64: skipped, no headers: install linux-headers-9.9.9-1-amd64" in proc.stdout
    proc = rebuild(top, "--kernel", "9.9.9-1-amd64")
    assert_clean_error(proc, 1, "failed")
    assert "install linux-headers-9.9.9-1-amd64" in proc.stdout + proc.stderr
    # RHEL names its package differently
    (top / "etc/debian_version").unlink()
    (top / "etc/redhat-release").write_text("Red Hat Enterprise Linux Server release 5.11\n")
    proc = rebuild(top, "--kernel", "9.9.9-1-amd64")
    assert_clean_error(proc, 1)
    assert "kernel-devel-9.9.9-1-amd64" in proc.stdout + proc.stderr
    # a dangling build link is "no headers" too
    (top / "lib/modules/9.9.9-1-amd64/build").symlink_to("/usr/src/linux-headers-9.9.9-1-amd64")
    assert "kernel-devel-9.9.9-1-amd64" in rebuild(top).stdout


@pytest.mark.system
def test_force_rebuilds_and_a_changed_source_rebuilds_only_that_module(one_kernel):
    top, kernel = one_kernel
    dest = top / "lib/modules" / kernel / "extra/sunray"
    inodes = {p.name: p.stat().st_ino for p in dest.glob("*.ko")}
    doc = rebuild_json(top, "--force", "--jobs", "2")
    assert set(statuses(doc).values()) == {"built"}
    assert all(p.stat().st_ino != inodes[p.name] for p in dest.glob("*.ko"))
    # one kernel: one kbuild pass for its three module directories, and make
    # owns the two jobs (no outer pool stacking another -j on top)
    log = (top / "var/log/sunray/modules" / kernel / "utio.log").read_text()
    assert "utadem utdisk utio (one kbuild pass)" in log
    assert log.count("make -j2 -C ") == 1 and "-j1" not in log

    src = top / "usr/src/SUNWut/utio/utio.c"
    src.write_text(src.read_text().replace('MODULE_LICENSE("GPL");',
                                           'MODULE_LICENSE("GPL");\nMODULE_VERSION("2.0");'))
    others = {n: b for n, b in installed(top, kernel).items() if n != "utio.ko"}
    from sunray.core.config import defaults
    from sunray.core.rootfs import Root
    from sunray.modules.rebuild import status

    [row] = status(Root(top), defaults())
    assert row["current"] is False and row["vermagic_ok"] is True  # stale, still loadable
    doc = rebuild_json(top)
    assert statuses(doc) == {(kernel, "utadem"): "up to date", (kernel, "utdisk"): "up to date",
                             (kernel, "utio"): "built"}
    assert modinfo("version", dest / "utio.ko") == "2.0"
    assert {n: b for n, b in installed(top, kernel).items() if n != "utio.ko"} == others

    # a damaged installed module is noticed and rebuilt
    (dest / "utadem.ko").write_bytes(b"garbage")
    doc = rebuild_json(top)
    assert statuses(doc)[(kernel, "utadem")] == "built"
    assert modinfo("vermagic", dest / "utadem.ko").startswith(kernel + " ")


@pytest.mark.system
def test_broken_source_fails_loudly_and_keeps_the_installed_modules(one_kernel):
    top, kernel = one_kernel
    before_kos = installed(top, kernel)
    before_record = record(top, kernel)
    src = top / "usr/src/SUNWut/utdisk/utdisk.c"
    src.write_text(src.read_text().replace("return 0;", "return 0 +;"))
    (top / "usr/src/SUNWut/utio/utio.c").write_text(
        (top / "usr/src/SUNWut/utio/utio.c").read_text() + "\n/* changed too */\n")
    proc = rebuild(top)
    assert_clean_error(proc, 1, "utdisk/" + kernel)
    log = top / "var/log/sunray/modules" / kernel / "utdisk.log"
    assert f"last 20 lines of {log}" in proc.stdout or "lines of " + str(log) in proc.stdout
    assert "error:" in proc.stdout  # gcc's message, from the log's tail
    assert "error:" in log.read_text()
    # the failed pass was retried module by module: utio's own log is clean
    utio_log = (top / "var/log/sunray/modules" / kernel / "utio.log").read_text()
    assert "utdisk" not in utio_log and "# done: utio.ko" in utio_log
    # the old modules, all of them, and the record are untouched
    assert installed(top, kernel) == before_kos
    assert record(top, kernel) == before_record
    doc = json.loads(rebuild(top, "--format", "json").stdout)
    st = statuses(doc)
    assert st[(kernel, "utdisk")] == "failed"
    assert st[(kernel, "utio")] == "skipped"  # built fine, held back with its kernel
    failed = [p for p in doc["pairs"] if p["status"] == "failed"][0]
    assert failed["log"] == str(log) and any("error:" in line for line in failed["log_tail"])
    assert not list((top / "lib/modules" / kernel / "extra/sunray").glob(".*"))


@pytest.mark.system
def test_lock_makes_a_second_run_wait_then_say_who_holds_it(one_kernel, tmp_path):
    top, kernel = one_kernel
    lock = top / "var/lib/sunray/sunray.lock"
    settings_file = tmp_path / "cfg.yaml"
    settings_file.write_text("sunray:\n  modules:\n    lock_timeout: 1\n")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"pid 4242: sunray rebuild-modules --kernel X\n")
        start = time.monotonic()
        proc = rebuild(top, "--force", settings_file=settings_file)  # a no-op takes no lock
        assert time.monotonic() - start >= 1
        assert_clean_error(proc, 1, "held by pid 4242: sunray rebuild-modules", "gave up after 1 s")
        assert "waiting for /var/lib/sunray/sunray.lock" in proc.stderr
    finally:
        os.close(fd)
    # released: a run goes through
    assert rebuild(top, settings_file=settings_file).returncode == 0


@pytest.mark.system
def test_two_runs_at_once_do_not_corrupt_anything(one_kernel):
    top, kernel = one_kernel
    results = []

    def run():
        results.append(rebuild(top, "--force", "--format", "json"))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.returncode for p in results] == [0, 0], [p.stderr for p in results]
    assert any("waiting for" in p.stderr for p in results)
    rec = record(top, kernel)
    dest = top / "lib/modules" / kernel / "extra/sunray"
    for m in rec["modules"].values():
        for name, digest in m["files"].items():
            assert hashlib.sha256((dest / name).read_bytes()).hexdigest() == digest
            assert modinfo("vermagic", dest / name).startswith(kernel + " ")
    assert sorted(p.name for p in dest.iterdir()) == ALL_KO  # no temp files left
    assert set(statuses(json.loads(rebuild(top, "--format", "json").stdout)).values()) == \
        {"up to date"}


@pytest.mark.system
def test_patch_applies_only_to_its_kernel_range(tmp_path, kernels):
    need("patch")
    old, new = kernels
    top = make_server(tmp_path / "root", kernels)
    patch = top / "usr/src/SUNWut/patches/utadem-new-kernels.patch"
    patch.parent.mkdir()
    patch.write_text(
        "--- a/utadem.c\n+++ b/utadem.c\n@@ -21,3 +21,4 @@\n"
        ' MODULE_LICENSE("GPL");\n'
        ' MODULE_DESCRIPTION("Sun Ray audio device emulation (test stand-in)");\n'
        "+MODULE_VERSION(\"patched\");\n")
    settings_file = tmp_path / "cfg.yaml"
    settings_file.write_text(
        "sunray:\n  modules:\n    patches:\n"
        f"      - {{file: patches/utadem-new-kernels.patch, kernel_regex: '^{new}$', "
        "module: utadem}\n")
    doc = rebuild_json(top, "--kernel", old, "--kernel", new, settings_file=settings_file)
    assert set(statuses(doc).values()) == {"built"}
    assert modinfo("version", top / f"lib/modules/{new}/extra/sunray/utadem.ko") == "patched"
    assert modinfo("version", top / f"lib/modules/{old}/extra/sunray/utadem.ko") == ""
    # the source tree itself is never patched
    assert "patched" not in (top / "usr/src/SUNWut/utadem/utadem.c").read_text()
    # same patch, same result: up to date; without the patch: a rebuild
    assert set(statuses(rebuild_json(top, settings_file=settings_file)).values()) == {"up to date"}
    assert statuses(rebuild_json(top))[(new, "utadem")] == "built"


@pytest.mark.system
def test_signing_with_the_kernels_sign_file(tmp_path, kernels):
    need("openssl")
    kernel = kernels[-1]
    top = make_server(tmp_path / "root", [kernel])
    keys = top / "etc/sunray/keys"
    keys.mkdir(parents=True)
    subprocess.run(["openssl", "req", "-new", "-x509", "-nodes", "-days", "1", "-batch",
                    "-subj", "/CN=sunray test signing key", "-newkey", "rsa:2048",
                    "-keyout", str(keys / "mok.key"), "-outform", "DER",
                    "-out", str(keys / "mok.der")], check=True, capture_output=True)
    settings_file = tmp_path / "cfg.yaml"
    settings_file.write_text(
        "sunray:\n  modules:\n    sign:\n      enabled: true\n"
        "      key: /etc/sunray/keys/mok.key\n      cert: /etc/sunray/keys/mok.der\n"
        "      hash: sha256\n")
    doc = rebuild_json(top, settings_file=settings_file)
    assert set(statuses(doc).values()) == {"built"}
    for name in ALL_KO:
        ko = top / f"lib/modules/{kernel}/extra/sunray/{name}"
        assert modinfo("signer", ko) == "sunray test signing key"
        assert modinfo("sig_hashalgo", ko) == "sha256"
    # a signing failure is a failure, and the signed modules stay
    before = installed(top, kernel)
    (keys / "mok.der").unlink()
    proc = rebuild(top, "--force", settings_file=settings_file)
    assert_clean_error(proc, 1, "failed")
    assert "signing: cert /etc/sunray/keys/mok.der not found" in proc.stdout
    assert installed(top, kernel) == before


@pytest.mark.system
def test_boot_check_builds_for_the_chosen_kernel_then_is_a_no_op(tmp_path, kernels):
    from sunray.core.config import defaults
    from sunray.core.rootfs import Root
    from sunray.modules.rebuild import boot_check

    old, new = kernels
    top = make_server(tmp_path / "root", kernels)
    settings = defaults()
    settings["modules"]["running_kernel"] = old
    report = boot_check(Root(top), settings)
    assert not report.failure
    assert {p.kernel for p in report.pairs} == {old}
    assert sorted(installed(top, old)) == ALL_KO and installed(top, new) == {}
    report = boot_check(Root(top), settings)
    assert {p.status for p in report.pairs} == {"up to date"}
    # without running_kernel: the newest kernel with headers
    settings["modules"]["running_kernel"] = ""
    assert {p.kernel for p in boot_check(Root(top), settings).pairs} == {new}


@pytest.mark.system
def test_install_never_follows_a_symlink_out_of_the_root(tmp_path, kernels):
    kernel = kernels[-1]
    top = make_server(tmp_path / "root", [kernel])
    outside = tmp_path / "outside"
    outside.mkdir()
    (top / f"lib/modules/{kernel}/extra").symlink_to(outside)
    before = tree_snapshot(top)
    proc = rebuild(top)
    assert_clean_error(proc, 2, "is a symlink; refusing to install through it",
                       "nothing was changed")
    assert list(outside.iterdir()) == []
    assert tree_snapshot(top) == before  # checked first: no state directory, no log


def test_boot_check_without_srss_sources_is_a_quiet_no_op(sandbox):
    from sunray.core.config import defaults
    from sunray.core.rootfs import Root
    from sunray.modules.rebuild import boot_check

    report = boot_check(Root(sandbox), defaults())
    assert not report.failure and not report.pairs
    assert "no SRSS module sources" in report.to_text()


def test_bad_input_is_refused_before_the_lock_and_leaves_nothing(sandbox):
    # a Makefile naming a hostile module: refused while planning, and the
    # plan is made before the lock (which would create /var/lib/sunray)
    src = sandbox / "usr/src/SUNWut/utio"
    src.mkdir(parents=True)
    (src / "Makefile").write_text("C_FILES = x`id>PWNED`.c\nobj-m := $(COBJ)\n")
    (src / "utio.c").write_text("int x;\n")
    before = tree_snapshot(sandbox)
    proc = rebuild(sandbox)
    assert_clean_error(proc, 2, "refused")
    assert tree_snapshot(sandbox) == before


@pytest.mark.parametrize("args", [["--kernel", "--force"], ["--force", "--kernel"],
                                  ["--kernel", "--dry-run"],
                                  # Before: the second --kernel was dropped silently.
                                  ["--kernel", "6.1.0-1-amd64", "--kernel"],
                                  ["--kernel", "6.1.0-1-amd64", "--kernel", "--force"]])
def test_kernel_without_a_value_is_bad_usage_not_every_kernel(sandbox, args):
    before = tree_snapshot(sandbox)
    proc = rebuild(sandbox, *args)
    assert_clean_error(proc, 2, "kernel")
    assert proc.stdout == ""
    assert tree_snapshot(sandbox) == before
