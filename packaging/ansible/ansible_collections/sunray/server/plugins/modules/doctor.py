#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sunray contributors
# GNU General Public License v2.0 or later (see LICENSE or https://www.gnu.org/licenses/gpl-2.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: doctor
short_description: Check a Sun Ray (SRSS) server with sunray's doctor
version_added: "0.1.0"
description:
  - Runs C(sunray doctor --format json) on the host and returns its checks (the
    C(/tmp) cleaners, C(/tmp/.esd), the boot hook, the kernel hooks and modules, esound)
    with the counts per status. Never changes anything.
  - Nothing has to be installed on the host besides Python 3.6 or later; see I(use_installed).
extends_documentation_fragment:
  - sunray.server.common
options:
  fail_on:
    description:
      - C(fail) fails the task when a check fails; C(warn) also when a check warns;
        C(never) only reports (use the returned I(counts) in a later task).
    type: str
    default: fail
    choices: [fail, warn, never]
attributes:
  check_mode:
    description: Runs as in a normal run (the doctor changes nothing).
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  platform:
    description: Linux servers with SRSS (RHEL and CentOS 5-7, Ubuntu 18.04 and 20.04).
    support: full
    platforms: posix
author:
  - sunray contributors (@sunray)
"""

EXAMPLES = r"""
- name: Fail the play for a server that is not right
  sunray.server.doctor:

- name: Collect the checks of every server, failing none
  sunray.server.doctor:
    fail_on: never
  register: doctor

- name: Show what needs fixing
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.detail }} (fix: {{ item.fix }})"
  loop: "{{ doctor.checks | selectattr('status', 'in', ['warn', 'fail']) | list }}"
"""

RETURN = r"""
checks:
  description: One entry per check, in the doctor's order.
  returned: when the doctor ran
  type: list
  elements: dict
  contains:
    name:
      description: The check's id, for example C(tmp-cleaner-tmpwatch).
      type: str
    title:
      description: What the check wants to be true.
      type: str
    status:
      description: C(ok), C(warn), C(fail) or C(skip) (does not apply here).
      type: str
    detail:
      description: What the doctor found.
      type: str
    fix:
      description: The command that fixes it; empty when ok.
      type: str
  sample: [{"name": "esd-dir", "title": "/tmp/.esd is right", "status": "ok",
            "detail": "root-owned, mode 1777", "fix": ""}]
counts:
  description: How many checks have each status.
  returned: when the doctor ran
  type: dict
  sample: {"ok": 9, "warn": 1, "fail": 0, "skip": 2}
report:
  description: The doctor's whole JSON report.
  returned: when the doctor ran
  type: dict
rc:
  description: sunray's exit code (0 no check failed, 1 a check failed, 2 refused).
  returned: when sunray ran
  type: int
pyz_transferred:
  description: Whether the bundle was sent to the host in this run.
  returned: unless use_installed
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sunray.server.plugins.module_utils.runner import (
    COMMON_SPEC,
    last_line,
    run_task,
)

STATUSES = ("ok", "warn", "fail", "skip")


def main():
    spec = dict(COMMON_SPEC)
    spec.update(fail_on=dict(type="str", default="fail", choices=["fail", "warn", "never"]))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    rc, report, stderr = run_task(module, "doctor", [])
    if report is None:  # refused (exit 2): a bad root, bad settings
        module.fail_json(msg=last_line(stderr) or "sunray doctor: refused (exit 2)", rc=rc,
                         stderr=stderr, changed=False)
    checks = [dict(name=c.get("id"), title=c.get("title"), status=c.get("status"),
                   detail=c.get("detail"), fix=c.get("fix"))
              for c in report.get("checks") or [] if isinstance(c, dict)]
    counts = dict((status, sum(1 for c in checks if c["status"] == status)) for status in STATUSES)
    result = dict(changed=False, rc=rc, report=report, checks=checks, counts=counts)
    bad = ("fail",) if module.params["fail_on"] == "fail" else ("fail", "warn")
    flagged = [c["name"] for c in checks if c["status"] in bad]
    if module.params["fail_on"] != "never" and flagged:
        module.fail_json(msg="sunray doctor: {0} check(s) {1}: {2}".format(
            len(flagged), "failed" if bad == ("fail",) else "failed or warned",
            ", ".join(flagged)), **result)
    # Said outright: Ansible takes a result with rc != 0 and no "failed" as failed.
    module.exit_json(failed=False, **result)


if __name__ == "__main__":
    main()
