"""Helpers shared by the tests of sunray/tmpclean (test_tmpclean_*.py)."""

import os
import shutil

from conftest import FIXTURES

FIX = FIXTURES / "tmpwatch"
CRON = "etc/cron.daily/tmpwatch"
REAPER = "etc/tmpreaper.conf"
DROPIN = "etc/tmpfiles.d/sunray.conf"


def install(sandbox, fixture, where=CRON):
    """Copy a fixture into the sandbox (mode 755); the sandbox path."""
    target = sandbox / where
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIX / fixture, target)
    os.chmod(target, 0o755)
    return target


def age_tree(tmp):
    """Files a cleaner should keep (ours) and files it should remove (junk)."""
    keep = [tmp / "SUNWut/units/CID1/dev/fifo0", tmp / "SUNWut/sessions/3/unit",
            tmp / "SUNWut/dev/utaudio/3"]
    junk = [tmp / "junk.txt", tmp / "olddir/deep/file"]
    for f in keep + junk:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("x\n")
    return keep, junk
