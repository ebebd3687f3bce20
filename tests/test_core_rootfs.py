"""Root: a tree used as if it were /; server paths map into it and nothing escapes it."""

import pytest

from sunray.core.errors import UsageError
from sunray.core.rootfs import Root


def test_root_maps_server_paths_and_refuses_escapes(sandbox, tmp_path):
    root = Root(sandbox)
    assert root.path("/etc/cron.daily/tmpwatch") == sandbox / "etc/cron.daily/tmpwatch"
    with pytest.raises(UsageError, match="'..'"):
        root.path("/etc/../../outside")
    with pytest.raises(UsageError, match="absolute"):
        root.path("etc/x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (sandbox / "etc/escape").symlink_to(outside)
    with pytest.raises(UsageError, match="outside the root"):
        root.ensure_inside(root.path("/etc/escape/file"))


def test_root_must_exist(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        Root(tmp_path / "nope")
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        Root(tmp_path / "f")


def test_root_contains_works_for_slash_too(sandbox, tmp_path):
    # A prefix test would turn "/" into "//" and find nothing inside it.
    assert Root("/").contains("/usr/lib/libesd.so.0")
    assert Root(sandbox).contains(sandbox / "usr/lib/x")
    assert not Root(sandbox).contains(tmp_path / "elsewhere")


def test_relative_symlink_climbing_out_of_the_root_is_refused_not_clamped(sandbox, tmp_path):
    # issue 11, case 15: var/lib/sunray -> ../../../../outside used to be
    # clamped at the root's top (and the state written to <root>/outside).
    (tmp_path / "outside").mkdir()
    (sandbox / "var/lib/sunray").symlink_to("../../../../outside")
    root = Root(sandbox)
    with pytest.raises(UsageError, match="outside the root"):
        root.makedirs("/var/lib/sunray/backup")
    assert not (sandbox / "outside").exists()
    assert list((tmp_path / "outside").iterdir()) == []


def test_relative_symlink_that_stays_inside_is_followed(sandbox):
    (sandbox / "etc/rc.d/init.d").mkdir(parents=True)
    (sandbox / "etc/init.d").symlink_to("rc.d/init.d")
    made = Root(sandbox).makedirs("/etc/init.d/sub")
    assert made.host == sandbox / "etc/rc.d/init.d/sub"


def test_run_through_a_climbing_symlink_exits_2_and_writes_nothing(sandbox, tmp_path):
    from conftest import assert_clean_error, run_sunray, tree_snapshot

    (tmp_path / "outside").mkdir()
    (sandbox / "var/lib/sunray").symlink_to("../../../../outside")
    (sandbox / "etc/cron.daily").mkdir()
    (sandbox / "etc/cron.daily/tmpwatch").write_text(
        "#!/bin/sh\n/usr/sbin/tmpwatch 240 /tmp\n")
    before = tree_snapshot(sandbox)
    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert_clean_error(proc, 2, "outside the root")
    assert tree_snapshot(sandbox) == before
    assert list((tmp_path / "outside").iterdir()) == []
