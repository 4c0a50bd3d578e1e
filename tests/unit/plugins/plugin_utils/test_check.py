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


def test_a_string_where_a_list_is_meant_is_refused_never_split():
    """docker_users: deploy (a YAML slip) made six accounts d, e, p, l, o, y in the docker group: it is refused now,
    and so is any string given for a list option."""
    problems = check.check_all(given(docker_users="deploy"))["problems"]
    assert problems == ["docker_users: 'deploy' is a string; give a list, such as [deploy] (a string is never split)"]
    problems = check.check_all(given(gstreamer_formats="mp3,flac"))["problems"]
    assert problems == ["gstreamer_formats: 'mp3,flac' is a string; give a list, such as [mp3,flac] (a string is never split)"]
    assert check.check_all(given(docker_users=["deploy"]))["problems"] == []


def test_an_account_the_host_does_not_have_is_refused_with_the_look():
    look = {"users": {"deploy": True, "nosuchuser": False}}
    problems = check.docker_problems({"docker_users": ["deploy", "nosuchuser"]}, look)
    assert problems == ["docker_users[1]: the account 'nosuchuser' does not exist on this host; the collection never creates accounts "
                        "(create it first, or take it out of docker_users)"]
    # Without a look (the controller's input check), only what the value itself tells.
    assert check.docker_problems({"docker_users": ["nosuchuser"]}) == []
    assert check.docker_problems({"docker_users": "deploy"}, look) == [
        "docker_users: 'deploy' is a string; give a list, such as [deploy] (a string is never split)"]


def test_env_and_secret_env_keys_that_would_override_billing_are_refused_in_any_letter_case():
    entry = {"name": "stt-en", "kind": "stt", "locale": "en-US", "host_port": 5000, "env": {"ApiKey": "other", "eula": "x", "TZ": "UTC"}}
    problems = check.check_all(given(speech_containers_list=[entry]))["problems"]
    heads = [p.split(" would")[0] for p in problems]
    assert heads == ["speech_containers_list[0] (stt-en).env: ApiKey", "speech_containers_list[0] (stt-en).env: eula"]
    problems = check.check_all(given(speech_containers_secret_env={"stt-en": {"BILLING": "https://x.example/"}}))["problems"]
    assert len(problems) == 1 and problems[0].startswith("speech_containers_secret_env[stt-en].BILLING: would override a billing setting")
    entry = dict(entry, env={}, settings={"APIKEY": "k"})
    assert check.check_all(given(speech_containers_list=[entry]))["problems"] == [
        "speech_containers_list[0] (stt-en).settings: APIKEY is set by the role from its own options; remove it"]
