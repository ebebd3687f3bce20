"""The demo's sandbox tree ships as package data: its MANIFEST lists every
file of sunray/demo_fixtures (zip archives and wheels keep neither modes nor
symbolic links, and a zip cannot be listed on Python 3.6)."""

import os
import stat

from conftest import REPO

from sunray import demo

FIXTURES = REPO / "sunray" / "demo_fixtures"


def test_manifest_lists_every_fixture_file_with_its_mode():
    on_disk = {}
    for path in FIXTURES.rglob("*"):
        if path.is_file() and path.parent != FIXTURES:  # README, MANIFEST: not in the tree
            on_disk[f"{demo.FIXTURES}/{path.relative_to(FIXTURES)}"] = stat.S_IMODE(path.stat().st_mode)
    listed = {e.source: e.mode for e in demo.manifest() if e.source}
    assert listed == on_disk


def test_manifest_links_point_inside_the_tree():
    entries = demo.manifest()
    files = {e.path for e in entries if e.source}
    links = [e for e in entries if e.target]
    assert len(links) == 4
    for link in links:
        assert os.path.normpath(os.path.join(os.path.dirname(link.path), link.target)) in files


def test_build_lays_out_modes_and_links(tmp_path):
    root, _ = demo.build(tmp_path / "server")
    top = root.top
    assert os.readlink(top / "etc/rc.d/rc5.d/S98utsvc") == "../init.d/utsvc"
    assert os.access(top / "etc/cron.daily/tmpwatch", os.X_OK)
    assert (top / "usr/src/SUNWut/utio/utio.c").is_file()
    assert (top / "tmp/.esd").is_file() and not (top / "README").exists()
    assert stat.S_IMODE((top / "tmp").stat().st_mode) == 0o1777
