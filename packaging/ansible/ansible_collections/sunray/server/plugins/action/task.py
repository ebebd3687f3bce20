# -*- coding: utf-8 -*-
# Copyright: sunray contributors
# GNU General Public License v2.0 or later (see LICENSE or https://www.gnu.org/licenses/gpl-2.0.txt)
"""Action plugin of sunray.server.task: sends sunray.pyz when the host lacks it, then runs the module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sunray.server.plugins.plugin_utils.pyz_action import PyzAction


class ActionModule(PyzAction):
    MODULE = "sunray.server.task"
