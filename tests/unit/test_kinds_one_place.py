"""A kind of container is described in one place, plugins/module_utils/speech_kinds.py.

The code reads the table's rules (which options a kind takes, which probe it gets, its defaults); it
never names a kind. The argument specs list the kinds exactly as the table does, and the docs'
tables are generated from it (test_docs.py)."""

import ast
import re
from pathlib import Path

import yaml

from ansible_collections.onprem.speech.plugins.module_utils import speech_kinds as sk

ROOT = Path(__file__).resolve().parents[2]
DOC_NAMES = ("DOCUMENTATION", "EXAMPLES", "RETURN")


def code_strings(path):
    """(line, text) of every string constant of a Python file but its docstrings and the module documentation."""
    tree = ast.parse(path.read_text())
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in DOC_NAMES for t in node.targets):
            skip.update(id(n) for n in ast.walk(node.value))
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(node.body[0].value, ast.Constant):
            skip.add(id(node.body[0].value))
    return [(n.lineno, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]


def test_no_code_names_a_kind():
    kinds = set(sk.kind_names())
    named = []
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        if path.name == "speech_kinds.py":
            continue
        named += ["%s:%d %r" % (path.relative_to(ROOT), line, text) for line, text in code_strings(path) if text in kinds]
    assert named == [], "kinds named outside speech_kinds.py (read the table's rules instead): %s" % named


def test_no_task_or_template_names_a_kind():
    pattern = re.compile(r"(?<![\w-])(%s)(?![\w-])" % "|".join(sk.kind_names()))
    named = []
    for path in sorted(list((ROOT / "roles").rglob("*.yml")) + list((ROOT / "playbooks").rglob("*.yml")) + list((ROOT / "playbooks").rglob("*.j2"))):
        if path.name == "argument_specs.yml":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if pattern.search(code):
                named.append("%s:%d %s" % (path.relative_to(ROOT), number, line.strip()))
    assert named == [], named


def _choices(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "choices" and isinstance(value, list) and set(value) & set(sk.kind_names()):
                found.append(value)
            _choices(value, found)
    elif isinstance(node, list):
        for item in node:
            _choices(item, found)


def test_argument_specs_list_the_kinds_as_the_table_does():
    found = []
    for path in sorted((ROOT / "roles").glob("*/meta/argument_specs.yml")):
        _choices(yaml.safe_load(path.read_text()), found)
    assert found, "no argument spec lists the kinds"
    assert all(choices == sk.kind_names() for choices in found), found


def test_the_table_says_every_rule_the_code_reads():
    for name, row in sk.KINDS.items():
        assert row["probe"] in ("recognition", "synthesis", "language_id"), name
        assert set(row["takes"]) <= {"locale", "voice", "model_id", "models_dir", "decoder_max_count"}, name
        assert isinstance(row["models_mount"], bool), name
        if row["selector"]:
            assert row["selector"] in row["takes"], name
