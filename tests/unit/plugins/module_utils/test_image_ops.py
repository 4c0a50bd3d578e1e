"""Images through the engine's API: errors named at once, permanent ones not retried, policies."""

import pytest

from ansible_collections.onprem.speech.plugins.module_utils import image_ops as io
from unit_helpers import load_fixture_module

fake_api = load_fixture_module("fake_api")

MIRROR = "mirror.speech.test:5443"
REF = MIRROR + "/azure-cognitive-services/speechservices/speech-to-text:5.1.0-amd64-en-us"
PASSWORD = "s3cret-mirror-password"
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def mirror():
    api = fake_api.FakeAPI()
    api.users[MIRROR] = ("speechci", PASSWORD)
    api.publish(REF, "sha256:img-a", DIGEST_A)
    return api


def no_sleep(_seconds):
    pass


def test_a_missing_image_is_pulled_with_the_credentials_of_this_run():
    api = mirror()
    result = io.ensure(api, [{"ref": REF}], io.Registry(MIRROR, "speechci", PASSWORD), sleep=no_sleep)
    assert result[REF]["action"] == "pulled" and result[REF]["digest"] == DIGEST_A
    assert io.ensure(api, [{"ref": REF}], io.Registry(MIRROR, "speechci", PASSWORD), sleep=no_sleep)[REF]["action"] == "present"


def test_a_wrong_password_is_named_as_a_401_and_never_retried():
    api = mirror()
    with pytest.raises(io.ImageError) as caught:
        io.ensure(api, [{"ref": REF}], io.Registry(MIRROR, "speechci", "wrong-password-123"), sleep=no_sleep)
    message = str(caught.value)
    assert "401" in message and "wrong-password-123" not in message
    assert [m for m, path in api.log if path.startswith("/images/create")] == [], "refused at the login, before any pull"


def test_no_credentials_for_a_mirror_that_needs_them_is_named_at_once():
    api = mirror()
    with pytest.raises(io.ImageError) as caught:
        io.ensure(api, [{"ref": REF}], io.Registry(MIRROR), retries=5, sleep=no_sleep)
    assert "401 (unauthorized)" in str(caught.value) and "no basic auth credentials" in str(caught.value)
    assert len([p for m, p in api.log if p.startswith("/images/create")]) == 1


def test_an_unpublished_tag_is_permanent():
    api = mirror()
    missing = REF.replace("en-us", "xx-yy")
    with pytest.raises(io.ImageError) as caught:
        io.ensure(api, [{"ref": missing}], io.Registry(MIRROR, "speechci", PASSWORD), retries=5, sleep=no_sleep)
    assert "manifest unknown" in str(caught.value) and "after" not in str(caught.value)


def test_transient_errors_are_retried_and_an_error_inside_a_200_stream_counts():
    api = mirror()
    api.fail("POST", r"^/images/create", message="received unexpected HTTP status: 503 Service Unavailable", times=2, stream=True)
    slept = []
    result = io.ensure(api, [{"ref": REF}], io.Registry(MIRROR, "speechci", PASSWORD), retries=5, delay=3, sleep=slept.append)
    assert result[REF]["action"] == "pulled" and result[REF]["attempts"] == 3 and slept == [3, 3]
    api = mirror()
    api.fail("POST", r"^/images/create", message="net/http: TLS handshake timeout", stream=True)
    with pytest.raises(io.ImageError) as caught:
        io.ensure(api, [{"ref": REF}], io.Registry(MIRROR, "speechci", PASSWORD), retries=2, delay=1, sleep=no_sleep)
    assert "after 3 attempts" in str(caught.value)


def test_policy_always_pulls_only_when_the_tag_moved():
    api = mirror()
    registry = io.Registry(MIRROR, "speechci", PASSWORD)
    io.ensure(api, [{"ref": REF}], registry, sleep=no_sleep)
    assert io.ensure(api, [{"ref": REF, "policy": "always"}], registry, sleep=no_sleep)[REF]["action"] == "present"
    api.publish(REF, "sha256:img-b", DIGEST_B)  # the tag is pushed again with new content
    assert io.ensure(api, [{"ref": REF}], registry, sleep=no_sleep)[REF]["action"] == "present", "missing leaves it alone"
    result = io.ensure(api, [{"ref": REF, "policy": "always"}], registry, sleep=no_sleep)[REF]
    assert result["action"] == "updated" and result["digest"] == DIGEST_B and result["id"] == "sha256:img-b"


def test_a_pinned_reference_is_pulled_by_its_digest_whatever_the_tag_says():
    api = mirror()
    pinned = REF.rsplit(":", 1)[0] + "@" + DIGEST_A
    api.publish(REF, "sha256:img-b", DIGEST_B)
    api.registry[pinned] = ("sha256:img-a", DIGEST_A)
    result = io.ensure(api, [{"ref": pinned, "policy": "pinned"}], io.Registry(MIRROR, "speechci", PASSWORD), sleep=no_sleep)
    assert result[pinned]["id"] == "sha256:img-a" and result[pinned]["digest"] == DIGEST_A
    unknown = REF.rsplit(":", 1)[0] + "@sha256:" + "c" * 64
    with pytest.raises(io.ImageError) as caught:
        io.ensure(api, [{"ref": unknown, "policy": "pinned"}], io.Registry(MIRROR, "speechci", PASSWORD), sleep=no_sleep)
    assert "manifest unknown" in str(caught.value)


def test_check_mode_pulls_nothing():
    api = mirror()
    result = io.ensure(api, [{"ref": REF}], io.Registry(MIRROR, "speechci", PASSWORD), check_mode=True, sleep=no_sleep)
    assert result[REF]["action"] == "would pull" and not [p for m, p in api.log if m == "POST"]


def test_present_source_names_the_missing_images():
    with pytest.raises(io.ImageError) as caught:
        io.ensure(mirror(), [{"ref": REF}], io.Registry(), source="present", sleep=no_sleep)
    assert REF in str(caught.value) and "present" in str(caught.value)


def test_references_are_split_for_the_create_endpoint():
    assert io.split_reference("mcr.microsoft.com/a/b:1.0") == ("mcr.microsoft.com/a/b", "1.0")
    assert io.split_reference("host:5443/a/b@" + DIGEST_A) == ("host:5443/a/b", DIGEST_A)
    assert io.split_reference("host:5443/a/b") == ("host:5443/a/b", "latest")
