"""module_utils/text.py: one rule for redaction, excerpts and a client's URL, on the hosts and on the controller."""

from ansible_collections.onprem.speech.plugins.module_utils import container_ops, probe
from ansible_collections.onprem.speech.plugins.module_utils import text as t
from ansible_collections.onprem.speech.plugins.plugin_utils import fleet
from ansible_collections.onprem.speech.plugins.plugin_utils import plan as p

KEY = "0123456789abcdef0123456789abcdef"


def test_every_side_redacts_by_the_same_rule():
    words = "key %s in abc%sdef; pw s3cr3t and s3" % (KEY, KEY)
    want = "key <hidden> in abc<hidden>def; pw <hidden> and s3"
    assert t.redact(words, [KEY, "s3cr3t", ""]) == want
    assert p.redact(words, KEY, "s3cr3t", None) == want
    assert container_ops.redact(words, [KEY, "s3cr3t"]) == want
    # The longest first: a secret that holds another is hidden whole.
    assert t.redact("abcdef", ["abc", "abcdef"]) == "<hidden>"
    assert t.redact(None, [KEY]) == ""


def test_scrub_hides_what_looks_like_a_key():
    assert t.scrub("ApiKey=%s x" % KEY) == "ApiKey=<hidden> x"
    assert probe.redact('"password": "hunter22"') == '"password": "<hidden>"'


def test_excerpt_is_one_line_cut_with_dots():
    assert t.excerpt("a\n  b\tc") == "a b c"
    assert t.excerpt("x" * 100, 10) == "xxxxxxx..."
    assert p.excerpt_words("word " * 40, 20) == t.excerpt("word " * 40, 20)


def test_a_client_url_brackets_an_ipv6_host_once():
    assert t.client_url("ws", "fd00::5", 5000) == "ws://[fd00::5]:5000"
    assert t.client_url("http", "[fd00::5]", 5001) == "http://[fd00::5]:5001"
    assert t.client_url("ws", "10.0.0.5", "5000") == "ws://10.0.0.5:5000"
    stt = {"protocol": "ws", "host_port": 5000}
    assert p.client_url(stt, "fd00::5") == "ws://[fd00::5]:5000"
    target = probe.normalize_target({"name": "b", "kind": "ntts", "port": 5001, "host": "fd00::5"})
    assert probe.client_url(target) == "http://[fd00::5]:5001"


def test_the_journal_hides_the_runs_secrets():
    hv = {"inventory_hostname": "h1", "speech_containers_result": {"changes": []}}
    entry = fleet.journal_entry(hv, "pull failed for user x with %s" % KEY, [KEY])
    assert KEY not in str(entry) and "<hidden>" in entry["failure"]
