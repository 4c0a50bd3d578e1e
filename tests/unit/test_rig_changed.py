"""scripts/test --changed: which parts a change calls for (tests/rig/changed.py), on this repository's own files."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "rig"))

import changed  # noqa: E402

SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


def parts(*files):
    return changed.select(list(files), SCENARIOS, ROOT)[0]


def test_a_scenario_file_runs_that_scenario_and_lint_only():
    assert parts("molecule/gstreamer/verify.yml") == ["lint", "molecule:gstreamer"]


def test_docs_run_nothing():
    assert parts("README.md", "docs/DEVELOPING.md", "BENCHMARKS.md", "changelogs/fragments/x.yml") == []


def test_the_rig_and_the_pinned_tools_run_everything():
    for path in ("tests/rig/rig.py", "requirements.txt", ".config/molecule/config.yml"):
        assert parts(path) == ["unit", "lint", "sanity"] + ["molecule:" + s for s in SCENARIOS], path


def test_a_role_runs_its_own_scenario_and_every_scenario_that_runs_site_yml():
    chosen = parts("roles/gstreamer/tasks/main.yml")
    assert "molecule:gstreamer" in chosen and "molecule:fleet" in chosen
    # The docker scenario runs the docker role alone: GStreamer is not in it.
    assert "molecule:docker" not in chosen


def test_a_module_util_reaches_the_scenarios_through_the_modules_that_import_it():
    # host_parse is imported by host_facts, which preflight calls: every scenario that looks at a host.
    chosen = parts("plugins/module_utils/host_parse.py")
    assert {"molecule:preflight", "molecule:docker", "molecule:gstreamer", "molecule:fleet"} <= set(chosen)


def test_unit_targets_are_the_tests_of_what_changed():
    fleet = changed.unit_targets(["plugins/plugin_utils/fleet.py"], ROOT)
    assert "tests/unit/plugins/plugin_utils/test_fleet.py" in fleet
    assert "tests/unit/plugins/module_utils/test_probe.py" not in fleet and len(fleet) < 8
    assert changed.unit_targets(["tests/unit/test_docs.py"], ROOT) == ["tests/unit/test_docs.py"]
    # A shared fixture reaches tests nobody can name: all of them.
    assert changed.unit_targets(["tests/unit/unit_helpers.py"], ROOT) is None
