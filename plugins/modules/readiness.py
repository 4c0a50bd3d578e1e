#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: readiness
short_description: Prove that a host's Azure AI Speech containers are ready, all in one call
version_added: 0.1.0
description:
  - Probes every given speech container of a host at the same time (one thread each) and reports, per container,
    how far it got up the readiness ladder and, when it did not get to the top, what it answered and the likely cause.
  - The ladder, in order. C(ready) means C(GET /ready) answers 200 with the JSON C(ready) equal to V(ready); asked again until
    O(ready_timeout), because models page in slowly and custom models download on first start.
  - C(status) means C(GET /status) answers an C(apiStatus) of exactly V(Valid) (never a substring test, V(Invalid) contains
    V(valid)). V(CouldNotConnect), V(BillingEndpointBusy) (its C(Retry-After) is honoured), V(Unknown) and answers without JSON
    are asked again until O(status_timeout); V(Invalid), V(Mismatch), V(OutOfQuota) and V(ContainerUseUnauthorized) are final.
  - For a disconnected container the C(usage) step replaces C(status), since what C(/status) says offline is not documented.
    C(GET /records/usage-logs/) must answer 200 with JSON, which shows the output mount and the licence work.
  - C(probe) is what the Speech SDK does, when O(probe) is on, USP over a WebSocket, the kinds table saying which exchange
    each kind gets. Speech to text (C(stt), C(custom_stt)) gets a recognition turn on the interactive path in the container's
    locale (C(locale); default en-US) with 1 s of silence, and must answer C(turn.start), a C(speech.phrase) whose
    C(RecognitionStatus) is not an error (silence gives V(NoMatch) or V(InitialSilenceTimeout)), and C(turn.end).
    This costs the container one decoder slot for about a second and one second of billed audio.
    Neural TTS (C(ntts)) gets a synthesis of a short sentence in its voice on C(/cognitiveservices/websocket/v1), and must answer
    C(turn.start), at least 0.2 s of audio and C(turn.end); a close 1007 "Voice does not match" names the voice. This costs a few
    dozen billed characters.
    Language identification (C(lid)) gets the exchange on C(/speech/universal/v2), or on C(/speech/languagedetection/cognitiveservices/v1)
    when that answers 404; the report says which path answered (which one a real container serves is not documented).
    A failure quotes the HTTP status of the upgrade, or the close code and its reason, or the C(RecognitionStatus), and names the
    likely cause (a decoder error, busy decoders, billing, a proxy without C(NO_PROXY), a socket that answers nothing).
    Connection errors, busy decoders and 429, 502, 503 and 504 answers (but a 503 about billing) are asked again until O(status_timeout).
  - With O(probe_speech), speech to text is fed speech instead of silence and must give a transcript; the host's own neural
    TTS containers synthesise a sentence first, and each speech to text container of the same locale is given that audio
    (a locale without a TTS container on the host keeps the silence check, and says so).
  - Nothing is changed. No request carries a key, and answers are quoted only as short excerpts with anything key-like removed.
author:
  - onprem.speech maintainers (@onprem)
