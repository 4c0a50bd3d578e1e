"""The bad-input cases of bad_inputs.yml, as hosts of one inventory, and the check of what site.yml said to each.

    cases.py inventory BASE_JSON HOST OUT_YML   one inventory host case-<id> per case: the same real HOST (a Molecule
                                                 instance, reached with community.docker.docker), with BASE_JSON's good
                                                 settings changed as the case says
    cases.py check RUN_LOG                       every case was refused, with every expected fragment in its message;
                                                 prints one line per case and exits 1 when any is not

Standard library and PyYAML (Ansible's own dependency) only.
"""

import json
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CASES = HERE / "bad_inputs.yml"
FATAL = re.compile(r"^fatal: \[(?P<host>[^\]]+)\]: FAILED! => (?P<json>\{.*\})\s*$")


def cases():
    return yaml.safe_load(CASES.read_text())["cases"]


def inventory(base_json, host, out):
    base = json.loads(Path(base_json).read_text())
    hosts = {}
    for case in cases():
        variables = dict((k, v) for k, v in base.items() if k not in (case.get("unset") or []))
        variables.update(case.get("set") or {})
        variables.update({"ansible_connection": "community.docker.docker", "ansible_host": host})
        hosts["case-" + case["id"]] = variables
    Path(out).write_text(yaml.safe_dump({"all": {"children": {"speech_hosts": {"hosts": hosts}}}}, default_flow_style=False))
    Path(out).chmod(0o600)
    print("%d cases" % len(hosts))
    return 0


def check(run_log):
    said = {}
    for line in Path(run_log).read_text(errors="replace").splitlines():
        found = FATAL.match(line)
        if not found:
            continue
        try:
            message = json.loads(found.group("json")).get("msg") or ""
        except ValueError:
            continue
        said.setdefault(found.group("host"), message if isinstance(message, str) else json.dumps(message))
    failed = 0
    for case in cases():
        host = "case-" + case["id"]
        message = said.get(host)
        missing = [fragment for fragment in case["expect"] if message is None or fragment not in message]
        if message is None:
            print("NOT REFUSED  %s" % host)
        elif missing:
            print("MISNAMED     %s: missing %s in: %s" % (host, missing, message))
        else:
            print("refused      %s" % host)
            continue
        failed += 1
    print("%d of %d cases refused, each naming its variable" % (len(cases()) - failed, len(cases())))
    return 1 if failed else 0


def main(argv):
    if argv[:1] == ["inventory"] and len(argv) == 4:
        return inventory(*argv[1:])
    if argv[:1] == ["check"] and len(argv) == 2:
        return check(argv[1])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
