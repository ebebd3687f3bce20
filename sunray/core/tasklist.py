"""The one list of sunray's tasks and what each one takes.

``sunray.cli.tasks`` defines the tasks; everything else that needs to know
about them (apply's steps, the tasks fleet may run, the fix lines doctor
prints, the docs) reads this list instead of spelling names out again.
Import-free on purpose: ``sunray --help`` goes through here.
"""

import re
import shlex
from collections import namedtuple
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .rootfs import Root

# name: the command; root: takes --root DIR (fleet passes it on to each
# host); dry_run: takes --dry-run; fleet: may be run on many servers by
# `sunray fleet`; apply: a step of `sunray apply`, in this order.
TaskInfo = namedtuple("TaskInfo", "name root dry_run fleet apply")

TASKS = (
    TaskInfo("patch-tmpwatch", root=True, dry_run=True, fleet=True, apply=True),
    TaskInfo("esd-dir", root=True, dry_run=True, fleet=False, apply=True),
    TaskInfo("install-boot-hook", root=True, dry_run=True, fleet=False, apply=True),
    TaskInfo("install-kernel-hooks", root=True, dry_run=True, fleet=False, apply=True),
    TaskInfo("rebuild-modules", root=True, dry_run=True, fleet=True, apply=True),
    TaskInfo("remove-modules", root=True, dry_run=True, fleet=False, apply=False),
    TaskInfo("export-dkms", root=True, dry_run=True, fleet=False, apply=False),
    TaskInfo("boot", root=True, dry_run=False, fleet=False, apply=False),
    TaskInfo("doctor", root=True, dry_run=False, fleet=True, apply=False),
    TaskInfo("install-doctor-timer", root=True, dry_run=True, fleet=False, apply=False),
    TaskInfo("apply", root=True, dry_run=True, fleet=True, apply=False),
    TaskInfo("fleet", root=True, dry_run=True, fleet=False, apply=False),
    TaskInfo("demo", root=False, dry_run=False, fleet=False, apply=False),
    TaskInfo("build-esound", root=False, dry_run=True, fleet=False, apply=False),
    TaskInfo("check-esound", root=True, dry_run=False, fleet=False, apply=False),
    TaskInfo("savings", root=False, dry_run=False, fleet=False, apply=False),
)

APPLY_STEPS = tuple(info.name for info in TASKS if info.apply)
FLEET_TASKS = tuple(info.name for info in TASKS if info.fleet)
FLEET_DRY_RUN_TASKS = tuple(info.name for info in TASKS if info.fleet and info.dry_run)


def with_root(command: str, root: "Root") -> str:
    """``command`` (a fix line) with ``--root DIR`` after every ``sunray TASK``
    whose task takes it, when ``root`` is not the live system: a fix pasted as
    printed must act on the tree it was checked on, not on the live /."""
    if root.is_host:
        return command
    option = " --root " + shlex.quote(str(root.top))
    return _ROOT_TASK.sub(lambda m: m.group(0) + option, command)


_ROOT_TASK = re.compile(r"\bsunray (?:%s)(?![\w.-])" % "|".join(
    re.escape(info.name) for info in TASKS if info.root))
