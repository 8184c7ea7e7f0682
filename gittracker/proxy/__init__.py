"""The sub-agent proxy's telemetry: the mitmproxy addon that meters each model request (docs/proxy.md)."""

from __future__ import annotations

import os


def addon_path() -> str:
    """The file `mitmdump -s` loads; it imports only the standard library and mitmproxy, never this package."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "addon.py")
