"""``git tracker shell-init``: the shell functions ``eval "$(git tracker shell-init)"`` defines.

Per provider letter (``o`` codex, ``c`` claude, ``z`` glm) five functions: ``Xs`` start, ``Xe`` end, ``Xx``
complete, ``Xs_d`` undo the before, ``Xe_d`` undo the after. The user's words go on to ``git-tracker`` as they
are, after what the function adds (docs/agents.md, "Shell aliases", says what that is).

The script is the same text on every run for the same options, so it can also be written to a file once and
sourced: start-up then runs no Python at all. It runs in the user's interactive shell, at every start, so it
forks nothing: every step is a shell builtin (``alias``, ``command -v``, ``case``, ``eval``), and each function
forks only ``git-tracker`` itself (not ``git tracker``: git in between would add a process and change nothing).

Plain text, no click: the console script prints it before loading the command group (``quick``).
"""

from __future__ import annotations

import os
import sys

from gittracker.errors import BadInput, TrackerError
from gittracker.names import AGENT_ID_RULE, valid_agent_id

SHELLS = ("bash", "zsh")
# (letter, provider): the order of the functions in the script and in the docs.
PROVIDER_LETTERS = (("o", "codex"), ("c", "claude"), ("z", "glm"))
# (suffix, step): what each function does; the step names the branch of _git_tracker_alias.
STEPS = (("s", "start"), ("e", "end"), ("x", "complete"), ("s_d", "undo"), ("e_d", "undo-after"))
PREFIX_MAX = 32
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")

# Names a parent process has when it is a shell, the supported ones and the others (refused by name).
KNOWN_SHELLS = frozenset(
    {"bash", "zsh", "sh", "dash", "ash", "ksh", "ksh93", "mksh", "yash", "fish", "tcsh", "csh", "nu", "elvish"}
    | {"xonsh", "pwsh", "busybox", "osh", "oil"}
)
# Processes between the shell and git-tracker that say nothing about the shell: `git tracker` runs git first.
GO_THROUGH = frozenset({"git", "env"})


class Request:
    """What the user asked for; ``shell`` None: detect it. A plain class: importing dataclasses (or typing) would
    take longer than the rest of the quick path, which runs at every shell start."""

    __slots__ = ("agent", "prefix", "shell")

    def __init__(self, shell: str | None = None, agent: str | None = None, prefix: str = "") -> None:
        self.shell, self.agent, self.prefix = shell, agent, prefix


def function_names(prefix: str = "") -> list[str]:
    """Every function the script defines, in its order: os oe ox os_d oe_d cs … ze_d."""
    return [f"{prefix}{letter}{suffix}" for letter, _ in PROVIDER_LETTERS for suffix, _ in STEPS]


def render(request: Request, environ: dict[str, str] | None = None) -> str:
    """The script for ``request``, or BadInput naming what was expected."""
    agent = _checked_agent(request.agent)
    prefix = _checked_prefix(request.prefix)
    shell = request.shell if request.shell is not None else detect_shell(os.environ if environ is None else environ)
    if shell not in SHELLS:
        raise BadInput(f"--shell: expected bash or zsh, got {shell!r}")
    return _script(shell, agent, prefix)


def quick(args: list[str]) -> int | None:
    """The console script's fast path: print the script for the plain forms of the options, without click.
    None for anything else (help, an unknown option, bad input): the full command handles it and its errors."""
    request = parse_quick(args)
    if request is None:
        return None
    try:
        text = render(request)
    except TrackerError:
        return None
    sys.stdout.write(text)
    return 0


def parse_quick(args: list[str]) -> Request | None:
    """``--agent ID``, ``--shell bash|zsh`` and ``--prefix P`` (also ``--opt=value``; the last one counts, as in
    click). None for any other word, a missing value, or a value that looks like an option."""
    values: dict[str, str] = {}
    words = iter(args)
    for word in words:
        name, equals, value = word.partition("=")
        if name not in ("--agent", "--shell", "--prefix"):
            return None
        if not equals:
            value = next(words, "-")
        if value.startswith("-"):
            return None
        values[name[2:]] = value
    if values.get("shell", "bash") not in SHELLS:
        return None
    return Request(shell=values.get("shell"), agent=values.get("agent"), prefix=values.get("prefix", ""))


# -- which shell ---------------------------------------------------------------------------------------------


def detect_shell(environ: dict[str, str] | os._Environ[str]) -> str:
    """The shell that will run the script: the parent process when it is a shell (through ``git``, for ``git
    tracker``), else ``$SHELL``; BadInput when that is not bash or zsh, or cannot be told."""
    parent = parent_shell()
    if parent is not None:
        name, where = parent, "the shell running git-tracker"
    else:
        name, where = _shell_name(environ.get("SHELL", "")), "$SHELL"
        if not name:
            raise BadInput(
                "shell-init: expected --shell bash or --shell zsh (no shell among the parent processes and $SHELL "
                "is not set)"
            )
    if name not in SHELLS:
        raise BadInput(f"shell-init: expected bash or zsh, got {name} ({where}); --shell bash|zsh chooses one")
    return name


