"""check_all(): what the check_inputs action hands back (it is printed at -v) holds no secret."""
import json

from ansible_collections.onprem.speech.plugins.plugin_utils import check

KEY = "3051a8f66863c72a02f937c27480291c"
PASSWORD = "f00ee0b351ff02598c5ba3fe"
CLIENT_KEY = "6f1c0d3e9a8b47f2b5c4d3e2f1a0b9c8"
ENDPOINT = "https://speechdemo.cognitiveservices.azure.com/"


def given(**extra):
    values = {
        "speech_containers_eula": "accept",
        "speech_containers_billing_endpoint": ENDPOINT,
        "speech_containers_api_key": KEY,
        "speech_containers_list": [{"name": "stt-en", "kind": "stt", "locale": "en-US", "host_port": 5000}],
    }
    values.update(extra)
    return values


def test_a_clean_input_has_no_problem_and_hands_back_the_options():
    report = check.check_all(given())
    assert report["problems"] == []
    assert report["inputs"]["speech_containers_eula"] == "accept"
    assert "speech_containers_api_key" not in report["inputs"]


def test_the_operators_own_speech_variables_are_not_handed_back():
    # A variable of the operator's that only shares the speech_ prefix (a scenario's settings, a vault
    # dictionary) is looked at for slips of our names, and never printed: it may hold the key.
    report = check.check_all(given(speech_ci={"valid_key": KEY, "mirror_password": PASSWORD}, speech_vault={"k": KEY}))
    assert report["problems"] == []
    assert "speech_ci" not in report["inputs"] and "speech_vault" not in report["inputs"]
    assert KEY not in json.dumps(report) and PASSWORD not in json.dumps(report)


def test_a_secret_copied_into_an_option_is_masked():
    report = check.check_all(given(speech_containers_registry_password=PASSWORD,
                                   gateway_client_keys=[{"name": "app", "key": CLIENT_KEY}],
                                   speech_containers_list=[{"name": "stt-en", "kind": "stt", "locale": "en-US", "host_port": 5000,
                                                            "env": {"EXTRA": "a=%s" % KEY},
                                                            "http_proxy": "http://proxyuser:%s@proxy.example:3128" % PASSWORD}],
                                   docker_daemon_options={"labels": ["pw=" + PASSWORD, "client=" + CLIENT_KEY]}))
    text = json.dumps(report)
    for secret in (KEY, PASSWORD, CLIENT_KEY):
        assert secret not in text
    assert report["inputs"]["docker_daemon_options"]["labels"] == ["pw=<hidden>", "client=<hidden>"]
    entry = report["inputs"]["speech_containers_list"][0]
    assert entry["env"] == {"EXTRA": "a=<hidden>"} and entry["http_proxy"] == "http://<credentials>@proxy.example:3128"
    # The plan the role's later checks read keeps what they need (image, port) and masks the rest the same way.
    assert report["plan"][0]["host_port"] == 5000 and "speech-to-text" in report["plan"][0]["image"]


def test_a_proxy_password_is_masked_even_where_no_secret_variable_holds_it():
    report = check.check_all(given(speech_containers_list=[{"name": "stt-en", "kind": "stt", "locale": "en-US", "host_port": 5000,
                                                            "http_proxy": "http://u:hunter2hunter2@proxy.example:3128"}]))
    assert "hunter2hunter2" not in json.dumps(report)


def test_a_problem_that_quotes_a_value_masks_the_secret_in_it():
    report = check.check_all(given(docker_daemon_options={"registry-mirrors": ["u:%s@mirror.example" % KEY]}))
    assert report["problems"] == ["docker_daemon_options: registry-mirrors entry 'u:<hidden>@mirror.example' needs a scheme (https://host:port)"]
