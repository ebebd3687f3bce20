"""Installing a kernel's modules, in-process with stand-in .ko files (no
kbuild): all of them or none, whatever fails, and what the report says."""

import errno
import json
import os
from pathlib import Path

import pytest

from sunray.core.config import defaults
from sunray.core.rootfs import Root
from sunray.modules import install
from sunray.modules.install import install_kernel, settle_kernel
from sunray.modules.plan import BuiltFile, ModuleBuild
from sunray.modules.rebuild import _finish
from sunray.modules.results import ModuleRow, ModulesReport
from sunray.modules.settings import Job

KERNEL = "6.1.0-57-amd64"


@pytest.fixture
def job(sandbox, monkeypatch):
    (sandbox / "lib/modules" / KERNEL).mkdir(parents=True)
    # depmod is not what these tests are about: a stand-in that writes a
    # modules.dep naming whatever .ko files are installed
    def fake_update(job, kernel, dest_rel, files):
        dest = job.dest_dir(kernel)
        lines = [f"{dest_rel}/{p.name}:\n" for p in sorted(dest.glob("*.ko"))]
        (job.kernel_dir(kernel) / "modules.dep").write_text("".join(lines))
        return None

    monkeypatch.setattr(install.index, "update", fake_update)
    return Job.start(Root(sandbox), defaults())


def builds_of(tmp_path, contents):
    """ModuleBuilds for {module: {ko name: bytes}} with the files in scratch space."""
    scratch = tmp_path / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    out = []
    for module, files in contents.items():
        build = ModuleBuild(ModuleRow(KERNEL, module), srcdir=scratch, headers=scratch,
                            input_digest=f"in-{module}", patches=[])
        for name, data in files.items():
            (scratch / name).write_bytes(data)
            build.built.append(BuiltFile(name, scratch / name, f"d-{name}"))
        out.append(build)
    return out


def dest_files(job):
    dest = job.dest_dir(KERNEL)
    if not dest.is_dir():
        return {}
    return {p.name: p.read_bytes() if p.is_file() else "dir" for p in sorted(dest.iterdir())}


OLD = {"utadem": {"utadem.ko": b"old a"}, "utdisk": {"utdisk.ko": b"old d", "utdiskctl.ko": b"old c"},
       "utio": {"utio.ko": b"old i"}}
NEW = {"utadem": {"utadem.ko": b"new a"}, "utdisk": {"utdisk.ko": b"new d", "utdiskctl.ko": b"new c"},
       "utio": {"utio.ko": b"new i"}}


def test_a_failing_rename_puts_the_old_set_back_whole(job, tmp_path, monkeypatch):
    install_kernel(job, KERNEL, builds_of(tmp_path / "1", OLD))
    before = dest_files(job)
    record_before = (job.root.state("modules", f"{KERNEL}.json")).read_bytes()
    real_replace = os.replace
    calls = []

    def failing_replace(src, dst, *args, **kwargs):
        calls.append(dst)
        if len(calls) == 3:  # the third .ko of four
            raise OSError(errno.EIO, "Input/output error", str(src))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(install.os, "replace", failing_replace)
    builds = builds_of(tmp_path / "2", NEW)
    report = ModulesReport()
    settle_kernel(job, KERNEL, builds, report)
    assert dest_files(job) == before  # every old file, no staged or kept-aside one
    failed = {b.row.status for b in builds}
    assert failed == {"failed"}
    detail = builds[0].row.detail
    assert detail.startswith("install failed: /lib/modules/") and detail.endswith(
        ": Input/output error"), detail
    _finish(report, type("P", (), {"rows": [b.row for b in builds]})(), 0.0)
    assert report.failure == detail and "build(s) failed" not in report.failure
    # the record names the files that are there: a removal or a rerun finds them
    record = json.loads(job.root.state("modules", f"{KERNEL}.json").read_text())
    assert record["modules"] == json.loads(record_before)["modules"]


