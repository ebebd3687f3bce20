"""The doctor's /tmp cleaner checks (sunray/tmpclean/checks.py): one row per
cleaner found, the update waiting beside it, the files watched for updates."""


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
