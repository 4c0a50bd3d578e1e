"""Every assert condition in the playbooks and scenarios is a string.

A regex with ': ' in a plain YAML list item silently turns the item into a
mapping, and Ansible only notices when the task runs, minutes into a scenario."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(p for d in ("molecule", "playbooks", "roles", "examples") for p in (ROOT / d).rglob("*.yml") if "vault" not in p.name)


def tasks_of(node):
    if isinstance(node, list):
        for item in node:
            yield from tasks_of(item)
    elif isinstance(node, dict):
        yield node
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always"):
            if key in node:
                yield from tasks_of(node[key])


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_assert_conditions_are_strings(path):
    data = yaml.safe_load(path.read_text())
    for task in tasks_of(data):
        for key in ("ansible.builtin.assert", "assert"):
            if isinstance(task.get(key), dict):
                that = task[key].get("that")
                for condition in that if isinstance(that, list) else [that]:
                    assert isinstance(condition, str), "%s: task %r has a condition that YAML did not read as a string: %r" % (
                        path.relative_to(ROOT), task.get("name"), condition)
        when = task.get("when")
        for condition in when if isinstance(when, list) else [when]:
            assert condition is None or isinstance(condition, (str, bool)), "%s: task %r: when %r" % (path.relative_to(ROOT), task.get("name"), condition)
