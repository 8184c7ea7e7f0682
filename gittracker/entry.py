"""The console script. Commands on a hot path are dispatched before click is imported: the status line
(every editor repaint), the agents' hooks (every turn of a session), a log ``ingest`` that finds nothing new
(``logstate.quick``; when it cannot tell from files alone, the full command runs), and bare ``git tracker``, a
newcomer's first command (the overview, in a third of the time; unless a shell is asking for completion, which has
no arguments either)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args and "_GIT_TRACKER_COMPLETE" not in os.environ:
        from gittracker.helptext import overview

        sys.stdout.write(overview())
        return 0
    if args[:1] == ["statusline"]:
        from gittracker.statusline_cmd import main as statusline

        return statusline(args[1:])
    if args[:1] == ["hook"] and args[1:2] != ["-h"] and args[1:2] != ["--help"]:
        from gittracker.autocapture.hook import main as hook

        return hook(args[1:])
    if args[:1] == ["shell-init"]:
        from gittracker.shellinit import quick as shell_init

        printed = shell_init(args[1:])
        if printed is not None:
            return printed
    if args[:1] == ["ingest"]:
        from gittracker.logstate import quick

        done = quick(args)
        if done is not None:
            return done
    from gittracker.cli import main as cli

    return cli(args)
