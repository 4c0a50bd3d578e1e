"""Make the checkout importable as ansible_collections.onprem.speech.

The rig (scripts/test) links the checkout into .cache/collections; this does
the same when pytest runs alone."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".cache" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "onprem" / "speech"

if not LINK.exists():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    LINK.symlink_to(ROOT, target_is_directory=True)
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
# unit_helpers.py, shared by the test files
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

FIXTURES = ROOT / "tests" / "unit" / "fixtures"
