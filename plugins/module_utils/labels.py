# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The labels and names by which the collection knows its containers (shared by modules and the controller)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

LABEL_PREFIX = "onprem.speech."
LABEL_MANAGED = LABEL_PREFIX + "managed"
LABEL_KIND = LABEL_PREFIX + "kind"
LABEL_HASH = LABEL_PREFIX + "spec-hash"
LABEL_SPEC = LABEL_PREFIX + "spec"
# A one-way fingerprint of the billing endpoint and key the container runs with (as spec-hash folds in):
# the billing gate compares it, to tell containers that would fail as their successors would.
LABEL_BILLING = LABEL_PREFIX + "billing-fp"
# A replaced container is kept, stopped, under <name>.previous until its successor is ready.
PREVIOUS_SUFFIX = ".previous"
