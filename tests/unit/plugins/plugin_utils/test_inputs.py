import glob
import os

import yaml

from ansible_collections.onprem.speech.plugins.plugin_utils import inputs


def test_every_file_reads_as_the_safe_loader_reads_it():
    """check_inputs reads the collection's YAML with libyaml's safe loader where there is one; the data is the same."""
    files = glob.glob(os.path.join(inputs.ROOT, "roles", "*", "*", "*.yml")) + glob.glob(os.path.join(inputs.ROOT, "playbooks", "*.yml"))
    assert len(files) > 40
    for path in files:
        with open(path) as handle:
            assert inputs._load_yaml(path) == (yaml.safe_load(handle) or {}), path


def test_libyaml_is_used_where_pyyaml_has_it(monkeypatch, tmp_path):
    used = []

    class Loader(yaml.SafeLoader):
        def __init__(self, stream):
            used.append(True)
            super(Loader, self).__init__(stream)

    monkeypatch.setattr(yaml, "CSafeLoader", Loader, raising=False)
    path = tmp_path / "a.yml"
    path.write_text("a: [1, 2]\n")
    assert inputs._load_yaml(str(path)) == {"a": [1, 2]} and used
