# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters around community.docker's image modules; the logic lives in plugin_utils/images.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.onprem.speech.plugins.plugin_utils import images


def speech_image_pulls(requests, missing, source="pull"):
    """[{ref, pull}] for community.docker.docker_image_pull: each missing image, and each that follows its tag."""
    return images.pulls(requests, missing, source)


def speech_pull_permanent(message):
    """Whether a pull error is worth no retry (a missing tag, a 401, an untrusted certificate)."""
    return images.permanent(message)


def speech_image_failure(result, action, registry="", username="", archive="", image=""):
    """A failed image task in one line: the image (or registry and user), the step, Docker's words explained."""
    return images.failure(result or {}, action, registry, username, archive, image)


def speech_image_changes(pulled, loads=None, check_mode=False):
    """One line per image pulled, updated or loaded (or, in check mode, that would be)."""
    return images.changes(pulled, loads, bool(check_mode))


def speech_image_not_loaded(loaded, missing):
    """The refs an offline archive was to hold but did not."""
    return images.not_loaded(loaded, missing)


class FilterModule(object):
    def filters(self):
        return {
            "speech_image_pulls": speech_image_pulls,
            "speech_pull_permanent": speech_pull_permanent,
            "speech_image_failure": speech_image_failure,
            "speech_image_changes": speech_image_changes,
            "speech_image_not_loaded": speech_image_not_loaded,
        }
