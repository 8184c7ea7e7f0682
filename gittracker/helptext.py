"""What git-tracker says about itself beyond each command's own help: the overview that bare ``git tracker``
prints, and the facts of the man page that click's commands cannot give (files, environment, where to read on).

Plain text, no click: bare ``git tracker`` prints the overview without loading the command group.
"""

from __future__ import annotations

SUMMARY = "measure finished work per unit of AI-assistant capacity, inside git"

INTRO = (
    "git-tracker records, inside the git repository where the work happens, how much AI coding-assistant "
    "capacity each stretch of work used, which commits it produced and how the work turned out, and tells "
    "which subscription delivers the most finished work per unit of capacity."
)

LOOP = """\
The core loop, in a repository where `git tracker init` has been run:
  git tracker start codex --used 10    read the meter, open a window
  (work and commit as usual: the hooks note each commit)
  git tracker end codex --used 25      read the meter again, close the window
  git tracker complete --outcome shipped --quality 0.9
  git tracker preview                  efficiency per provider, 95% intervals"""

MORE = """\
Try it on made-up data first: git tracker demo

Read more:
  git tracker help COMMAND   one command's options (git tracker -h: all)
  git tracker --help         the manual page (man git-tracker)
  docs/commands.md           in share/doc/git-tracker/ where it is installed"""


def overview() -> str:
    """What bare ``git tracker`` prints: what it is, the core loop, where to read more."""
    import textwrap

    return "\n\n".join((textwrap.fill(INTRO, 80), LOOP, MORE)) + "\n"


# (name, what it does): the man page's ENVIRONMENT; a test holds it to the variables the code reads.
ENVIRONMENT: tuple[tuple[str, str], ...] = (
    (
        "AGENT_ID",
        "Which agent you are (default main). Each agent has its own open windows; the hooks stamp a "
        "commit with the windows of the AGENT_ID in the committing environment.",
    ),
    ("GIT_TRACKER_NOW", "Pins the clock to an ISO-8601 time for every timestamp and id (tests, the demo)."),
    ("GIT_TRACKER_SOURCE", "The source stamped on records (cli by default; also alias, ingest, automation, hook)."),
    ("GIT_TRACKER_DEBUG", "Non-empty: like --debug; a hook error raises instead of warning."),
    (
        "GIT_TRACKER_PARALLEL_MIN_BYTES",
        "ingest: new bytes from which logs are read by one process per core (default 16 MB).",
    ),
    (
        "GIT_TRACKER_ROUND_BYTES",
        "ingest: new bytes read at once; what a round read waits on disk while the next is read (default 256 MB).",
    ),
    (
        "GIT_TRACKER_BUCKET_EVENTS",
        "ingest: events per bucket of the event store before the buckets double (default 200,000).",
    ),
    (
        "NO_COLOR",
        "Non-empty: no colour, even on a terminal (colour is also off when the output is not a terminal, "
        "when TERM is dumb, and always in --json).",
    ),
    (
        "CLAUDE_CONFIG_DIR",
        "Where Claude Code keeps its transcripts, comma-separated (ingest claude-logs; default "
        "$XDG_CONFIG_HOME/claude and ~/.claude); agent-hooks --scope user writes its settings.json (one folder, "
        "as Claude Code reads it; default ~/.claude).",
    ),
    (
        "CODEX_HOME",
        "Where Codex CLI keeps its sessions, config.toml and hooks.json (default ~/.codex; ingest codex-sessions, "
        "--auto codex, agent-hooks --scope user).",
    ),
    ("XDG_CACHE_HOME", "The status-line cache lives in $XDG_CACHE_HOME/git-tracker (default ~/.cache)."),
    ("XDG_CONFIG_HOME", "Claude Code's config folder is looked for in $XDG_CONFIG_HOME/claude (default ~/.config)."),
    (
        "XDG_STATE_HOME",
        "ingest keeps the key that names the places it read in $XDG_STATE_HOME/git-tracker/place-key "
        "(default ~/.local/state; never pushed).",
    ),
    ("TERM", "dumb: no colour."),
    ("SHELL", "shell-init: the shell to write functions for when the parent process is not a shell (or --shell)."),
    (
        "_GIT_TRACKER_COMPLETE",
        "Set by the shell completion scripts (bash_source, zsh_source, fish_source print a script); see COMPLETION.",
    ),
)

# (path, what it is): the man page's FILES.
FILES: tuple[tuple[str, str], ...] = (
    (".git-tracker.toml", "The repository's settings, written by init (docs/configuration.md)."),
    ("refs/heads/tracker-ledger", "The ledger branch: every record, append-only (docs/data-model.md)."),
    ("refs/notes/tracker", "The git notes naming the windows each commit belongs to."),
    ("$GIT_COMMON_DIR/tracker/", "This machine's state: open windows per agent, the journal, queued note stamps."),
    (
        ".git-tracker-schedule.toml, $GIT_COMMON_DIR/tracker/schedule.toml",
        "The schedule timer --once runs: the repository's, or this clone's own, which wins (docs/autocapture.md).",
    ),
    ("$GIT_COMMON_DIR/tracker/timer/", "The last slot each standing job ran for, and its lock."),
    (
        "$GIT_DIR/hooks/post-commit, post-rewrite",
        "The hooks init installs (or core.hooksPath's folder; docs/hooks.md).",
    ),
    ("~/.cache/git-tracker/", "The last Claude status-line reading, for start --auto claude."),
    (
        ".claude/settings.local.json, .codex/hooks.json",
        "agent-hooks install's entries for the project (listed in .git/info/exclude unless git ignores them); "
        "what the files were before is kept in $GIT_COMMON_DIR/tracker/agent-hooks/ (user scope: "
        "$XDG_STATE_HOME/git-tracker/agent-hooks/).",
    ),
)

# How each shell loads the completion script: (shell, where, the line); README and docs/commands.md say the same.
COMPLETION: tuple[tuple[str, str, str], ...] = (
    ("bash", "~/.bashrc", 'eval "$(_GIT_TRACKER_COMPLETE=bash_source git-tracker)"'),
    ("zsh", "~/.zshrc, after compinit", 'eval "$(_GIT_TRACKER_COMPLETE=zsh_source git-tracker)"'),
    ("fish", "run once", "_GIT_TRACKER_COMPLETE=fish_source git-tracker > ~/.config/fish/completions/git-tracker.fish"),
)

SEE_ALSO = (
    "git(1), git-notes(1), githooks(5), crontab(5), systemd.timer(5); README.md and the docs the help texts name "
    "(docs/commands.md, agents.md, autocapture.md, capacity.md, configuration.md, data-model.md, hooks.md, "
    "ingest.md, json.md, preview.md, recovery.md, statistics.md), installed with git-tracker under "
    "share/doc/git-tracker/ in its environment's prefix (the folder above bin/), and in the git-tracker source."
)