def parent_shell() -> str | None:
    """The name of the nearest parent that is a shell, looking through ``git``; None when the parent is something
    else (a program that runs git-tracker) or the system has no ``/proc`` to ask."""
    pid = os.getppid()
    for _ in range(4):
        name = _shell_name(_read(f"/proc/{pid}/comm"))
        if name in KNOWN_SHELLS:
            return name
        if name not in GO_THROUGH:
            return None
        stat = _read(f"/proc/{pid}/stat")
        fields = stat.rsplit(")", 1)[-1].split()  # after the command name, which may hold spaces or ")"
        if len(fields) < 2 or not fields[1].isdigit():
            return None
        pid = int(fields[1])
    return None


def _shell_name(text: str) -> str:
    """``/usr/bin/zsh`` → ``zsh``; a login shell's ``-bash`` → ``bash``."""
    return os.path.basename(text.strip()).lstrip("-")


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read()
    except OSError:
        return ""


# -- checking the options ----------------------------------------------------------------------------------


def _checked_agent(agent: str | None) -> str | None:
    if agent is not None and not valid_agent_id(agent):
        raise BadInput(f"--agent: expected {AGENT_ID_RULE}, starting with a letter or digit, got {agent!r}")
    return agent


def _checked_prefix(prefix: str) -> str:
    """A start for shell function names that bash and zsh both take, and that cannot be read as anything else."""
    if len(prefix) > PREFIX_MAX or prefix[:1].isdigit() or not all(char in _NAME_CHARS for char in prefix):
        raise BadInput(
            f"--prefix: expected up to {PREFIX_MAX} ASCII letters, digits or '_', not starting with a digit, "
            f"got {prefix!r}"
        )
    return prefix


# -- the script ------------------------------------------------------------------------------------------------

# What one call runs; {zsh} is a line for zsh alone, {agent} the baked-in AGENT_ID or nothing.
_RUN = """\
_git_tracker_alias() {{
    # PROVIDER STEP, then the user's words: builds the git-tracker command line and runs it.{zsh}
    local provider=$1 step=$2 word= auto=
    shift 2
    case $step in
    start | end)
        if [ "$provider" = glm ]; then
            # zs 12 = --prompts 12: a GLM reading is a prompt count, never a percent
            case ${{1-}} in '' | -*) ;; *) set -- --prompts "$@" ;; esac
        else
            # the provider's own data, unless the words hold a reading of their own
            auto=--auto
            for word in "$@"; do
                case $word in
                --used* | --left* | --weekly* | --prompts* | --resets-at* | --from* | --auto) auto= ;;
                esac
            done
            if [ -n "$auto" ]; then set -- "$auto" "$@"; fi
        fi
        set -- "$step" "$provider" "$@"
        ;;
    complete)
        # ox shipped 0.9 = --outcome shipped --quality 0.9
        case ${{1-}} in
        shipped | partial | failed)
            word=$1
            shift
            case ${{1-}} in
            '' | -*) set -- --outcome "$word" "$@" ;;
            *) set -- --outcome "$word" --quality "$@" ;;
            esac
            ;;
        esac
        set -- complete --provider "$provider" "$@"
        ;;
    undo) set -- undo "$provider" "$@" ;;
    undo-after) set -- undo "$provider" --after "$@" ;;
    esac
    {agent}GIT_TRACKER_SOURCE=${{GIT_TRACKER_SOURCE:-alias}} command git-tracker "$@"
}}
"""

# Defines one function unless its name is taken by something that is not an earlier run of this script: an alias
# would even be expanded inside a plain `os() {` and break the definition, a command or function would be hidden.
_DEFINE = """\
_git_tracker_define() {{
    # NAME PROVIDER STEP{zsh}
    if alias "$1" >/dev/null 2>&1; then
        _git_tracker_taken="$_git_tracker_taken $1"
        return 0
    fi
    case " ${{_git_tracker_names-}} " in
    *" $1 "*) ;;
    *)
        if command -v "$1" >/dev/null 2>&1; then
            _git_tracker_taken="$_git_tracker_taken $1"
            return 0
        fi
        _git_tracker_names="${{_git_tracker_names-}} $1"
        ;;
    esac
    eval "$1() {{ _git_tracker_alias $2 $3 \\"\\$@\\"; }}"
}}
_git_tracker_taken=
"""

_REPORT = """\
if [ -n "$_git_tracker_taken" ]; then
    printf '%s\\n' "git-tracker: shell-init: left out$_git_tracker_taken: taken here already \
(\\`type$_git_tracker_taken\\` says by what); git tracker shell-init --prefix P names them P…" >&2
fi
unset -f _git_tracker_define
unset _git_tracker_taken
"""


def _script(shell: str, agent: str | None, prefix: str) -> str:
    zsh = "\n    emulate -L zsh  # zsh's own rules here, whatever the user's setopts" if shell == "zsh" else ""
    baked = f"AGENT_ID='{agent}' " if agent is not None else ""
    agent_line = f"AGENT_ID={agent} (baked in)" if agent is not None else "AGENT_ID from the environment at each call"
    header = (
        f"# git-tracker shell functions for {shell}, from `git tracker shell-init` (docs/agents.md, Shell aliases).\n"
        "# o codex, c claude, z glm: Xs start, Xe end, Xx complete, Xs_d undo the before, Xe_d undo the after;\n"
        f"# {agent_line}; each returns git-tracker's exit code.\n"
    )
    defines = "".join(
        f"_git_tracker_define {prefix}{letter}{suffix} {provider} {step}\n"
        for letter, provider in PROVIDER_LETTERS
        for suffix, step in STEPS
    )
    return header + _RUN.format(zsh=zsh, agent=baked) + _DEFINE.format(zsh=zsh) + defines + _REPORT
