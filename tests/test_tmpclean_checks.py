"""The doctor's /tmp cleaner checks (sunray/tmpclean/checks.py): one row per
cleaner found, the update waiting beside it, the files watched for updates."""


from pathlib import Path

import pytest
from support import only
from tmpclean_support import CRON, install
from tmpmount_support import write

from sunray.core.config import defaults
from sunray.core.rootfs import Root
from sunray.tmpclean import registry
from sunray.tmpclean.checks import WATCHED_FILES, check_pending_merges, check_tmp_cleaners, watched_files


def test_no_cleaner_is_one_ok_row(sandbox):
    [check] = check_tmp_cleaners(Root(sandbox), defaults())
    assert (check.id, check.status) == ("tmp-cleaners", "ok")


def test_an_unpatched_cleaner_fails_and_its_rpmnew_warns(sandbox):
    install(sandbox, "rhel6-days")
    install(sandbox, "rhel6-days", CRON + ".rpmnew")
    fail, waiting = check_tmp_cleaners(Root(sandbox), defaults())
    assert (fail.id, fail.status) == ("tmp-cleaner-tmpwatch", "fail")
    assert fail.detail == "/etc/cron.daily/tmpwatch would delete /tmp/SUNWut, /tmp/.esd"
    assert fail.fix == "sunray patch-tmpwatch --cleaner tmpwatch"
    assert (waiting.id, waiting.title, waiting.status) == (
        "tmp-cleaner-tmpwatch-rpmnew", "tmpwatch update waiting", "warn")


def test_a_file_that_cannot_be_judged_fails_with_its_reason(sandbox):
    (sandbox / "etc/cron.daily").mkdir()
    (sandbox / CRON).write_text("#!/bin/sh\n$TW 10d /tmp\n")
    [check] = check_tmp_cleaners(Root(sandbox), defaults())
    assert check.status == "fail" and "command run through a variable" in check.detail


def test_every_cleaners_file_is_watched_for_updates():
    files = watched_files()
    assert files[:len(registry.NAMES)] == [c.file for c in registry.cleaners()]
    assert set(WATCHED_FILES) <= set(files) and len(files) == len(set(files))


def test_pending_merges(sandbox):
    write(sandbox / "etc/cron.daily/tmpwatch", "x\n")
    write(sandbox / "etc/unrelated.conf.rpmnew", "x\n")  # not ours: not reported
    assert only(check_pending_merges, sandbox).status == "ok"
    write(sandbox / "etc/cron.daily/tmpwatch.rpmnew", "x\n")
    write(sandbox / "etc/tmpfiles.d/tmp.conf.rpmsave", "x\n")
    write(sandbox / "etc/tmpreaper.conf.dpkg-dist", "x\n")
    check = only(check_pending_merges, sandbox)
    assert check.status == "warn"
    assert "3 file(s)" in check.detail
    for name in ("/etc/cron.daily/tmpwatch.rpmnew", "/etc/tmpfiles.d/tmp.conf.rpmsave",
                 "/etc/tmpreaper.conf.dpkg-dist"):
        assert name in check.detail
    assert "unrelated" not in check.detail
    assert "diff -u /etc/cron.daily/tmpwatch /etc/cron.daily/tmpwatch.rpmnew" in check.fix


# --- systemd-tmpfiles: the row names the file that really deletes ----------------------


def _tmpfiles(sandbox, files):
    for path, text in files.items():
        write(sandbox / path.lstrip("/"), text)
    return [c for c in check_tmp_cleaners(Root(sandbox), defaults()) if c.id == "tmp-cleaner-tmpfiles"]


def test_debian_tmp_conf_is_named_not_the_missing_dropin(sandbox):
    """Before: "/etc/tmpfiles.d/sunray.conf would delete ...", a file that
    does not exist. Debian's own tmp.conf (``D /tmp``: emptied at every boot)
    is copied from the host when it has one, else written as Debian ships it."""
    host = Path("/usr/lib/tmpfiles.d/tmp.conf")
    text = host.read_text() if host.is_file() else "D /tmp 1777 root root -\n#q /var/tmp 1777 root root 30d\n"
    [row] = _tmpfiles(sandbox, {"/usr/lib/tmpfiles.d/tmp.conf": text})
    assert row.status == "fail"
    assert row.detail == "/usr/lib/tmpfiles.d/tmp.conf would delete /tmp/SUNWut, /tmp/.esd"


@pytest.mark.parametrize("files, culprit", [
    ({"/usr/lib/tmpfiles.d/tmp.conf": "v /tmp 1777 root root 10d\n"}, "/usr/lib/tmpfiles.d/tmp.conf"),
    # /etc's same-named file wins over /usr/lib's: the /etc one is to blame.
    ({"/usr/lib/tmpfiles.d/tmp.conf": "D /tmp 1777 root root -\n",
      "/etc/tmpfiles.d/tmp.conf": "q /tmp 1777 root root 5d\n"}, "/etc/tmpfiles.d/tmp.conf"),
    ({"/usr/lib/tmpfiles.d/site.conf": "R /tmp/SUNWut\n"}, "/usr/lib/tmpfiles.d/site.conf"),
    ({"/usr/lib/tmpfiles.d/site.conf": "e /tm? - - - 1d\n"}, "/usr/lib/tmpfiles.d/site.conf"),
])
def test_the_line_that_ages_or_removes_names_its_file(sandbox, files, culprit):
    [row] = _tmpfiles(sandbox, files)
    assert row.status == "fail" and row.detail.startswith(f"{culprit} would delete /tmp/SUNWut"), row.detail


@pytest.mark.parametrize("files", [
    {"/usr/lib/tmpfiles.d/tmp.conf": "#D /tmp 1777 root root -\nd /tmp 1777 root root -\n"},
    {"/usr/lib/tmpfiles.d/tmp.conf": "D /tmp 1777 root root -\n",
     "/etc/tmpfiles.d/tmp.conf": "d /tmp 1777 root root -\n"},  # the admin's override ages nothing
    {"/usr/lib/tmpfiles.d/var.conf": "q /var/tmp 1777 root root 30d\n"},
])
def test_nothing_deleting_them_is_a_warning_naming_the_missing_dropin(sandbox, files):
    [row] = _tmpfiles(sandbox, files)
    assert row.status == "warn"
    assert row.detail.startswith("no /etc/tmpfiles.d/sunray.conf to exclude /tmp/SUNWut, /tmp/.esd")
