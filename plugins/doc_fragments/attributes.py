# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # What every module of the collection shares: it reads a Linux host and reports; it shows no diff.
    DOCUMENTATION = r"""
options: {}
attributes:
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: linux
"""

    # What the collection's controller-only actions share (check_inputs, fleet_report): each says its own check_mode.
    CONTROLLER = r"""
options: {}
attributes:
  action:
    description: Runs on the controller.
    support: full
  async:
    description: Not an asynchronous action.
    support: none
  bypass_host_loop:
    description: Runs once per host it is run for.
    support: none
  diff_mode:
    description: Nothing to show a difference of.
    support: none
  platform:
    description: Runs on the controller.
    support: full
    platforms: all
"""
