"""What a change touches: the parts of the test command to run for the inner loop (scripts/test --changed).

    scripts/test --changed            what differs from HEAD (staged, unstaged and untracked files)
    scripts/test --changed HEAD~3     what differs from that revision, the working tree included

The rules, conservative where a file's reach is not known:
- unit: the unit tests of what changed (tests/unit/.../test_<name>.py of plugins/.../<name>.py, the
  test files that changed), or every unit test when the change reaches one that cannot be named
  (rig, requirements, fixtures, emulator);
- lint and sanity: when a file either of them reads changed (lint is given the changed files);
- a Molecule scenario: when a file it runs changed. What a scenario runs is worked out from its
  files: the roles and modules it names (onprem.speech.<role|module>), the playbooks it names
  (playbooks/site.yml names every role), the shared files it names (../shared/...), and, for a
  plugin, every role, playbook or scenario that names the plugin or a plugin that imports it.
  A file none of these rules knows (the rig, requirements.txt, .config/molecule) selects everything.

Only the Python standard library is used here.
"""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Files that no part reads: a change to them runs nothing.
INERT = re.compile(r"^(README\.md|BENCHMARKS\.md|docs/|changelogs/|bench/|examples/project/README|\.gitignore$|LICENSE)")
# Read by every part (the rig, its settings, the pinned tools): a change runs everything.
EVERYTHING = re.compile(r"^(tests/rig/rig\.py|tests/rig/changed\.py|scripts/|\.ci/|requirements\.txt|\.config/molecule/|"
                        r"ansible\.cfg|galaxy\.yml|meta/runtime\.yml|tests/rig/callback_plugins/)")
# Read by the scenarios that use the support services (registry, billing, DNS) or the rig's images.
SUPPORT = re.compile(r"^(tests/rig/support\.py|tests/rig/images/|tests/emulator/speech_emulator/|tests/sdk/)")


def changed_files(base="HEAD", root=ROOT):
    """The repository's paths that differ from base, in the working tree: tracked changes and untracked files."""
    tracked = subprocess.run(["git", "diff", "--name-only", base, "--"], cwd=root, check=True, capture_output=True, text=True).stdout
    untracked = subprocess.run(["git", "ls-files", "--others", "--exclude-standard"], cwd=root, check=True,
                               capture_output=True, text=True).stdout
    return sorted({line.strip() for line in (tracked + "\n" + untracked).splitlines() if line.strip()})


def _text(path):
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _names_in(paths):
    """Every onprem.speech.<word> and ../shared/<file> named in these files."""
    names = set()
    for path in paths:
        text = _text(path)
        names.update(re.findall(r"onprem\.speech\.([a-z_0-9]+)", text))
        names.update("molecule/shared/" + m for m in re.findall(r"\.\./shared/([A-Za-z0-9_./-]+)", text))
        names.update(re.findall(r"(playbooks/[a-z_0-9]+\.yml)", text))
    return names


def plugin_names(root=ROOT):
    """{plugin path: the names by which roles and playbooks reach it} for modules, actions, filters and lookups,
    and {util path: the plugin paths that import it}."""
    reach = {}
    for kind in ("modules", "action", "lookup"):
        for path in (root / "plugins" / kind).glob("*.py"):
            reach["plugins/%s/%s" % (kind, path.name)] = {"onprem.speech." + path.stem}
    for path in (root / "plugins" / "filter").glob("*.py"):
        reach["plugins/filter/" + path.name] = {"onprem.speech." + n for n in re.findall(r"[\"'](speech_[a-z_0-9]+)[\"']\s*:", _text(path))}
    imports = {}
    for path in (root / "plugins").rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        text = _text(path)
        found = re.findall(r"plugins\.(module_utils|plugin_utils)\.([a-z_0-9]+)", text)
        found += [(kind, m.split()[0]) for kind, names in re.findall(r"plugins\.(module_utils|plugin_utils) import ([a-z_0-9, ]+)", text)
                  for m in names.split(",")]
        for kind, module in found:
            imports.setdefault("plugins/%s/%s.py" % (kind, module), set()).add(rel)
    return reach, imports


