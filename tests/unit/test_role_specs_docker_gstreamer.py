"""Static checks of the docker and gstreamer roles: argument specs typed all the way
down, per-family vars files alike, every choice covered by each family, and the
README variable tables in step with the specs."""

from pathlib import Path

import re

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ["docker", "gstreamer"]


def load(role, rel):
    return yaml.safe_load((ROOT / "roles" / role / rel).read_text())


def options(role):
    return load(role, "meta/argument_specs.yml")["argument_specs"]["main"]["options"]


def family_files(role):
    # vars/main.yml is the role's query of the one look (preflight reads it by include_vars), and the docker role's
    # vars/want.yml what it wants (its compare entry point loads it with the family's file): not family files.
    return sorted(p for p in (ROOT / "roles" / role / "vars").glob("*.yml") if p.name not in ("main.yml", "want.yml"))


def test_what_the_docker_role_wants_is_internal_and_loaded_with_the_family_file():
    """vars/want.yml's names are loaded by include_vars, which beats play and inventory vars: none may be a name an
    operator sets (an option or a default), and compare.yml loads it in the same task as the family's file."""
    want = load("docker", "vars/want.yml")
    defaults = load("docker", "defaults/main.yml") or {}
    for name in want:
        assert name.startswith("docker_") and not name.startswith("docker_family_"), name
        assert name not in options("docker") and name not in defaults, name
    compare = load("docker", "tasks/compare.yml")[0]["block"]
    loads = [task for task in compare if "ansible.builtin.include_vars" in task]
    assert len(loads) == 1 and loads[0]["loop"][-1] == "{{ role_path }}/vars/want.yml"


def walk(opts, where):
    for name, opt in opts.items():
        yield "%s.%s" % (where, name), opt
        if "options" in opt:
            yield from walk(opt["options"], "%s.%s" % (where, name))


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_typed_and_described(role):
    for name, opt in walk(options(role), role):
        assert "type" in opt, "%s has no type" % name
        assert opt.get("description"), "%s has no description" % name
        if opt["type"] == "list":
            assert "elements" in opt, "%s is a list without elements" % name


@pytest.mark.parametrize("role", ROLES)
def test_family_vars_files_define_the_same_internal_names(role):
    files = family_files(role)
    assert [f.stem for f in files] == ["Debian", "RedHat"]
    keys = [sorted(yaml.safe_load(f.read_text())) for f in files]
    assert keys[0] == keys[1]
    for key in keys[0]:
        assert key.startswith(role + "_family_"), "%s: %s is not an internal family name" % (role, key)
    # Role vars beat play and inventory vars: vars/main.yml holds only the look query, which no operator sets
    # (no argument spec option, no default) and which the role then reads without a task.
    main = yaml.safe_load((ROOT / "roles" / role / "vars" / "main.yml").read_text())
    assert list(main) == [role + "_look_query"]
    assert role + "_look_query" not in options(role)
    assert role + "_look_query" not in (load(role, "defaults/main.yml") or {})


@pytest.mark.parametrize("role", ROLES)
def test_look_query_reads_only_operator_variables_with_defaults(role):
    """preflight reads vars/main.yml without the role's defaults: every variable in it has a default()."""
    text = (ROOT / "roles" / role / "vars" / "main.yml").read_text()
    data = yaml.safe_load(text)
    assert list(data) == [role + "_look_query"]
    jinja = " ".join(re.findall(r"\{\{(.*?)\}\}", text, re.S))
    for name in set(re.findall(r"\b(%s_[a-z_]+)" % role, jinja)):
        assert re.search(r"%s \| default\(" % name, text), "%s in vars/main.yml has no default()" % name


@pytest.mark.parametrize("family", ["Debian", "RedHat"])
def test_docker_family_covers_both_sources(family):
    data = load("docker", "vars/%s.yml" % family)
    sources = options("docker")["docker_package_source"]["choices"]
    for key in ("docker_family_packages", "docker_family_conflicts"):
        assert sorted(data[key]) == sorted(sources), "%s %s" % (family, key)
    for source in sources:
        # A source never removes what it installs.
        assert not set(data["docker_family_packages"][source]) & set(data["docker_family_conflicts"][source])
    assert "python3-requests" in data["docker_family_python_packages"]


@pytest.mark.parametrize("family", ["Debian", "RedHat"])
def test_gstreamer_family_covers_every_format(family):
    data = load("gstreamer", "vars/%s.yml" % family)
    formats = options("gstreamer")["gstreamer_formats"]["choices"]
    assert sorted(data["gstreamer_family_decoders"]) == sorted(formats)
    for fmt, spec in data["gstreamer_family_decoders"].items():
        assert spec["label"]
        assert [need["needs"] for need in spec["needs"]][-1] == "decoder", fmt
        for need in spec["needs"]:
            assert need["any"] and need["package"], fmt


def test_gstreamer_debian_packages_are_the_speech_sdk_list():
    packages = load("gstreamer", "vars/Debian.yml")["gstreamer_family_packages"]
    documented = ["libgstreamer1.0-0", "gstreamer1.0-plugins-base", "gstreamer1.0-plugins-good",
                  "gstreamer1.0-plugins-bad", "gstreamer1.0-plugins-ugly"]
    assert packages[:5] == documented
    assert "gstreamer1.0-tools" in packages


@pytest.mark.parametrize("role", ROLES)
def test_readme_variable_table_lists_every_option(role):
    readme = (ROOT / "roles" / role / "README.md").read_text()
    for name in options(role):
        assert "| `%s` |" % name in readme, "%s README does not list %s" % (role, name)
