"""The console script. Commands on an editor's hot path are dispatched before click is imported."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["statusline"]:
        from gittracker.statusline_cmd import main as statusline

        return statusline(args[1:])
    from gittracker.cli import main as cli

    return cli(args)
