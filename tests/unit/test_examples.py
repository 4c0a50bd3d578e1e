"""The example project decrypts, its plans pass the collection's own checks, and its site.yml parses."""

import json
import os
import subprocess
import sys
from pathlib import Path

from ansible_collections.onprem.speech.plugins.plugin_utils import plan

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "project"
BIN = Path(sys.executable).parent
EXAMPLE_VAULT_PASSWORD = "example-only-vault-password"


def ansible(tool, *args, tmp_path):
    secret = tmp_path / "vault-pass"
    secret.write_text(EXAMPLE_VAULT_PASSWORD + "\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_VAULT_PASSWORD_FILE=str(secret),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".cache" / "collections"))
    return subprocess.run([str(BIN / tool)] + list(args), cwd=PROJECT, env=env, capture_output=True, text=True, check=True).stdout


def test_inventory_decrypts_and_every_plan_is_valid(tmp_path):
    inventory = json.loads(ansible("ansible-inventory", "--list", tmp_path=tmp_path))
    hosts = inventory["speech_hosts"]["children"]
    assert sorted(hosts) == ["site_a", "site_b"]
    variables = inventory["_meta"]["hostvars"]
    for host in ("speech-a1", "speech-a2", "speech-b1"):
        hv = variables[host]
        assert hv["vault_speech_api_key"] == "0123456789abcdef0123456789abcdef"
        result = plan.normalize_plan(hv["speech_containers_list"])
        assert result["problems"] == [], (host, result["problems"])
        assert plan.check_billing(result["plan"], hv["speech_containers_eula"], hv["speech_containers_billing_endpoint"], True) == []


def test_site_yml_parses(tmp_path):
    out = ansible("ansible-playbook", "--syntax-check", "site.yml", tmp_path=tmp_path)
    assert "playbook: site.yml" in out
