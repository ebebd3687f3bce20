"""Doctor checks for the /tmp cleaners.

Read-only; each returns a list of Check rows."""

import glob
from typing import List

from ..core.report import Check
from ..core.rootfs import Root

PENDING_SUFFIXES = (".rpmnew", ".rpmsave", ".dpkg-dist", ".dpkg-new")
# Besides the file of every registered cleaner (watched_files() adds those).
WATCHED_FILES = (
    "/etc/cron.daily/tmpreaper",
    "/etc/tmpfiles.d/*",
    "/etc/fstab",
    "/etc/sysconfig/*",
    "/etc/default/tmpreaper",
    "/etc/systemd/system/tmp.mount",
)


def check_tmp_cleaners(root: Root, settings: dict) -> List[Check]:
    """Every /tmp cleaner found spares the protected paths."""
    from . import core

    title = "/tmp cleaners spare SRSS state"
    rows = core.status(root, settings)
    if not rows:
        return [Check("tmp-cleaners", title, "ok", "no /tmp cleaner found under the root")]
    checks = []
    for row in rows:
        ident = f"tmp-cleaner-{row['cleaner']}"
        if row["error"]:
            checks.append(Check(ident, title, "fail", f"{row['file']}: {row['error']}",
                                "fix the file by hand, then `sunray patch-tmpwatch`"))
        elif row["missing"] and row.get("deleters") == []:
            # Nothing ages or empties them today; nothing excludes them either.
            checks.append(Check(ident, title, "warn",
                                f"no {row['file']} to exclude {', '.join(row['missing'])} "
                                "(no line deletes them now; a package update could add one)",
                                f"sunray patch-tmpwatch --cleaner {row['cleaner']}"))
        elif row["missing"]:
            culprits = ", ".join(row.get("deleters") or [row["file"]])
            checks.append(Check(ident, title, "fail",
                                f"{culprits} would delete {', '.join(row['missing'])}",
                                f"sunray patch-tmpwatch --cleaner {row['cleaner']}"))
        else:
            checks.append(Check(ident, title, "ok", f"{row['file']} spares the protected paths"))
        if row.get("rpmnew"):
            checks.append(Check(ident + "-rpmnew", f"{row['cleaner']} update waiting", "warn",
                                f"{row['rpmnew']} waits to be merged (it lacks the exclusions)",
                                f"merge {row['rpmnew']} into {row['file']}, remove it, "
                                "then `sunray patch-tmpwatch`"))
    return checks


def watched_files() -> List[str]:
    """The built-in list of files whose package updates the doctor reports:
    every registered cleaner's file, then WATCHED_FILES."""
    from .registry import cleaners

    return list(dict.fromkeys([c.file for c in cleaners()] + list(WATCHED_FILES)))


def check_pending_merges(root: Root, settings: dict) -> List[Check]:
    """A package update left .rpmnew/.rpmsave/.dpkg-dist files beside ours."""
    patterns = (settings.get("doctor") or {}).get("watched_files") or watched_files()
    found = []
    for pattern in patterns:
        for suffix in PENDING_SUFFIXES:
            for host in glob.glob(str(root.path(pattern)) + suffix):
                found.append(root.server_path(host))
    found = sorted(set(found))
    if not found:
        return [Check("pending-merges", "no config updates waiting", "ok",
                      "no .rpmnew/.rpmsave/.dpkg-dist files beside the files sunray cares about")]
    first = found[0]
    original = first.rsplit(".", 1)[0]
    return [Check("pending-merges", "config updates waiting to be merged", "warn",
                  f"{len(found)} file(s) waiting: {', '.join(found)}",
                  f"diff -u {original} {first}; merge by hand, remove {first}, "
                  "then `sunray patch-tmpwatch` (and `sunray doctor` again)")]


CHECKS = (check_pending_merges, check_tmp_cleaners)
