from ansible_collections.onprem.speech.plugins.module_utils import speech_kinds as sk


def test_four_kinds_and_ports():
    assert sk.kind_names() == ["stt", "custom_stt", "lid", "ntts"]
    assert {k: v["container_port"] for k, v in sk.KINDS.items()} == {"stt": 5000, "custom_stt": 5000, "lid": 5003, "ntts": 5000}
    assert {k: v["protocol"] for k, v in sk.KINDS.items()} == {"stt": "ws", "custom_stt": "ws", "lid": "http", "ntts": "http"}


def test_lid_cannot_run_disconnected():
    assert [k for k, v in sk.KINDS.items() if not v["disconnected"]] == ["lid"]


def test_repositories_under_speechservices_but_diagnostic():
    for row in sk.KINDS.values():
        assert row["repository"].startswith("azure-cognitive-services/speechservices/")
    assert sk.DIAGNOSTIC["repository"] == "azure-cognitive-services/diagnostic"


def test_tags_built_match_their_own_pattern():
    assert sk.build_tag("stt", "5.1.0", locale="en-US") == "5.1.0-amd64-en-us"
    assert sk.build_tag("ntts", "4.1.0", voice="en-US-AriaNeural") == "4.1.0-amd64-en-us-arianeural"
    assert sk.build_tag("lid", "1.18.0") == "1.18.0-amd64-preview"
    assert sk.build_tag("custom_stt", "5.1.0") == "5.1.0-amd64"
    for kind in sk.KINDS:
        tag = sk.build_tag(kind, sk.KINDS[kind]["default_version"], locale="en-US", voice="en-US-AriaNeural")
        assert sk.match_tag(kind, tag) is not None, (kind, tag)


def test_published_tag_examples():
    assert sk.match_tag("stt", "4.12.0-amd64-zh-cn-sichuan")["locale"] == "zh-cn-sichuan"
    assert sk.match_tag("custom_stt", "5.0.1-preview-amd64") is not None
    assert sk.match_tag("ntts", "3.11.0-amd64-zh-cn-xiaochenneural-preview")["voice"] == "zh-cn-xiaochenneural"
    assert sk.match_tag("stt", "5.1.0-en-us") is None
    assert sk.match_tag("lid", "1.18.0-amd64") is None
