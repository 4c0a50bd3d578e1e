"""The docs take their numbers from the kinds table, and the roles' defaults and argument specs agree."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "rig"))

import docs  # noqa: E402  pylint: disable=wrong-import-position


@pytest.mark.parametrize("path", docs.TARGETS, ids=lambda p: str(p.relative_to(ROOT)))
def test_kinds_table_in_docs_is_generated(path):
    text = path.read_text()
    assert docs.START in text, "%s has no generated kinds table" % path
    assert docs.render(text) == text, "%s is out of step with the kinds table: run python3 tests/rig/docs.py" % path


ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_specs_have_the_same_keys(role):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    options = specs["main"]["options"]
    assert sorted(defaults) == sorted(options)
    for name, option in options.items():
        assert "type" in option, "%s: %s has no type" % (role, name)
        assert name.startswith(role + "_"), "%s: %s lacks the role prefix" % (role, name)
        assert option.get("default") == defaults[name], "%s: %s default differs between defaults/main.yml and argument_specs" % (role, name)


def test_every_role_has_a_readme():
    for role in (ROOT / "roles").iterdir():
        assert (role / "README.md").exists(), role.name


MODULES = sorted((ROOT / "plugins" / "modules").glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_module_docs_are_yaml_that_ansible_doc_renders(path):
    """DOCUMENTATION, EXAMPLES and RETURN parse (a ': ' inside a plain scalar breaks ansible-doc), and ansible-doc renders the module."""
    blocks = dict((node.targets[0].id, node.value.value) for node in ast.parse(path.read_text()).body
                  if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in ("DOCUMENTATION", "EXAMPLES", "RETURN"))
    assert set(blocks) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    for name, text in blocks.items():
        yaml.safe_load(text)
    doc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "--json", "-t", "module", "onprem.speech." + path.stem],
                         capture_output=True, text=True, check=False)
    assert doc.returncode == 0, doc.stderr
    assert json.loads(doc.stdout)["onprem.speech." + path.stem]["doc"]["short_description"]