def test_an_io_error_while_staging_installs_nothing(job, tmp_path, monkeypatch):
    install_kernel(job, KERNEL, builds_of(tmp_path / "1", OLD))
    before = dest_files(job)
    real_copy = install.shutil.copyfileobj
    calls = []

    def failing_copy(fin, fout, *args):
        calls.append(fin.name)
        if len(calls) == 2:
            raise OSError(errno.EIO, "Input/output error")
        return real_copy(fin, fout, *args)

    monkeypatch.setattr(install.shutil, "copyfileobj", failing_copy)
    builds = builds_of(tmp_path / "2", NEW)
    report = ModulesReport()
    settle_kernel(job, KERNEL, builds, report)
    assert dest_files(job) == before
    name = Path(calls[1]).name
    assert builds[0].row.detail == \
        f"install failed: /lib/modules/{KERNEL}/extra/sunray/{name}: Input/output error"


def test_a_directory_where_a_module_goes_is_refused_before_any_write(job, tmp_path):
    install_kernel(job, KERNEL, builds_of(tmp_path / "1", OLD))
    before = dest_files(job)
    record = job.root.state("modules", f"{KERNEL}.json").read_bytes()
    dest = job.dest_dir(KERNEL)
    (dest / "utio.ko").unlink()
    (dest / "utio.ko").mkdir()
    del before["utio.ko"]
    builds = builds_of(tmp_path / "2", NEW)
    settle_kernel(job, KERNEL, builds, ModulesReport())
    assert builds[0].row.detail == (f"install failed: /lib/modules/{KERNEL}/extra/sunray/utio.ko: "
                                    "not a regular file; nothing was changed")
    assert {k: v for k, v in dest_files(job).items() if k != "utio.ko"} == before
    assert job.root.state("modules", f"{KERNEL}.json").read_bytes() == record


def test_a_module_that_no_longer_builds_a_file_takes_it_away(job, tmp_path):
    install_kernel(job, KERNEL, builds_of(tmp_path / "1", OLD))
    fewer = {"utdisk": {"utdisk.ko": b"new d"}}
    install_kernel(job, KERNEL, builds_of(tmp_path / "2", fewer))
    assert dest_files(job) == {"utadem.ko": b"old a", "utdisk.ko": b"new d", "utio.ko": b"old i"}
    record = json.loads(job.root.state("modules", f"{KERNEL}.json").read_text())
    assert "pending" not in record and record["modules"]["utdisk"]["files"] == {
        "utdisk.ko": "d-utdisk.ko"}


def test_the_record_is_written_ahead_and_finished_last(job, tmp_path, monkeypatch):
    seen = []

    def record_at_depmod(job, kernel, dest_rel, files):
        seen.append(json.loads(job.root.state("modules", f"{KERNEL}.json").read_text()))
        return "depmod for x exited 1"

    monkeypatch.setattr(install.index, "update", record_at_depmod)
    problem = install_kernel(job, KERNEL, builds_of(tmp_path, OLD))
    assert problem == "depmod for x exited 1"
    [during] = seen
    # while depmod runs, the record says what is being installed ...
    assert during["pending"] == {"dest": "extra/sunray", "files": sorted(
        ["utadem.ko", "utdisk.ko", "utdiskctl.ko", "utio.ko"])}
    assert during["modules"] == {}  # ... not that it is done
    assert during["dirs"] == [f"/lib/modules/{KERNEL}/extra", f"/lib/modules/{KERNEL}/extra/sunray"]
    assert during["index_ours"] is True
    final = json.loads(job.root.state("modules", f"{KERNEL}.json").read_text())
    assert sorted(final["modules"]) == ["utadem", "utdisk", "utio"]
    assert "built" not in json.dumps(final)  # no time stamp: the same build, the same record
    # depmod failed (or was killed after writing modules.dep, before its other
    # files): the record stays pending, so the next run runs depmod again
    assert final["pending"]["index"] == "depmod for x exited 1"
    assert install.unfinished(job, KERNEL, final)
    def depmod_works(job, kernel, dest_rel, files):
        (job.kernel_dir(kernel) / "modules.dep").write_text(
            "".join(f"{dest_rel}/{name}:\n" for name in files))

    monkeypatch.setattr(install.index, "update", depmod_works)
    assert install.finish_kernel(job, KERNEL, final) is None
    final = json.loads(job.root.state("modules", f"{KERNEL}.json").read_text())
    assert "pending" not in final and not install.unfinished(job, KERNEL, final)
