"""Settings in the ASP.NET Core style (arguments and environment), and the Billing URI."""

import urllib.parse

from .common import StartupError


class Settings:
    """Configuration from the environment (`__` separates sections) and then from
    arguments (`Key=Value`, `Section:Key=Value`, `--Key=Value`, `/Key=Value`,
    `--Key Value`); keys are case-insensitive and arguments win."""

    def __init__(self, argv, environ):
        self.values = {}
        for name, value in environ.items():
            self.values[name.replace("__", ":").lower()] = value
        args = list(argv)
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            stripped = arg[2:] if arg.startswith("--") else arg[1:] if arg.startswith("/") and "=" in arg else arg
            if "=" in stripped:
                key, value = stripped.split("=", 1)
            elif arg.startswith("--") and i < len(args):
                key, value = stripped, args[i]
                i += 1
            else:
                # Never echo the argument: it could be a key given without its name.
                raise StartupError("Unrecognized command-line argument #%d: settings are given as Key=Value (for example Eula=accept)." % i)
            key = key.strip()
            if not key:
                raise StartupError("Command-line argument #%d has no key before '='." % i)
            self.values[key.replace("__", ":").lower()] = value

    def get(self, key, default=None):
        value = self.values.get(key.lower())
        return default if value is None else value

    def has(self, key):
        value = self.values.get(key.lower())
        return value is not None and value.strip() != ""

    def flag(self, key):
        return str(self.get(key, "")).strip().lower() in ("true", "1", "yes")


def billing_origin(uri):
    """scheme://host[:port] of a Billing setting, or None when it is not an absolute http(s) URI."""
    try:
        parts = urllib.parse.urlsplit(uri.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(c.isspace() for c in uri.strip()):
            return None
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        return None
    host = parts.hostname
    if ":" in host:
        host = "[%s]" % host
    return "%s://%s%s" % (parts.scheme.lower(), host, ":%d" % port if port else "")
