"""Writes the parts of the docs that come from the kinds table, so no README
restates a number by hand. `python3 tests/rig/docs.py` rewrites them; the unit
test tests/unit/test_docs.py fails when a README is out of step."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))

import speech_kinds as sk  # noqa: E402  pylint: disable=wrong-import-position,import-error

START, END = "<!-- kinds-table:start -->", "<!-- kinds-table:end -->"
TARGETS = [ROOT / "README.md", ROOT / "roles" / "speech_containers" / "README.md"]


def gb(value):
    return "%g GB" % value


def kinds_table():
    lines = [
        "| Kind | Container | Image (under `%s/`) | Port inside | Client URL | Minimum | Recommended (default) | Model memory | Disconnected | Tag form |"
        % sk.REGISTRY,
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in sk.KINDS.items():
        model = row["model_memory_gb"]
        lines.append("| `%s` | %s | `%s` | %d | `%s://host:port` | %d cores, %s | %d cores, %s | %s | %s | `%s` |" % (
            name, row["title"], row["repository"], row["container_port"], row["protocol"], row["min_cpus"], gb(row["min_memory_gb"]),
            row["recommended_cpus"], gb(row["recommended_memory_gb"]), "+%g to %g GB" % tuple(model) if model[1] else "none",
            "yes" if row["disconnected"] else "no", row["tag_form"].replace("{", "<").replace("}", ">")))
    lines.append("")
    lines.append("Every core must run at %d MHz or more. The diagnostic image is `%s/%s:%s`." % (
        sk.MIN_CORE_MHZ, sk.REGISTRY, sk.DIAGNOSTIC["repository"], sk.DIAGNOSTIC["default_tag"]))
    return "\n".join(lines)


def render(text):
    block = "%s\n%s\n%s" % (START, kinds_table(), END)
    return re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _m: block, text, flags=re.S)


def main():
    for path in TARGETS:
        text = path.read_text()
        if START not in text:
            print("%s: no %s marker" % (path, START))
            continue
        new = render(text)
        if new != text:
            path.write_text(new)
            print("updated %s" % path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
