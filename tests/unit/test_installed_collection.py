"""The collection as users get it: built with ansible-galaxy, installed, its playbooks run by their FQCN."""

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLAYBOOKS = sorted(p.stem for p in (ROOT / "playbooks").glob("*.yml"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("collection")
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(work), str(ROOT)],
                   check=True, capture_output=True, text=True)
    tarball = next(work.glob("onprem-speech-*.tar.gz"))
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "--force", "-p", str(work / "collections"), str(tarball)],
                   check=True, capture_output=True, text=True)
    return work / "collections", names


# What a user needs: the collection's code and docs, an example project, the changelog. Nothing of the test rig
# or of the developers' tools.
USER_ENTRIES = {"MANIFEST.json", "FILES.json", "README.md", "meta", "plugins", "playbooks", "roles", "examples", "changelogs"}


def test_the_tarball_holds_only_what_a_user_needs(installed):
    _path, names = installed
    assert "playbooks/site.yml" in names and "plugins/modules/host_facts.py" in names and "roles/speech_containers/tasks/main.yml" in names
    assert "examples/project/site.yml" in names
    top = set(n.split("/", 1)[0] for n in names if n not in (".", ""))
    assert top <= USER_ENTRIES, sorted(top - USER_ENTRIES)
    assert not [n for n in names if n.startswith("changelogs/fragments/")], "fragments are the developers' (the changelog is built from them)"


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_each_playbook_runs_by_its_fqcn(installed, playbook, tmp_path):
    path, _names = installed
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    speech_hosts:\n      hosts:\n        h1: {}\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(path), ANSIBLE_CONFIG=os.devnull + ".cfg")
    run = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", str(inventory), "onprem.speech.%s" % playbook],
                         cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr + run.stdout