def plugins_reached(path, reach, imports, seen=None):
    """The names (onprem.speech.<x>) through which a plugin file is reached, following imports of utils."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    names = set(reach.get(path, ()))
    for importer in imports.get(path, ()):
        names |= plugins_reached(importer, reach, imports, seen)
    return names


def scenario_reach(scenario, root=ROOT):
    """Everything a scenario runs: its own files, the shared files, roles and playbooks it names (and theirs)."""
    own = [p for p in (root / "molecule" / scenario).rglob("*") if p.is_file()]
    names = _names_in(own)
    roles = {p.name for p in (root / "roles").iterdir() if p.is_dir()}
    playbooks = {"playbooks/" + p.name for p in (root / "playbooks").glob("*.yml")}
    names |= {"playbooks/%s.yml" % n for n in list(names) if "playbooks/%s.yml" % n in playbooks}
    # A playbook names its roles; a role's files name other roles and modules; follow until nothing new.
    files = set()
    frontier = set(names)
    while frontier:
        name = frontier.pop()
        found = []
        if name in roles:
            found = [p for p in (root / "roles" / name).rglob("*") if p.is_file()]
        elif name in playbooks:
            found = [root / name] + [p for p in (root / "playbooks").rglob("*") if p.is_file() and p.suffix in (".yml", ".j2")]
        elif name.startswith("molecule/shared/"):
            found = [root / name]
        new = [p for p in found if p not in files]
        files.update(new)
        more = _names_in(new) - names
        names |= more
        frontier |= more
    return names, {p.relative_to(root).as_posix() for p in files} | {p.relative_to(root).as_posix() for p in own}


def uses_support(scenario, root=ROOT):
    return "support" in (root / "molecule" / scenario / "molecule.yml").read_text().splitlines()[0]


def unit_targets(files, root=ROOT):
    """The test files (paths for pytest) that cover these changed files, or None for every unit test.

    A changed test file runs itself; a changed plugin, role or playbook runs the test files that name it
    (its stem, or its role's or playbook's path); the emulator runs its own tests."""
    tests = sorted(p for d in ("tests/unit", "tests/emulator") for p in (root / d).rglob("test_*.py"))
    texts = {p: _text(p) for p in tests}
    chosen = set()
    for f in files:
        path = root / f
        if path in texts:
            chosen.add(path)
            continue
        if f.startswith(("tests/unit/fixtures/", "tests/unit/conftest", "tests/unit/unit_helpers", "tests/inputs/", "tests/sdk/")):
            return None
        if f.startswith("tests/emulator/"):
            chosen.update(p for p in tests if p.is_relative_to(root / "tests" / "emulator"))
            continue
        if f.startswith("roles/"):
            needle = re.compile(re.escape("/".join(f.split("/")[:2])))
        elif f.startswith("plugins/"):
            kind, stem = f.split("/")[1], Path(f).stem
            needle = re.compile(r"%s[./]%s\b|%s import [a-z_0-9, ]*\b%s\b" % (kind, stem, kind, stem))
        else:
            needle = re.compile(re.escape(f))
        hits = [p for p, text in texts.items() if needle.search(text) or p.stem == "test_" + Path(f).stem]
        if f.startswith(("plugins/", "roles/", "playbooks/", "meta/")) and not hits:
            return None
        chosen.update(hits)
    return [p.relative_to(root).as_posix() for p in sorted(chosen)]


def select(files, scenarios, root=ROOT):
    """(parts, reasons): the parts of the test command that these changed files call for, and why each."""
    parts, reasons = [], {}

    def add(part, why):
        if part not in parts:
            parts.append(part)
        reasons.setdefault(part, why)

    files = [f for f in files if not INERT.match(f)]
    everything = [f for f in files if EVERYTHING.match(f)]
    if everything:
        for part in ["unit", "lint", "sanity"] + ["molecule:" + s for s in scenarios]:
            add(part, everything[0] + " is read by every part")
        return parts, reasons
    reach, imports = plugin_names(root)
    for f in files:
        if f.startswith(("plugins/", "tests/unit/", "tests/emulator/", "tests/inputs/", "tests/sdk/", "roles/", "playbooks/", "meta/")):
            add("unit", f)
        if f.startswith(("plugins/", "roles/", "playbooks/", "molecule/", "examples/", "meta/", "tests/sanity/")):
            add("lint" if not f.startswith("tests/sanity/") else "sanity", f)
        if f.startswith(("plugins/", "roles/", "playbooks/", "meta/", "tests/sanity/", "tests/unit/", "tests/rig/")) or f.endswith(".py"):
            add("sanity", f)
    for scenario in scenarios:
        names, scenario_files = scenario_reach(scenario, root)
        for f in files:
            why = None
            if f in scenario_files:
                why = f
            elif f.startswith("plugins/"):
                hit = plugins_reached(f, reach, imports) & {"onprem.speech." + n for n in names}
                if hit:
                    why = "%s (through %s)" % (f, sorted(hit)[0])
            elif SUPPORT.match(f) and uses_support(scenario, root):
                why = f + " (the support services and images)"
            elif f.startswith("tests/inputs/") and "speech_containers" == scenario:
                why = f
            if why:
                add("molecule:" + scenario, why)
                break
    return parts, reasons
