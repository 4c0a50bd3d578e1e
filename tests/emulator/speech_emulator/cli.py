"""The command line: `serve` (the speech container, the image's entrypoint) and `billing`."""

import os
import sys

from .billing import billing_main
from .common import StartupError
from .container import Container
from .diagnostic import run_diagnostic


def serve_main(argv, environ):
    kind = (environ.get("EMULATOR_KIND") or "").strip()
    if kind == "diagnostic":
        return run_diagnostic(argv, environ)
    container = None
    try:
        container = Container(argv, environ)
        container.configure()
        if container.mode == "download-license":
            return container.run_download_license()
        return container.serve()
    except StartupError as exc:
        message = container.redact(str(exc)) if container else str(exc)
        if container is not None and container.disk_log is not None:
            container.log(4, message)
        sys.stdout.flush()
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
        return 1


USAGE = """usage: python3 -m speech_emulator serve [Key=Value ...]
       python3 -m speech_emulator billing --keys FILE [--plain-http | --cert PEM --key PEM] [options]

An emulator of the Azure AI Speech containers, for tests (not Microsoft's software).
serve: the speech container (the image's entrypoint); its kind comes from EMULATOR_KIND.
billing: the billing service the containers report to (billing --help for its options).
See README.md next to the package.
"""


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0
    command = argv.pop(0) if argv and argv[0] in ("serve", "billing") else "serve"
    if command == "billing":
        return billing_main(argv)
    return serve_main(argv, dict(os.environ))
