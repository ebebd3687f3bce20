# -*- coding: utf-8 -*-
# Copyright: sunray contributors
# GNU General Public License v2.0 or later (see LICENSE or https://www.gnu.org/licenses/gpl-2.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options every sunray module shares: where the program comes from.
    DOCUMENTATION = r"""
options:
  root:
    description:
      - Work on the tree under this directory as if it were C(/) (sunray's C(--root)).
      - Default is the live system, or the C(root) key of I(settings).
    type: path
  settings:
    description:
      - sunray settings, the keys of the C(sunray) section of its configuration
        (see docs/configuration.md in sunray), for example C(tmp.protect), the paths the
        C(/tmp) cleaners must spare.
      - Written to a private file in the module's temporary directory and passed with C(-f).
    type: dict
    default: {}
  use_installed:
    description:
      - Run the C(sunray) program installed on the host (the RPM, the bundle in the PATH)
        instead of the bundle this collection ships.
      - When false, the action plugin copies C(sunray.pyz) to I(pyz_dir) when the copy kept
        there has another SHA-256, and runs it with the interpreter Ansible uses
        (C(ansible_python_interpreter), Python 3.6 or later).
    type: bool
    default: false
  program:
    description:
      - With I(use_installed=true), the sunray program to run, a name in the remote
        C(PATH) or an absolute path.
    type: str
    default: sunray
  pyz_dir:
    description:
      - Where the bundle is kept on the host, as C(PYZ_DIR/sunray.pyz); created when missing.
      - In check mode nothing is kept; a bundle the host lacks is run from Ansible's
        temporary directory.
    type: path
    default: /var/lib/sunray
  pyz:
    description:
      - The bundle on the controller to send (read by the action plugin).
      - Default is the C(files/sunray.pyz) this collection was built with.
    type: path
requirements:
  - Python 3.6 or later on the managed host (RHEL 7's C(python3), RHEL 6's C(rh-python36)).
notes:
  - The bundle is sent only when the SHA-256 of the kept copy differs from the controller's,
    so a second run transfers nothing.
  - Commands are argument lists, never shell strings.
"""
