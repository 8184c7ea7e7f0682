"""Where the package keeps the mitmproxy addon, found without importing it (it imports mitmproxy, an optional extra)."""

from __future__ import annotations

from pathlib import Path

ADDON = "addon.py"


def addon_path() -> Path:
    """The absolute path of the addon file for ``mitmdump -s PATH`` (docs/proxy.md). Its absence is a broken
    installation, a bug (exit 3), not the user's input."""
    path = Path(__file__).resolve().parent / ADDON
    if not path.is_file():
        raise RuntimeError(f"the mitmproxy addon is missing from this installation (expected {path})")
    return path
