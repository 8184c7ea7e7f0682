"""First contact: bare `git tracker`, `git tracker help`, and the manual page behind `git tracker --help`.

git turns `git tracker --help` into `man git-tracker`; the wheel ships the page as share/man/man1/git-tracker.1,
where man finds it from the venv's bin on PATH. These tests build the wheel once, install it into a fresh venv
and ask git, with MANPATH unset, as a user would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import REAL_PIP_CACHE, Sandbox

PROJECT = Path(__file__).resolve().parent.parent
COMMITTED_PAGE = PROJECT / "man" / "git-tracker.1"
NAME_LINE = "git-tracker - measure finished work per unit of AI-assistant capacity"
# A user's own man settings that would change where man looks or what it prints.
MAN_SETTINGS = ("MANPATH", "MANPAGER", "PAGER", "MANOPT", "MAN_KEEP_FORMATTING", "MANSECT")


def command_names(sandbox: Sandbox) -> list[str]:
    """The commands as `git tracker -h` lists them (read from the CLI's output, not from click)."""
    listing = sandbox.ok("-h").split("Commands:\n", 1)[1]
    return [line.split()[0] for line in listing.splitlines() if line.startswith("  ") and line.split()]


def man_env(path: str) -> dict[str, str]:
    """What a user's shell would give man: no MANPATH (man derives it from PATH), no pager, a fixed width."""
    env = {key: value for key, value in os.environ.items() if key not in MAN_SETTINGS}
    return {**env, "PATH": path, "MANWIDTH": "100", "LC_ALL": "C.UTF-8"}


def system_path() -> str:
    """Where git and man are, and nothing of a Python venv: the page must come from the venv under test."""
    dirs = [os.path.dirname(shutil.which(tool) or "") for tool in ("git", "man", "groff", "less")]
    return os.pathsep.join(dict.fromkeys(d for d in [*dirs, "/usr/bin", "/bin"] if d))


# --- bare `git tracker` ---------------------------------------------------------------------------------------------


def test_bare_git_tracker_prints_an_overview_on_stdout_and_succeeds(sandbox: Sandbox) -> None:
    done = sandbox.tracker()
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    out = done.stdout
    for step in ("git tracker start", "git tracker end", "git tracker complete", "git tracker preview"):
        assert step in out  # the core loop
    assert "git tracker help COMMAND" in out and "git tracker --help" in out and "docs/commands.md" in out
    assert "Usage:" not in out  # an overview, not the usage dump
    assert len(out.splitlines()) <= 25 and max(len(line) for line in out.splitlines()) <= 80


def test_bare_git_tracker_through_git_and_click_is_the_same(sandbox: Sandbox) -> None:
    """Through git, and through the command group (``--debug`` alone skips the console script's shortcut)."""
    done = subprocess.run(["git", "tracker"], cwd=sandbox.path, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == sandbox.ok()
    assert sandbox.ok("--debug") == sandbox.ok()


# --- `git tracker help [COMMAND]` -----------------------------------------------------------------------------------


def test_help_prints_each_commands_own_help(sandbox: Sandbox) -> None:
    names = command_names(sandbox)
    assert {"start", "end", "complete", "preview", "help"} <= set(names)
    for name in names:
        if name != "statusline":  # `statusline -h` is answered before click loads (entry.py), with one line
            assert sandbox.ok("help", name) == sandbox.ok(name, "-h"), name
    assert sandbox.ok("help", "start").startswith("Usage: git tracker start [OPTIONS] PROVIDER")


def test_help_without_a_command_lists_every_command(sandbox: Sandbox) -> None:
    assert sandbox.ok("help") == sandbox.ok("-h")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["help", "nope"], "help: expected one of agent-hooks, anomalies, assign, bank, checkpoint"),
        (["help", "start", "codex"], "help: expected no more words after `git tracker start`, got 'codex'"),
        (["help", "x" * 5000], "got 'xxxxxxxx"),
    ],
)
def test_help_for_an_unknown_command_is_one_line_and_exit_2(sandbox: Sandbox, args: list[str], expected: str) -> None:
    done = sandbox.tracker(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("git-tracker: ") and expected in done.stderr
    assert done.stderr.count("\n") == 1 and len(done.stderr) < 400  # one line, the bad name not echoed whole


# --- the manual page ------------------------------------------------------------------------------------------------


def test_the_committed_man_page_is_the_one_the_commands_write() -> None:
    """The page cannot go stale: a changed command, option or help text changes the page this writes."""
    written = subprocess.run(
        [sys.executable, "-m", "gittracker.manpage"], capture_output=True, text=True, check=True
    ).stdout
    assert COMMITTED_PAGE.read_text() == written, "run `python -m gittracker.manpage --write` and commit the page"


def test_the_man_page_documents_every_command_and_option(sandbox: Sandbox) -> None:
    """Against the CLI's own -h output: every command, and every option each command's help lists."""
    page = COMMITTED_PAGE.read_text().replace("\\-", "-")
    for name in command_names(sandbox):
        assert f"\ngit tracker {name} " in page or f"\ngit tracker {name}\n" in page, name
        options = re.findall(r"^\s+((?:-\w, )?--[\w-]+)", sandbox.ok(name, "-h"), flags=re.MULTILINE)
        for option in options:
            if option != "-h, --help":
                assert option in page, f"{name} {option}"


def test_the_man_page_exit_status_is_the_exit_code_table() -> None:
    from gittracker import errors

    section = COMMITTED_PAGE.read_text().split(".SH EXIT STATUS\n", 1)[1].split(".SH ", 1)[0]
    codes = [int(code) for code in re.findall(r"\\fB(\d+)\\fR", section)]
    table = sorted(value for name, value in vars(errors).items() if name.startswith("EXIT_") and isinstance(value, int))
    assert codes == table == [0, 1, 2, 3]


def test_the_man_page_names_every_variable_the_code_reads() -> None:
    """Every environment variable read anywhere in the package is in ENVIRONMENT (TZ is the system's own)."""
    read: set[str] = set()
    for path in (PROJECT / "gittracker").rglob("*.py"):
        text = path.read_text()
        read.update(re.findall(r"environ(?:\.get)?[\[(]\s*\"([A-Z][A-Z0-9_]+)\"", text))
        read.update(re.findall(r"\"([A-Z][A-Z0-9_]+)\" in os\.environ", text))
    read -= {"TZ"}  # the system's time zone, as for every program
    assert {"AGENT_ID", "GIT_TRACKER_NOW", "NO_COLOR"} <= read
    section = COMMITTED_PAGE.read_text().split(".SH ENVIRONMENT\n", 1)[1].split(".SH ", 1)[0].replace("\\-", "-")
    documented = set(re.findall(r"\\fB([A-Z_][A-Z0-9_]+)\\fR", section))
    assert read - documented == set()


def test_man_renders_the_page_without_a_warning() -> None:
    """`man -l` through groff with its warnings on: the page is valid roff, and reads as written."""
    assert shutil.which("man"), "man (Debian's man-db, with groff-base) is needed to read the page"
    done = subprocess.run(
        ["man", "--warnings", "-l", str(COMMITTED_PAGE)], capture_output=True, text=True, env=man_env(system_path())
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    text = done.stdout
    assert NAME_LINE in text
    for heading in ("SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES", "SEE ALSO"):
        assert f"\n{heading}\n" in text, heading
    assert "git tracker start [OPTIONS] PROVIDER" in text and "--resets-at TIME" in text
    assert "\\" not in text  # no escape shown raw


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with this checkout's wheel installed, as `pip install .` or pipx would: its bin folder.

    Built once per session. --no-deps: `git tracker --help` runs git and man, never git-tracker itself, and the
    page's place does not depend on the dependencies.
    """
    where = tmp_path_factory.mktemp("wheel")
    env = {**os.environ, "PIP_CACHE_DIR": REAL_PIP_CACHE}
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    built = subprocess.run([*pip, "wheel", "--no-deps", "-w", str(where), str(PROJECT)], capture_output=True, env=env)
    assert built.returncode == 0, built.stderr.decode()
    wheel = next(where.glob("git_tracker-*.whl"))
    home = where / "venv"
    venv.create(home, with_pip=False)
    # This pip installs into the new venv (pip's --python): the venv needs no pip of its own.
    python = str(home / "bin" / "python")
    installed = subprocess.run(
        [*pip, "--python", python, "install", "--no-deps", str(wheel)], capture_output=True, env=env
    )
    assert installed.returncode == 0, installed.stderr.decode()
    return home / "bin"


def test_the_wheel_installs_the_page_where_man_looks(installed_wheel: Path) -> None:
    page = installed_wheel.parent / "share" / "man" / "man1" / "git-tracker.1"
    assert page.read_text() == COMMITTED_PAGE.read_text()
    assert (installed_wheel / "git-tracker").is_file()


def test_the_wheel_installs_the_docs_the_help_texts_name(installed_wheel: Path) -> None:
    """`--json` help says docs/json.md, errors say docs/configuration.md: a pip user must have them too."""
    docs = installed_wheel.parent / "share" / "doc" / "git-tracker"
    source = Path(__file__).resolve().parents[1] / "docs"
    for page in sorted(source.glob("*.md")):
        assert (docs / page.name).read_text() == page.read_text(), page.name
    assert (docs / "README.md").is_file()


def test_git_tracker_help_shows_the_man_page_from_a_fresh_venv(installed_wheel: Path, sandbox: Sandbox) -> None:
    path = f"{installed_wheel}{os.pathsep}{system_path()}"
    for args in (["tracker", "--help"], ["help", "tracker"]):
        done = subprocess.run(["git", *args], cwd=sandbox.path, capture_output=True, text=True, env=man_env(path))
        assert done.returncode == 0, done.stderr
        assert NAME_LINE in done.stdout
        assert "git tracker help [COMMAND]" in done.stdout
    # The control: the same git-tracker from a bin folder with no share/man beside it has no page, so the page
    # above was found through the venv's bin/../share/man (what man derives from PATH), not from anywhere else.
    elsewhere = sandbox.path.parent / "elsewhere" / "bin"
    elsewhere.mkdir(parents=True)
    (elsewhere / "git-tracker").symlink_to(installed_wheel / "git-tracker")
    path = f"{elsewhere}{os.pathsep}{system_path()}"
    missing = subprocess.run(
        ["git", "tracker", "--help"], cwd=sandbox.path, capture_output=True, text=True, env=man_env(path)
    )
    assert missing.returncode != 0 and "No manual entry for git-tracker" in missing.stderr


def test_every_command_in_the_group_has_help_text() -> None:
    """An empty help would leave a bare heading in the page and in `git tracker -h`."""
    from gittracker.cli import cli

    root = click.Context(cli, info_name="git tracker")
    for name in cli.list_commands(root):
        command = cli.get_command(root, name)
        assert command is not None and (command.help or "").strip(), name


@given(st.text())
def test_roff_text_is_escaped_and_reads_back(text: str) -> None:
    """Whatever a help text holds, no line of it becomes a roff request, and the escapes undo to the text."""
    from gittracker.manpage import _text

    written = _text(text)
    assert not any(line.startswith((".", "'")) for line in written.split("\n"))
    read = written.replace("\\&", "").replace("\\-", "-").replace("\\e", "\\")
    assert read == text
