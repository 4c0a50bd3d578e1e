# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one table of Azure AI Speech container kinds.

Every number about a kind (image repository, ports, protocol, CPU and memory,
model memory, disconnected support, tag form) lives here and nowhere else.
Modules, filters, role defaults and the generated docs read it.

Sources (see the project's reference notes for the full citations):
- images, tags, ports, protocols: Microsoft's speech-container-howto, -stt,
  -cstt, -lid and -ntts pages (azure-ai-docs, 2025-12 / 2026-01);
- resources: the "Container requirements and recommendations" table of
  speech-container-howto ("Figures are Docker limits, not host size");
- disconnected: containers/disconnected-containers.md (LID is not eligible).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

REGISTRY = "mcr.microsoft.com"
REPOSITORY_PREFIX = "azure-cognitive-services/speechservices/"

# "Each core must be at least 2.6 gigahertz (GHz) or faster." (howto)
MIN_CORE_MHZ = 2600

# Every tag but `latest` names the platform; the containers are Linux x64 only.
PLATFORM = "amd64"

VERSION_PATTERN = r"\d+\.\d+\.\d+"
# Locales as the tags spell them, compared case-insensitively: en-US, mr-IN, zh-CN-sichuan.
LOCALE_PATTERN = r"[a-z]{2,3}-[a-z]{2,4}(?:-[a-z]+)?"
# Voices: a locale followed by a name ending in Neural: en-US-AriaNeural.
VOICE_PATTERN = LOCALE_PATTERN + r"-[a-z0-9]+neural"

KINDS = {
    "stt": {
        "title": "Speech to text",
        "repository": REPOSITORY_PREFIX + "speech-to-text",
        "container_port": 5000,
        "protocol": "ws",
        "min_cpus": 4,
        "min_memory_gb": 4,
        "recommended_cpus": 8,
        "recommended_memory_gb": 8,
        # "+4 to 8 GB memory" for the memory-mapped speech model.
        "model_memory_gb": [4, 8],
        "disconnected": True,
        "default_version": "5.1.0",
        "selector": "locale",
        "default_locale": "en-US",
        # The list entry's options only some kinds take (plan.py refuses them elsewhere).
        "takes": ["locale", "decoder_max_count"],
        # Whether a host directory is mounted at /usr/local/models (custom models); an empty one breaks the other images.
        "models_mount": False,
        # The readiness probe's exchange (module_utils/usp.py): what the Speech SDK does with this kind.
        "probe": "recognition",
        "tag_form": "{version}-amd64-{locale}",
        "tag_pattern": r"^(?P<version>" + VERSION_PATTERN + r")-amd64-(?P<locale>" + LOCALE_PATTERN + r")(?:-(?P<prerelease>[a-z0-9.]+))?$",
    },
    "custom_stt": {
        "title": "Custom speech to text",
        "repository": REPOSITORY_PREFIX + "custom-speech-to-text",
        "container_port": 5000,
        "protocol": "ws",
        "min_cpus": 4,
        "min_memory_gb": 4,
        "recommended_cpus": 8,
        "recommended_memory_gb": 8,
        "model_memory_gb": [4, 8],
        "disconnected": True,
        "default_version": "5.1.0",
        "selector": "model_id",
        # The custom model sets the locale; the entry's optional locale tells the probe (default en-US).
        "takes": ["model_id", "models_dir", "locale", "decoder_max_count"],
        "models_mount": True,
        "probe": "recognition",
        # The custom model sets the locale; the tag carries none. The tag list
        # also holds 5.0.0-preview-amd64, where "preview" precedes the platform.
        "tag_form": "{version}-amd64",
        "tag_pattern": r"^(?P<version>" + VERSION_PATTERN + r")(?:-(?P<preview>preview))?-amd64(?:-(?P<prerelease>[a-z0-9.]+))?$",
    },
    "lid": {
        "title": "Speech language identification",
        "repository": REPOSITORY_PREFIX + "language-detection",
        # LID listens on 5003 inside the container, unlike the others.
        "container_port": 5003,
        "protocol": "http",
        "min_cpus": 1,
        "min_memory_gb": 1,
        "recommended_cpus": 1,
        "recommended_memory_gb": 1,
        "model_memory_gb": [0, 0],
        "disconnected": False,
        "default_version": "1.18.0",
        "selector": None,
        "takes": [],
        "models_mount": False,
        "probe": "language_id",
        # Every published LID tag ends in -preview.
        "tag_form": "{version}-amd64-preview",
        "tag_pattern": r"^(?P<version>" + VERSION_PATTERN + r")-amd64-preview$",
    },
    "ntts": {
        "title": "Neural text to speech",
        "repository": REPOSITORY_PREFIX + "neural-text-to-speech",
        "container_port": 5000,
        "protocol": "http",
        "min_cpus": 6,
        "min_memory_gb": 12,
        "recommended_cpus": 8,
        "recommended_memory_gb": 16,
        "model_memory_gb": [0, 0],
        "disconnected": True,
        "default_version": "4.1.0",
        "selector": "voice",
        "default_voice": "en-US-AriaNeural",
        "takes": ["voice"],
        "models_mount": False,
        "probe": "synthesis",
        "tag_form": "{version}-amd64-{voice}",
        "tag_pattern": r"^(?P<version>" + VERSION_PATTERN + r")-amd64-(?P<voice>" + VOICE_PATTERN + r")(?:-(?P<prerelease>preview))?$",
    },
}

# The diagnostic container: a one-shot run, no port, no resource flags.
# Note its repository has no speechservices/ segment.
DIAGNOSTIC = {
    "title": "Diagnostic container",
    "repository": "azure-cognitive-services/diagnostic",
    "default_tag": "latest",
}

# Settings the containers take as arguments (ASP.NET Core configuration keys).
CONTAINER_PATHS = {
    "output": "/output",
    "license": "/license",
    "models": "/usr/local/models",
}

# What `latest` means per kind, for probes (voice and locale of the image).
LATEST = {
    "stt": {"locale": "en-US"},
    "ntts": {"voice": "en-US-AriaNeural"},
}


# The locale a recognition probe uses when a container has none (custom speech to text without one).
PROBE_LOCALE = "en-US"


def kind_names():
    """The kind names, in the table's order."""
    return list(KINDS)


def kinds_taking(option):
    """The kinds whose list entries take option (for messages: "only custom_stt containers take a model id")."""
    return [name for name, row in KINDS.items() if option in row["takes"]]


def kinds_by(key, value):
    """The kinds whose row has key equal to value."""
    return [name for name, row in KINDS.items() if row.get(key) == value]


def get_kind(name):
    """A copy of one kind's row; KeyError for an unknown kind."""
    return copy.deepcopy(KINDS[name])


def table():
    """A deep copy of the whole table, for filters and lookups."""
    return {"registry": REGISTRY, "min_core_mhz": MIN_CORE_MHZ, "kinds": copy.deepcopy(KINDS), "diagnostic": copy.deepcopy(DIAGNOSTIC)}


def gb_to_mb(value):
    return int(round(float(value) * 1024))


def match_tag(kind, tag):
    """The tag's parts as a dict when it has the kind's form, else None.

    `latest` is accepted for every kind (Microsoft publishes it for each)."""
    if tag == "latest":
        return {"version": "latest"}
    found = re.match(KINDS[kind]["tag_pattern"], tag)
    return found.groupdict() if found else None


def build_tag(kind, version, locale=None, voice=None):
    """The tag Microsoft publishes for a kind, version and locale or voice."""
    form = KINDS[kind]["tag_form"]
    return form.format(version=version, locale=(locale or "").lower(), voice=(voice or "").lower())
