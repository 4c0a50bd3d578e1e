"""python3 -m speech_emulator serve|billing ... (the package directory's parent on PYTHONPATH)."""

import sys

from speech_emulator.cli import main

sys.exit(main())
