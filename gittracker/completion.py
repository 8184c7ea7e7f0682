"""Shell completion: click's own (``_GIT_TRACKER_COMPLETE=bash_source git-tracker`` prints the script), with the
one thing click cannot know: the user types ``git tracker``, not ``git-tracker``, so the shell's git completion
is what runs first.

- bash: git's completion (git-completion.bash) calls a function ``_git_<command>`` when one is defined, with the
  words of the whole ``git …`` line; ``_git_tracker`` hands click the words from ``tracker`` on.
- zsh: zsh's own ``_git`` calls ``_git-<command>`` with the words already starting at ``tracker``, which is the
  shape click's zsh function expects.
- fish: fish's git completion completes ``git tracker …`` as ``git-tracker …`` by itself; click's script as is.
"""

from __future__ import annotations

import os

import click
from click.shell_completion import BashComplete, ZshComplete, add_completion_class, shell_complete

COMPLETE_VAR = "_GIT_TRACKER_COMPLETE"
PROG = "git-tracker"  # the program the scripts run and register; `git tracker` reaches it through git

_GIT_BASH = """
# git's completion calls _git_tracker for `git [options] tracker ...`; __git_cmd_idx is where "tracker" stands.
_git_tracker() {
    local idx=${__git_cmd_idx:-1}
    local COMP_WORDS=(%(prog_name)s "${COMP_WORDS[@]:idx+1}")
    local COMP_CWORD=$((COMP_CWORD - idx))
    %(complete_func)s %(prog_name)s
}
"""

_GIT_ZSH = """
# zsh's _git calls _git-tracker for `git tracker ...`, its words starting at "tracker".
_git-tracker() {
    %(complete_func)s "$@"
}
"""


class GitBashComplete(BashComplete):
    """click's bash script plus the function git's bash completion looks for."""

    source_template = BashComplete.source_template + _GIT_BASH


class GitZshComplete(ZshComplete):
    """click's zsh script plus the function zsh's git completion looks for."""

    source_template = ZshComplete.source_template + _GIT_ZSH


def complete(group: click.Group) -> int:
    """Answer the shell (a script for ``*_source``, the candidates for ``*_complete``); the exit code."""
    add_completion_class(GitBashComplete, "bash")
    add_completion_class(GitZshComplete, "zsh")
    return shell_complete(group, {}, PROG, COMPLETE_VAR, os.environ[COMPLETE_VAR])


def requested() -> bool:
    return bool(os.environ.get(COMPLETE_VAR))
