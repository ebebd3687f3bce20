"""Root: a tree used as if it were /; server paths map into it and nothing escapes it."""

import pytest

from sunray.errors import UsageError
from sunray.rootfs import Root


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
