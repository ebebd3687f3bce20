"""The state directory: made with its record, removed when nothing of sunray's remains."""

import json
import os

from conftest import tree_snapshot

from sunray.core import statedir
from sunray.core.rootfs import Root


def test_a_missing_chain_is_made_whole_with_its_record(sandbox):
    os.rmdir(sandbox / "var/lib")
    host = statedir.ensure(Root(sandbox))
    assert host == sandbox / "var/lib/sunray"
    record = json.loads((host / statedir.CREATED).read_text())
    assert record == {"dirs": ["/var/lib", "/var/lib/sunray"]}
    assert sorted(os.listdir(sandbox / "var")) == ["lib", "log"]  # no temporary name left


def test_a_temporary_state_dir_left_by_a_kill_is_removed(sandbox):
    # A kill after the temporary chain was made, before its rename.
    left = sandbox / "var/lib/.sunray.abcd1234.sunray-tmp"
    left.mkdir()
    (left / statedir.CREATED).write_text('{"dirs": ["/var/lib/sunray"]}\n')
    before = tree_snapshot(sandbox)
    del before["var/lib/.sunray.abcd1234.sunray-tmp"]
    del before["var/lib/.sunray.abcd1234.sunray-tmp/" + statedir.CREATED]
    statedir.leftover_temp_trees(Root(sandbox))
    assert tree_snapshot(sandbox) == before
    statedir.ensure(Root(sandbox))
    assert sorted(os.listdir(sandbox / "var/lib")) == ["sunray"]


def test_removed_when_only_bookkeeping_remains(sandbox):
    os.rmdir(sandbox / "var/lib")
    before = tree_snapshot(sandbox)
    host = statedir.ensure(Root(sandbox))
    (host / "sunray.lock").write_text("")
    # Saved originals without a record: a run killed before its first record.
    (host / "backup/files/etc").mkdir(parents=True)
    (host / "backup/files/etc/x").write_text("original\n")
    assert not statedir.in_use(Root(sandbox))
    assert statedir.remove_if_unused(Root(sandbox))
    assert tree_snapshot(sandbox) == before


def test_kept_while_another_concern_has_records_there(sandbox):
    host = statedir.ensure(Root(sandbox))
    (host / "modules").mkdir()
    (host / "modules/6.1.0.json").write_text("{}\n")
    (host / "backup/meta/etc").mkdir(parents=True)
    assert statedir.in_use(Root(sandbox))
    assert not statedir.remove_if_unused(Root(sandbox))
    assert (host / "modules/6.1.0.json").is_file()
    os.unlink(host / "modules/6.1.0.json")
    os.rmdir(host / "modules")
    (host / "backup/meta/etc/x.json").write_text("{}\n")
    assert not statedir.remove_if_unused(Root(sandbox))  # a backup record keeps it too
