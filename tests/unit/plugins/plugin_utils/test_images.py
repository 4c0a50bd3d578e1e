"""The images' words around community.docker's image modules (plugin_utils/images.py): which pull errors are tried
again, what a failed login, pull or load says, what the run prints, and which images a host pulls."""

from ansible_collections.onprem.speech.plugins.filter.images import FilterModule
from ansible_collections.onprem.speech.plugins.plugin_utils import images as i

FILTERS = FilterModule().filters()
MIRROR = "mirror.example.com:5443"
STT = MIRROR + "/azure-cognitive-services/speechservices/speech-to-text:5.1.0-amd64-en-us"
TTS = MIRROR + "/azure-cognitive-services/speechservices/neural-text-to-speech:4.1.0-amd64-en-us-arianeural"

# What community.docker 4.8.5 says (docker_login's and docker_image_pull's failure messages, as seen from the engine).
LOGIN_401 = ("Logging into mirror.example.com:5443 for user puller failed - 401 Client Error for "
             "http+docker://localhost/v1.47/auth: Unauthorized (\"login attempt to https://mirror.example.com:5443/v2/ failed with status: "
             "401 Unauthorized\")")
PULL_UNKNOWN = ("Error pulling image %s - 404 Client Error for http+docker://localhost/v1.47/images/create?tag=5.1.0-amd64-en-us"
                "&fromImage=...: Not Found (\"manifest for %s not found: manifest unknown: manifest unknown\")" % (STT, STT))
PULL_RESET = "Error pulling image %s - ('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))" % STT
PULL_503 = "Error pulling %s - code: None message: received unexpected HTTP status: 503 Service Unavailable" % STT


def test_a_refused_login_a_missing_tag_and_an_untrusted_certificate_are_not_tried_again():
    assert FILTERS["speech_pull_permanent"](LOGIN_401)
    assert FILTERS["speech_pull_permanent"](PULL_UNKNOWN)
    assert FILTERS["speech_pull_permanent"]("x509: certificate signed by unknown authority")
    # An error nobody knows is not worth a delayed retry either.
    assert FILTERS["speech_pull_permanent"]("something else entirely")


def test_resets_timeouts_and_5xx_are_tried_again():
    assert not FILTERS["speech_pull_permanent"](PULL_RESET)
    assert not FILTERS["speech_pull_permanent"](PULL_503)
    assert not FILTERS["speech_pull_permanent"]("net/http: TLS handshake timeout")
    assert not FILTERS["speech_pull_permanent"]("toomanyrequests: rate limit")


def test_a_refused_login_names_the_registry_the_user_and_the_401():
    line = FILTERS["speech_image_failure"]({"failed": True, "msg": LOGIN_401}, "community.docker.docker_login", MIRROR, "puller")
    assert line.startswith("%s: logging in as puller: the registry answered 401 (unauthorized): Logging into" % MIRROR)


def test_a_failed_pull_in_a_loop_names_each_failed_image_and_its_attempts():
    result = {"failed": True, "msg": "One or more items failed", "results": [
        {"item": {"ref": TTS, "pull": "not_present"}, "changed": True},
        {"item": {"ref": STT, "pull": "not_present"}, "failed": True, "msg": PULL_UNKNOWN, "attempts": 1},
    ]}
    line = FILTERS["speech_image_failure"](result, "community.docker.docker_image_pull", MIRROR)
    assert line == "%s: pulling: the registry has no such image or tag (manifest unknown): %s" % (STT, PULL_UNKNOWN)
    result["results"][1].update(msg=PULL_503, attempts=4)
    assert FILTERS["speech_image_failure"](result, "community.docker.docker_image_pull").endswith(PULL_503 + " (after 4 attempts)")


def test_a_pull_without_a_loop_is_named_by_the_image_given():
    line = FILTERS["speech_image_failure"]({"failed": True, "msg": PULL_UNKNOWN}, "community.docker.docker_image_pull", image=STT)
    assert line.startswith(STT + ": pulling: the registry has no such image or tag")


def test_a_failed_load_and_a_refusal_of_the_role_keep_their_words():
    line = FILTERS["speech_image_failure"]({"failed": True, "msg": "Detected no loaded images. Archive potentially corrupt?"},
                                           "community.docker.docker_image_load", archive="speech.tar")
    assert line == "speech.tar: loading: Detected no loaded images. Archive potentially corrupt?"
    refusal = STT + ": not on the host, and speech_containers_image_source is present, so nothing is pulled or loaded"
    assert FILTERS["speech_image_failure"]({"failed": True, "msg": refusal}, "ansible.builtin.fail") == refusal


def test_a_host_pulls_what_is_missing_and_with_policy_always_what_follows_its_tag():
    requests = [{"ref": STT, "policy": "missing"}, {"ref": TTS, "policy": "always"}, {"ref": STT + "x", "policy": "pinned"}]
    assert FILTERS["speech_image_pulls"](requests, []) == [{"ref": TTS, "pull": "always"}]
    assert FILTERS["speech_image_pulls"](requests, [STT, STT + "x"]) == [
        {"ref": STT, "pull": "not_present"}, {"ref": TTS, "pull": "always"}, {"ref": STT + "x", "pull": "not_present"}]
    # From an archive or the host itself, nothing is pulled.
    assert FILTERS["speech_image_pulls"](requests, [STT], "load") == []
    assert FILTERS["speech_image_pulls"](requests, [STT], "present") == []


def test_the_run_says_each_image_pulled_updated_loaded_or_that_would_be():
    pulled = {"results": [
        {"item": {"ref": STT}, "changed": True, "diff": {"before": {"exists": False}}, "image": {"Id": "sha256:" + "a" * 64}},
        {"item": {"ref": TTS}, "changed": True, "diff": {"before": {"id": "sha256:" + "b" * 64}}, "image": {"Id": "sha256:" + "c" * 64}},
        {"item": {"ref": "unchanged"}, "changed": False},
    ]}
    assert FILTERS["speech_image_changes"](pulled) == [STT + ": pulled sha256:aaaaaaaaaaaa", TTS + ": updated sha256:cccccccccccc"]
    assert FILTERS["speech_image_changes"](pulled, check_mode=True) == [STT + ": would pull", TTS + ": would pull"]
    assert FILTERS["speech_image_changes"]({"results": []}, [TTS], True) == [TTS + ": would load"]
    assert FILTERS["speech_image_changes"]({"skipped": True}, [TTS]) == [TTS + ": loaded"]


def test_an_archive_that_lacks_an_image_is_named():
    loaded = {"image_names": [TTS]}
    assert FILTERS["speech_image_not_loaded"](loaded, [TTS]) == []
    assert FILTERS["speech_image_not_loaded"](loaded, [STT, TTS]) == [STT]


def test_explain_keeps_docker_words_it_does_not_know():
    assert i.explain(" no space left on device ") == "no space left on device"


def test_a_port_or_a_digest_holding_a_status_s_digits_is_not_that_status():
    """mirror.example:4010 timing out is transient (it was taken for a 401 before statuses became words of their own)."""
    assert not FILTERS["speech_pull_permanent"]("Get https://mirror.example:4010/v2/: net/http: TLS handshake timeout")
    assert not i.explain("Get https://mirror.example:4010/v2/: timeout").startswith("the registry answered 401")
    assert FILTERS["speech_pull_permanent"]("failed with status: 401 Unauthorized")
    assert FILTERS["speech_pull_permanent"]("received unexpected HTTP status: 403 Forbidden")
    assert not FILTERS["speech_pull_permanent"]("received unexpected HTTP status: 503 Service Unavailable")
