"""Shell completion, driven as the shells drive it: click's _GIT_TRACKER_COMPLETE protocol against the installed
git-tracker, and, for bash, git's own completion script calling the `_git_tracker` function the script defines
(the user types `git tracker st<TAB>`, not `git-tracker st<TAB>`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Sandbox, tracker_command

# Where distributions put git's bash completion (Debian's git package: the first).
GIT_BASH_COMPLETION = (
    "/usr/share/bash-completion/completions/git",
    "/usr/share/git/completion/git-completion.bash",
    "/usr/share/git-core/contrib/completion/git-completion.bash",
)


def completion(sandbox: Sandbox, instruction: str, **words: str) -> subprocess.CompletedProcess[str]:
    env = {"_GIT_TRACKER_COMPLETE": instruction, **words}
    return sandbox.tracker(env=env)


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        ("bash", ["complete -o nosort -F _git_tracker_completion git-tracker", "_git_tracker() {"]),
        ("zsh", ["compdef _git_tracker_completion git-tracker", "_git-tracker() {"]),
        ("fish", ["complete --no-files --command git-tracker"]),
    ],
)
def test_the_completion_script_is_printed_for_each_shell(sandbox: Sandbox, shell: str, expected: list[str]) -> None:
    done = completion(sandbox, f"{shell}_source")
    assert done.returncode == 0, done.stderr
    for line in expected:
        assert line in done.stdout
    assert f"_GIT_TRACKER_COMPLETE={shell}_complete" in done.stdout  # it asks the program for the candidates


def test_bash_protocol_completes_commands_options_and_choices(sandbox: Sandbox) -> None:
    def bash(line: str) -> list[str]:
        words = line.split(" ")
        done = completion(sandbox, "bash_complete", COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))
        assert done.returncode == 0, done.stderr
        return [item.split(",", 1)[1] for item in done.stdout.splitlines()]

    assert bash("git-tracker st") == ["start", "status", "statusline"]
    assert bash("git-tracker export ") == ["token-churn", "churn"]
    assert bash("git-tracker start codex --us") == ["--used"]
    assert bash("git-tracker help de") == ["decide", "demo"]


def test_zsh_protocol_completes_from_the_words_zshs_git_completion_gives(sandbox: Sandbox) -> None:
    """zsh's _git calls _git-tracker with words starting at "tracker"; the script passes them on as they are."""
    done = completion(sandbox, "zsh_complete", COMP_WORDS="tracker st", COMP_CWORD="1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [lines[i + 1] for i in range(0, len(lines), 3)] == ["start", "status", "statusline"]
    assert lines[2].startswith("Record a before-reading")  # with each command's help


def test_fish_protocol_completes(sandbox: Sandbox) -> None:
    done = completion(sandbox, "fish_complete", COMP_WORDS="git-tracker st", COMP_CWORD="st")
    assert done.returncode == 0, done.stderr
    assert [line.split("\t")[0] for line in done.stdout.splitlines()] == [
        "plain,start",
        "plain,status",
        "plain,statusline",
    ]


def test_git_tracker_tab_in_bash_goes_through_gits_completion(sandbox: Sandbox, tmp_path: Path) -> None:
    """The real thing: bash sources git's completion and our script, then completes `git tracker st` as the
    shell does on TAB (COMP_WORDS, COMP_CWORD, git's __git_wrap__git_main)."""
    found = [path for path in GIT_BASH_COMPLETION if os.path.isfile(path)]
    assert found, "git's bash completion script (Debian: part of the git package) is needed for this test"
    bin_dir = os.path.dirname(tracker_command()[0])
    script = tmp_path / "complete.bash"
    script.write_text(
        f"source {found[0]}\n"
        'eval "$(_GIT_TRACKER_COMPLETE=bash_source git-tracker)"\n'
        "complete_line() {\n"
        '    COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}\n'
        '    read -ra COMP_WORDS <<< "$COMP_LINE"\n'
        '    [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")\n'
        "    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
        "    COMPREPLY=()\n"
        "    __git_wrap__git_main git\n"
        '    echo "${COMPREPLY[*]}"\n'
        "}\n"
        'complete_line "git tracker st"\n'
        'complete_line "git -C . tracker st"\n'
        'complete_line "git tracker export "\n'
        'complete_line "git tracker start codex --us"\n'
    )
    bash = shutil.which("bash")
    assert bash
    done = subprocess.run(
        [bash, "--norc", "--noprofile", str(script)],
        cwd=sandbox.path,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "start status statusline",
        "start status statusline",
        "token-churn churn",
        "--used",
    ]
