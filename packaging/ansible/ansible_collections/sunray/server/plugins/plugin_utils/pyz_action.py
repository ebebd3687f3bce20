# -*- coding: utf-8 -*-
# Copyright: sunray contributors
# GNU General Public License v2.0 or later (see LICENSE or https://www.gnu.org/licenses/gpl-2.0.txt)
"""The controller side of the sunray modules: send the bundle once, then run.

The module is run first with the SHA-256 of the controller's sunray.pyz.
When the copy kept on the host (``pyz_dir``/sunray.pyz) has that digest the
module runs it at once: a second run transfers nothing and costs one module
call. Otherwise the module answers ``pyz_missing``; the bundle is then copied
into Ansible's temporary directory on the host and the module runs again,
keeping it in ``pyz_dir`` (in check mode it runs it from the temporary
directory and keeps nothing).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

# plugins/plugin_utils/ -> the collection's files/
DEFAULT_PYZ = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "files", "sunray.pyz")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


class PyzAction(ActionBase):
    """Runs ``MODULE`` with the sunray bundle available on the host."""

    TRANSFERS_FILES = True
    MODULE = ""

    def run(self, tmp=None, task_vars=None):
        result = super(PyzAction, self).run(tmp, task_vars)
        del tmp  # unused since Ansible 2.5: the connection's tmpdir is shared
        args = dict(self._task.args)
        local = args.pop("pyz", None)
        try:
            use_installed = boolean(args.get("use_installed", False), strict=True)
        except TypeError as e:
            result.update(failed=True, msg="use_installed: {0}".format(e))
            return result
        try:
            if use_installed:
                result.update(self._execute_module(self.MODULE, module_args=args, task_vars=task_vars))
                return result
            local = os.path.expanduser(local) if local else DEFAULT_PYZ
            if not os.path.isfile(local):
                result.update(failed=True, msg="{0}: no sunray bundle on the controller (build the "
                                               "collection with ./bootstrap dist, or set pyz:)".format(local))
                return result
            args["_pyz_sha256"] = sha256_of(local)
            answer = self._execute_module(self.MODULE, module_args=args, task_vars=task_vars)
            sent = False
            if answer.get("pyz_missing") and not answer.get("failed"):
                shell = self._connection._shell
                if shell.tmpdir is None:
                    self._make_tmp_path()
                remote = shell.join_path(shell.tmpdir, "sunray.pyz")
                self._transfer_file(local, remote)
                self._fixup_perms2((shell.tmpdir, remote))
                args["_pyz_src"] = remote
                answer = self._execute_module(self.MODULE, module_args=args, task_vars=task_vars)
                sent = True
            answer.pop("pyz_missing", None)
            answer["pyz_transferred"] = sent
            result.update(answer)
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
