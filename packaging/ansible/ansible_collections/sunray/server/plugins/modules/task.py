#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sunray contributors
# GNU General Public License v2.0 or later (see LICENSE or https://www.gnu.org/licenses/gpl-2.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: task
short_description: Run one of sunray's fixes on a Sun Ray (SRSS) server
version_added: "0.1.0"
description:
  - Runs one of sunray's writing tasks on the host, as C(sunray TASK --format json),
    and reports what it changed from the task's own JSON report, so a second run of a
    fix that is in place reports C(changed=false).
  - Nothing has to be installed on the host besides Python 3.6 or later; see I(use_installed).
  - Check mode runs the task with C(--dry-run) and reports what would change, changing
    nothing on the host. Diff mode returns each file's text before and after.
  - A task that fails (sunray's exit 1) or is refused (exit 2) fails with sunray's
    one-line message.
extends_documentation_fragment:
  - sunray.server.common
options:
  name:
    description:
      - The task. C(apply) runs patch-tmpwatch, esd-dir, install-boot-hook,
        install-kernel-hooks and rebuild-modules in order, then the doctor.
    type: str
    required: true
    choices: [patch-tmpwatch, esd-dir, install-boot-hook, install-kernel-hooks,
              rebuild-modules, remove-modules, apply]
  revert:
    description:
      - Undo what the task installed (sunray's C(--revert)); the saved originals come back.
      - For patch-tmpwatch, esd-dir, install-boot-hook, install-kernel-hooks and apply.
    type: bool
    default: false
  kernels:
    description:
      - Kernel versions, for rebuild-modules (default there every kernel with headers)
        and remove-modules (exactly one).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Runs the task with C(--dry-run); nothing is changed, not even the kept bundle.
    support: full
  diff_mode:
    description: Returns the before and after text of every file the task changes.
    support: full
  platform:
    description: Linux servers with SRSS (RHEL and CentOS 5-7, Ubuntu 18.04 and 20.04).
    support: full
    platforms: posix
author:
  - sunray contributors (@sunray)
"""

EXAMPLES = r"""
- name: Keep the tmp cleaner away from /tmp/SUNWut and /tmp/.esd
  sunray.server.task:
    name: patch-tmpwatch

- name: Every fix, with a site's settings
  sunray.server.task:
    name: apply
    settings:
      tmp:
        protect: [/tmp/SUNWut, /tmp/.esd]

- name: Build the SRSS modules for a kernel just installed
  sunray.server.task:
    name: rebuild-modules
    kernels: ["{{ new_kernel }}"]

- name: Undo the boot hook
  sunray.server.task:
    name: install-boot-hook
    revert: true

- name: Use the sunray the RPM installed instead of the bundle
  sunray.server.task:
    name: esd-dir
    use_installed: true
"""

RETURN = r"""
changed:
  description: Whether the task changed (in check mode, would change) something, from its report.
  returned: always
  type: bool
rc:
  description: sunray's exit code (0 done, 1 the task failed, 2 refused).
  returned: when sunray ran
  type: int
  sample: 0
report:
  description:
    - The task's JSON report (C(sunray TASK --format json)), as sunray documents it
      (task, root, dry_run, changed, changes with path, action and diff, notes,
      warnings, failure; apply adds steps and doctor).
  returned: when sunray printed one
  type: dict
  sample: {"task": "patch-tmpwatch", "root": "/", "dry_run": false, "changed": true,
           "changes": [{"path": "/etc/cron.daily/tmpwatch", "action": "modified",
                        "diff": "--- a/etc/cron.daily/tmpwatch\n...", "note": ""}],
           "notes": [], "warnings": [], "failure": null}
diff:
  description:
    - In diff mode, one entry per changed file, with before, after, before_header and
      after_header; a change without file text (a directory, a link) as prepared text.
  returned: in diff mode, when something changed
  type: list
  elements: dict
pyz_transferred:
  description: Whether the bundle was sent to the host in this run.
  returned: unless use_installed
  type: bool
stderr:
  description: sunray's messages (warnings, the error line).
  returned: on failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sunray.server.plugins.module_utils.runner import (
    COMMON_SPEC,
    diffs,
    last_line,
    run_task,
)

TASKS = ("patch-tmpwatch", "esd-dir", "install-boot-hook", "install-kernel-hooks",
         "rebuild-modules", "remove-modules", "apply")
REVERT_TASKS = ("patch-tmpwatch", "esd-dir", "install-boot-hook", "install-kernel-hooks", "apply")
KERNEL_TASKS = ("rebuild-modules", "remove-modules")


def task_args(module):
    """The task's own flags, checked before anything runs."""
    params = module.params
    name = params["name"]
    args = []
    if module.check_mode:
        args.append("--dry-run")
    if params["revert"]:
        if name not in REVERT_TASKS:
            module.fail_json(msg="revert: {0} has no --revert (use remove-modules to undo "
                                 "rebuild-modules)".format(name))
        args.append("--revert")
    kernels = params["kernels"] or []
    if kernels and name not in KERNEL_TASKS:
        module.fail_json(msg="kernels: only for {0}".format(" and ".join(KERNEL_TASKS)))
    if name == "remove-modules" and len(kernels) != 1:
        module.fail_json(msg="kernels: remove-modules takes exactly one kernel")
    for kernel in kernels:
        args += ["--kernel", kernel]
    return args


def main():
    spec = dict(COMMON_SPEC)
    spec.update(
        name=dict(type="str", required=True, choices=list(TASKS)),
        revert=dict(type="bool", default=False),
        kernels=dict(type="list", elements="str", default=[]),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    name = module.params["name"]
    args = task_args(module)
    rc, report, stderr = run_task(module, name, args)
    result = dict(changed=bool(report and report.get("changed")), rc=rc, report=report)
    if module._diff and report:
        changes = diffs(report, report.get("root") or module.params["root"], module.check_mode)
        if changes:
            result["diff"] = changes
    if rc != 0:
        module.fail_json(msg=last_line(stderr) or "sunray {0} failed (exit {1})".format(name, rc),
                         stderr=stderr, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
