"""An emulator of the Azure AI Speech containers, for tests. NOT Microsoft's software.

    python3 -m speech_emulator serve [Key=Value ...]     the speech container (the image's entrypoint)
    python3 -m speech_emulator billing [options]         the billing service the containers report to

It honours the documented outside contract of the speech containers (arguments,
endpoints, ports, billing, disconnected licences, usage records) and the Speech
SDK's protocol (USP over WebSocket), so the collection's roles and Microsoft's
clients can be tested without Microsoft's images or Azure. What it implements,
and the document each behaviour comes from, is in README.md next to this
package. Python 3 standard library only: it runs with Debian 12's python3.

Modules, by concern: common (constants, kinds), settings, network (outbound
HTTP and proxies), licences, billing (the billing service), container (start-up,
heartbeat, usage), server (HTTP endpoints), websocket (RFC 6455), usp (USP
messages), session (a USP connection and its turns), recognition, synthesis,
language_id, audio, diagnostic, cli.
"""

from .audio import make_wav
from .common import KINDS, StartupError
from .licences import sign_license, verify_license
from .network import Proxy
from .settings import Settings, billing_origin

__all__ = ["KINDS", "Proxy", "Settings", "StartupError", "billing_origin", "make_wav", "sign_license", "verify_license", "main"]


def main(argv=None):
    from .cli import main as cli_main

    return cli_main(argv)