options:
  containers:
    description:
      - The containers to probe, as the host publishes them.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The container's name, for the report and the hints (C(docker logs <name>)).
        type: str
        required: true
      kind:
        description: The kind of speech container.
        type: str
        required: true
        choices: [stt, custom_stt, lid, ntts]
      port:
        description: The host port the container's API is published on.
        type: int
        required: true
      host:
        description: The address to reach the port at, from the target itself.
        type: str
        default: 127.0.0.1
      protocol:
        description:
          - The scheme a Speech SDK client uses, for the reported C(url); V(ws) for C(stt) and C(custom_stt), V(http) for C(lid) and C(ntts)
            when not given (the kinds table).
        type: str
        choices: [ws, http]
      locale:
        description: The locale for the speech-to-text WebSocket probe's C(language) parameter; V(en-US) when not given.
        type: str
      voice:
        description:
          - The voice the C(ntts) probe synthesizes with, for example V(en-US-AriaNeural); it must be the image's voice.
          - When not given, the first voice of the container's C(/cognitiveservices/voices/list) is used, else V(en-US-AriaNeural).
        type: str
      disconnected:
        description: Whether the container runs disconnected (with a licence, without billing); gates on its usage records instead of C(/status).
        type: bool
        default: false
  ready_timeout:
    description:
      - Seconds to wait, from the start of the call, for C(/ready). Custom models download on first start, and models page in slowly.
    type: int
    default: 300
  status_timeout:
    description:
      - Seconds to wait, once C(/ready) passed, for C(/status) to say V(Valid) (billing may lag) or for the usage records to answer;
        and again, after that, for the functional probe to get past connection errors and transient answers.
    type: int
    default: 120
  interval:
    description:
      - The longest wait, in seconds, between two polls of the same endpoint. The waits start at 0.25 seconds and double
        up to it, so a container that becomes ready soon after its start is seen at once, and a slow one is polled every
        O(interval) seconds.
    type: float
    default: 2
  request_timeout:
    description: Seconds to wait for each answer.
    type: int
    default: 10
  probe:
    description: Whether to run the functional probe (the clients' protocol) after C(/ready) and C(/status).
    type: bool
    default: true
  probe_speech:
    description: Feed speech to text the speech the host's own neural TTS containers make, and require a transcript.
    type: bool
    default: false
  probe_deadline:
    description: Seconds one functional exchange may take, from the connection to C(turn.end).
    type: int
    default: 15
  fail_on_error:
    description:
      - Whether to fail when a container is not ready. The failure message has one line per such container, and the result
        still holds RV(containers).
      - When V(false), the module reports and RV(all_ready) tells.
    type: bool
    default: true
extends_documentation_fragment:
  - onprem.speech.attributes
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - In check mode every container is probed once (one round, no waiting), and the module never fails; it only reports.
notes:
  - The probes run on the target, so O(containers[].host) is an address as the target sees it; the reported C(url) uses it as given.
  - A TTS probe is a real synthesis of a few characters, billed like any other on a connected container.
  - The longest a call can take is about O(ready_timeout) + 2 x O(status_timeout) plus request timeouts, whatever the number of containers.
seealso:
  - module: onprem.speech.speech_info
  - module: ansible.builtin.uri
"""

EXAMPLES = r"""
---
- name: Prove the host's speech containers ready
  onprem.speech.readiness:
    containers:
      - name: speech-stt-en-us
        kind: stt
        port: 5000
        locale: en-US
      - name: speech-tts-aria
        kind: ntts
        port: 5001
        voice: en-US-AriaNeural
      - name: speech-lid
        kind: lid
        port: 5003
  register: speech_ready

- name: Report without failing, and give a custom model time to download
  onprem.speech.readiness:
    containers:
      - name: speech-custom
        kind: custom_stt
        port: 5002
        locale: de-DE
    ready_timeout: 1800
    fail_on_error: false
  register: speech_ready

- name: Show what is not ready
  ansible.builtin.debug:
    msg: "{{ speech_ready.containers | rejectattr('ready') | map(attribute='likely_cause') | list }}"
  when: not speech_ready.all_ready
"""

RETURN = r"""
all_ready:
  description: Whether every container passed the whole ladder.
  returned: always
  type: bool
  sample: false
summary:
  description: How many containers are ready, in words.
  returned: always
  type: str
  sample: 2 of 3 containers ready
failures:
  description: One line per container that is not ready (endpoint, answer, likely cause), as the failure message says it; V("") when all are ready.
  returned: always
  type: str
  sample: "1 of 2 speech containers not ready:\n- tts (ntts, http://127.0.0.1:5001) at stage status: ..."
containers:
  description: One report per container, in the order given; also returned when the module fails.
  returned: always
  type: list
  elements: dict
  sample:
    - name: speech-stt-en-us
      kind: stt
      url: ws://127.0.0.1:5000
      ready: true
      stage: null
      ready_http: 200
      api_status: Valid
      status_http: 200
      probe: {ok: true, http: 101, detail: "recognition turn at ws://127.0.0.1:5000/speech/recognition/interactive/cognitiveservices/v1?language=en-US
        with 1 s of silence answered turn.start, a NoMatch phrase and turn.end"}
      seconds: 4.1
      message: "ready: /ready ready, /status Valid, a recognition turn answered"
      likely_cause: null
    - name: speech-tts-aria
      kind: ntts
      url: http://127.0.0.1:5001
      ready: false
      stage: status
      ready_http: 200
      api_status: Invalid
      status_http: 200
      probe: {ok: null, http: null, detail: not run}
      seconds: 0.2
      message: 'GET http://127.0.0.1:5001/status answered 200 "{"service":"neuraltexttospeechonprem","apiStatus":"Invalid","apiStatusMessage":"..."}"'
      likely_cause: the API key is not valid for this Speech resource
  contains:
    name:
      description: The container's name.
      type: str
      returned: always
    kind:
      description: The container's kind.
      type: str
      returned: always
    url:
      description: The URL a Speech SDK client gives as its host, C(ws://host:port) or C(http://host:port), with the host as given.
      type: str
      returned: always
    ready:
      description: Whether the container passed the whole ladder.
      type: bool
      returned: always
    stage:
      description: The step that failed, V(null) when the container is ready.
      type: str
      returned: always
      choices: [ready, status, usage, probe]
    ready_http:
      description: The HTTP status of the last C(GET /ready), V(null) when there was no answer.
      type: int
      returned: always
    api_status:
      description: The C(apiStatus) of the last C(GET /status), V(null) when not asked or not given (disconnected containers are not asked).
      type: str
      returned: always
    status_http:
      description: The HTTP status of the last C(GET /status) (of C(GET /records/usage-logs/) for a disconnected container), or V(null).
      type: int
      returned: always
    probe:
      description: The functional probe.
      type: dict
      returned: always
      contains:
        ok:
          description: Whether it passed; V(null) when it was not run.
          type: bool
          returned: always
        http:
          description: The HTTP status it got (101 for a WebSocket upgrade), or V(null).
          type: int
          returned: always
        detail:
          description: The exchange and what it answered, in one line.
          type: str
          returned: always
        path:
          description: For C(lid), the path that answered (C(/speech/universal/v2) or C(/speech/languagedetection/cognitiveservices/v1)).
          type: str
          returned: when a language identification turn answered
    seconds:
      description: How long this container's ladder took.
      type: float
      returned: always
    message:
      description: One line; for a container that is not ready, the endpoint that failed and what it answered (a short, key-free excerpt).
      type: str
      returned: always
    likely_cause:
      description: The likely cause in one line, V(null) when the container is ready.
      type: str
      returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.speech.plugins.module_utils import probe as probe_utils
from ansible_collections.onprem.speech.plugins.module_utils import speech_kinds


def check(params):
    """Problems with the arguments, each naming the option."""
    problems = []
    seen = set()
    for index, item in enumerate(params["containers"]):
        where = "containers[%d] (%s)" % (index, item["name"])
        if not 1 <= item["port"] <= 65535:
            problems.append("%s.port: %s is not a port between 1 and 65535" % (where, item["port"]))
        if not (item["host"] or "").strip():
            problems.append("%s.host: empty; give the address the target reaches the port at, e.g. 127.0.0.1" % where)
        if item["name"] in seen:
            problems.append("%s.name: %s appears more than once" % (where, item["name"]))
        seen.add(item["name"])
    for option, least in (("ready_timeout", 0), ("status_timeout", 0), ("request_timeout", 1), ("probe_deadline", 1)):
        if params[option] < least:
            problems.append("%s: %s; give a number of seconds, at least %d" % (option, params[option], least))
    if params["interval"] <= 0:
        problems.append("interval: %s; give a number of seconds above 0" % params["interval"])
    return problems


def main():
    module = AnsibleModule(
        argument_spec=dict(
            containers=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                kind=dict(type="str", required=True, choices=speech_kinds.kind_names()),
                port=dict(type="int", required=True),
                host=dict(type="str", default="127.0.0.1"),
                protocol=dict(type="str", choices=["ws", "http"]),
                locale=dict(type="str"),
                voice=dict(type="str"),
                disconnected=dict(type="bool", default=False),
            )),
            ready_timeout=dict(type="int", default=300),
            status_timeout=dict(type="int", default=120),
            interval=dict(type="float", default=2),
            request_timeout=dict(type="int", default=10),
            probe=dict(type="bool", default=True),
            probe_speech=dict(type="bool", default=False),
            probe_deadline=dict(type="int", default=15),
            fail_on_error=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = check(params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    for item in params["containers"]:
        usual = speech_kinds.KINDS[item["kind"]]["protocol"]
        if item["protocol"] and item["protocol"] != usual:
            module.warn("%s: %s containers are reached at %s://, not %s:// (the reported url uses %s://)"
                        % (item["name"], item["kind"], usual, item["protocol"], item["protocol"]))

    once = module.check_mode
    settings = dict((k, params[k]) for k in ("ready_timeout", "status_timeout", "interval", "request_timeout", "probe", "probe_speech",
                                             "probe_deadline"))
    settings["once"] = once
    reports = probe_utils.probe_all(params["containers"], settings)
    all_ready = all(r["ready"] for r in reports)
    result = dict(changed=False, containers=reports, all_ready=all_ready, summary=probe_utils.summary(reports, once),
                  failures="" if all_ready else probe_utils.failure_message(reports))
    if not result["all_ready"] and params["fail_on_error"] and not once:
        module.fail_json(msg=probe_utils.failure_message(reports), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
