"""The doctor's /tmp cleaner checks (sunray/tmpclean/checks.py): one row per
cleaner found, the update waiting beside it, the files watched for updates."""

from tmpclean_support import CRON, install

from sunray.config import defaults
from sunray.rootfs import Root
from sunray.tmpclean import registry
from sunray.tmpclean.checks import WATCHED_FILES, check_tmp_cleaners, watched_files


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
