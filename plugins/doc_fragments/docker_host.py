# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The Docker engine the modules talk to, over plugins/module_utils/docker_socket.py.
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The Docker engine's API endpoint.
      - A unix socket as V(unix:///path/to/docker.sock), or plain TCP as V(tcp://host:port) or V(http://host:port)
        (port 2375 when omitted). TLS endpoints are not supported.
    type: str
    default: unix:///var/run/docker.sock
"""
