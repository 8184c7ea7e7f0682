"""`eval "$(git tracker shell-init)"`: the shell functions, run in a real bash and a real zsh.

Each test starts the shell as a user's would run the line from ~/.bashrc or ~/.zshrc (the shell is found from the
parent process, so no --shell), then calls the functions in a repository with the hooks installed, and reads what
they recorded with `git tracker log --json`. zsh is Debian's `zsh` package; .ci/run installs it when it is
missing. Where it is missing all the same, the zsh runs are skipped and say so (pytest -ra lists the reason).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import Sandbox, tracker_command
from tests.test_capture import NOW, STATUS_JSON, iso, rollout, statusline, token_count

SHELLS = ["bash", "zsh"]
NAMES = ["os", "oe", "ox", "os_d", "oe_d", "cs", "ce", "cx", "cs_d", "ce_d", "zs", "ze", "zx", "zs_d", "ze_d"]


def shell_path(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(
            f"{name} is not installed here, so the shell functions were NOT run in {name} "
            f"(Debian: apt-get install {name}; .ci/run installs it when it runs as root)"
        )
    return found


def path_with_tracker() -> str:
    """PATH with the installed git-tracker first, as in a shell where the venv is active (or pipx installed it)."""
    return f"{Path(tracker_command()[0]).parent}{os.pathsep}{os.environ['PATH']}"


@dataclass
class Ran:
    steps: list[tuple[str, int]]  # (stdout, exit code) of each step
    stderr: str

    def codes(self) -> list[int]:
        return [code for _, code in self.steps]


def run_shell(
    shell: str,
    box: Sandbox,
    steps: list[str],
    *,
    init: str = 'eval "$(git tracker shell-init)"',
    env: dict[str, str] | None = None,
    before: str = "",
) -> Ran:
    """``before`` (the user's own start-up lines), then ``init``, then each step, in one shell; each step's output
    and exit code."""
    script = before + init + "\n"
    script += "".join(f'echo @@step@@\n{step}\necho "@@exit $?@@"\n' for step in steps)
    # A file, read line by line as a start-up file and a terminal are (zsh -c parses the whole string first, so an
    # alias defined in it would not apply to its later lines).
    box.counter += 1
    file = box.path.parent / f"steps-{box.counter}.{shell}"
    file.write_text(script)
    done = subprocess.run(
        [shell_path(shell), str(file)],
        cwd=box.path,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path_with_tracker(), **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    runs = re.findall(r"(?ms)^@@step@@\n(.*?)^@@exit (\d+)@@\n", done.stdout)
    assert len(runs) == len(steps), done.stdout + done.stderr
    return Ran([(out, int(code)) for out, code in runs], done.stderr)


def commit_step(name: str) -> str:
    return f"echo {name} > {name}.txt && git add {name}.txt && git commit -qm {name}"


def at(minutes: float) -> str:
    """A step's prefix pinning the clock: records of one step apart from the next one's, in order."""
    return f"GIT_TRACKER_NOW={iso(NOW + timedelta(minutes=minutes))} "


def one(records: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    (found,) = [r for r in records if all(r.get(k) == v for k, v in match.items())]
    return found


@pytest.mark.parametrize("shell", SHELLS)
def test_a_glm_window_through_the_functions(shell: str, tracked: Sandbox) -> None:
    start = tracked.head()
    defined = "; ".join(f"command -v {name} >/dev/null || echo missing {name}" for name in NAMES)
    ran = run_shell(shell, tracked, [defined, "zs 12", commit_step("a"), "ze 20", "zx shipped 0.9"])
    assert ran.codes() == [0, 0, 0, 0, 0], ran
    assert ran.steps[0][0] == "", ran.steps[0][0]  # all fifteen functions defined
    assert ran.stderr == ""
    records = tracked.records()
    opened = one(records, kind="window-open")
    assert (opened["provider"], opened["agent_id"], opened["commit_start"]) == ("glm", "main", start)
    before = one(records, kind="snapshot", phase="before")
    after = one(records, kind="snapshot", phase="after")
    assert (before["prompts"], after["prompts"]) == (12, 20)
    closed = one(records, kind="window-close")
    assert (closed["delta"], closed["unit"], closed["commit_end"]) == (8, "prompts", tracked.head())
    outcome = one(records, kind="completion")
    assert (outcome["window_id"], outcome["outcome"], outcome["quality_score"]) == (opened["window_id"], "shipped", 0.9)
    assert {r["source"] for r in records} == {"alias"}
    assert [line["id"] for line in tracked.note(tracked.head())] == [opened["window_id"]]


@pytest.mark.parametrize("shell", SHELLS)
def test_codex_start_and_end_read_the_session_logs(shell: str, tracked: Sandbox, tmp_path: Path) -> None:
    home = tmp_path / "codex-home"
    rollout(home, [token_count(NOW - timedelta(minutes=3), 12.0, 30.0)])
    env = {"CODEX_HOME": str(home), "GIT_TRACKER_NOW": iso(NOW)}
    first = run_shell(shell, tracked, ["os", commit_step("a")], env=env)
    assert first.codes() == [0, 0], first
    later = NOW + timedelta(minutes=40)
    rollout(home, [token_count(NOW - timedelta(minutes=3), 12.0, 30.0), token_count(later, 19.5, 31.0)])
    # A new shell, as on the next day: the functions come from the start-up line again.
    env["GIT_TRACKER_NOW"] = iso(later + timedelta(minutes=1))
    steps = ["oe", "ox partial 0.5 --feature F-7", f"{at(42)}os --used 40 --note typed", f"{at(43)}os_d"]
    second = run_shell(shell, tracked, steps, env=env)
    assert second.codes() == [0, 0, 0, 0], second
    records = tracked.records()
    before, after, typed = (r for r in records if r["kind"] == "snapshot")
    assert (before["five_hour_used"], before["weekly_used"]) == (12, 30)
    assert (after["five_hour_used"], after["weekly_used"]) == (19.5, 31)
    assert typed["five_hour_used"] == 40  # words with a reading of their own: no --auto added
    closed = one(records, kind="window-close")
    assert closed["delta"] == 7.5
    outcome = one(records, kind="completion")
    assert (outcome["outcome"], outcome["quality_score"], outcome["feature_id"]) == ("partial", 0.5, "F-7")
    # os_d voided the typed before and its window: both targets, reason undo-before.
    voids = [r for r in records if r["kind"] == "void"]
    assert {v["target_id"] for v in voids} == {typed["id"], one(records, kind="window-open", note="typed")["id"]}
    assert {v["reason"] for v in voids} == {"undo-before"}
    assert tracked.tracker("undo", "codex").returncode == 1  # nothing open any more


@pytest.mark.parametrize("shell", SHELLS)
def test_claude_start_and_end_use_the_status_line_and_undo_both_ways(
    shell: str, tracked: Sandbox, tmp_path: Path
) -> None:
    env = {"GIT_TRACKER_NOW": iso(NOW), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    payload = json.loads(json.dumps(STATUS_JSON))
    payload["workspace"]["current_dir"] = str(tracked.path)
    assert statusline(tracked, payload, env).returncode == 0
    steps = ["cs", "cs_d", "cs", commit_step("a"), "ce --used 30", "ce_d", "ce", "cx failed 0.2"]
    steps = [step if step.startswith("echo") else at(minute) + step for minute, step in enumerate(steps, start=1)]
    ran = run_shell(shell, tracked, steps, env=env)
    assert ran.codes() == [0] * len(steps), ran
    records = tracked.records()
    snapshots = [r for r in records if r["kind"] == "snapshot"]
    assert [(s["phase"], s["five_hour_used"]) for s in snapshots] == [
        ("before", 23.5),
        ("before", 23.5),
        ("after", 30),
        ("after", 23.5),
    ]
    voids = [r for r in records if r["kind"] == "void"]
    assert sorted({v["reason"] for v in voids}) == ["undo-after", "undo-before"]
    assert snapshots[2]["id"] in {v["target_id"] for v in voids}  # ce_d voided the typed after
    closes = [r for r in records if r["kind"] == "window-close"]
    assert closes[-1]["delta"] == 0 and closes[-1]["commit_end"] == tracked.head()
    assert one(records, kind="completion")["outcome"] == "failed"


@pytest.mark.parametrize("shell", SHELLS)
def test_agent_id_from_the_environment_or_baked_in(shell: str, tracked: Sandbox, tmp_path: Path) -> None:
    ran = run_shell(shell, tracked, ["AGENT_ID=worker-1 zs 1", "zs 2", "export AGENT_ID=worker-2; zs 3"])
    assert ran.codes() == [0, 0, 0], ran
    opened = {r["agent_id"]: r["window_id"] for r in tracked.records("window-open")}
    assert set(opened) == {"worker-1", "main", "worker-2"}
    # --agent bakes one in: it wins over the environment's. Written to a file once and sourced, as the docs offer.
    script = tmp_path / "aliases.sh"
    script.write_text(tracked.ok("shell-init", "--agent", "baked.7", "--shell", shell))
    baked = run_shell(shell, tracked, ["AGENT_ID=other zs 4", "zs_d"], init=f". {shlex.quote(str(script))}")
    assert baked.codes() == [0, 0], baked
    records = tracked.records()
    window = one(records, kind="window-open", agent_id="baked.7")
    assert not [r for r in records if r["agent_id"] == "other"]
    voids = [r for r in records if r["kind"] == "void" and r["agent_id"] == "baked.7"]
    assert window["id"] in {v["target_id"] for v in voids} and {v["reason"] for v in voids} == {"undo-before"}


NOTES = [
    "two words",
    "it's got 'single' and \"double\" quotes",
    "$HOME `date` $(date) * ? [a] ~ \\ ;&|<> #",
    "  leading and trailing spaces  ",
    "tab\there, unicode: é ✓",
]


@pytest.mark.parametrize("shell", SHELLS)
def test_words_with_spaces_and_quotes_go_through_unchanged(shell: str, tracked: Sandbox) -> None:
    steps = []
    for number, note in enumerate(NOTES):
        agent = f"q{number}"
        steps.append(f"AGENT_ID={agent} zs 5 --note {shlex.quote(note)} --methodology 'plan first'")
    # As typed by hand, double-quoted.
    steps.append('AGENT_ID=typed zs 5 --note "say \\"hi\\" to \'$USER_NOT_SET\'"')
    ran = run_shell(shell, tracked, steps)
    assert ran.codes() == [0] * len(steps), ran
    notes = {r["agent_id"]: r for r in tracked.records("window-open")}
    for number, note in enumerate(NOTES):
        assert (notes[f"q{number}"]["note"], notes[f"q{number}"]["methodology"]) == (note, "plan first")
    assert notes["typed"]["note"] == "say \"hi\" to ''"


@pytest.mark.parametrize("shell", SHELLS)
def test_each_function_returns_git_trackers_exit_code(shell: str, tracked: Sandbox) -> None:
    steps = ["zs 1", "zs 2", "zs", "os 10", "ce_d", "cx shipped 0.5", "zs_d; zs_d"]
    ran = run_shell(shell, tracked, steps)
    # second start refused (1); no reading (2); a bare percent for codex is an extra argument (2); nothing to
    # undo (1); no closed claude window (1); the second undo of the same window (1)
    assert ran.codes() == [0, 1, 2, 2, 1, 1, 1], ran
    lines = ran.stderr.splitlines()
    assert len(lines) == 6 and all(line.startswith("git-tracker: ") for line in lines), ran.stderr


def test_ox_completes_the_last_closed_window_of_its_own_provider(tracked: Sandbox) -> None:
    steps = ["os --used 10", commit_step("a"), "oe --used 20", "zs 1", "ze 2", "ox shipped 1"]
    ran = run_shell("bash", tracked, steps)
    assert ran.codes() == [0] * len(steps), ran
    records = tracked.records()
    codex = one(records, kind="window-open", provider="codex")["window_id"]
    assert one(records, kind="completion")["window_id"] == codex  # not glm's, which closed after it
    glm = one(records, kind="window-open", provider="glm")["window_id"]
    wrong = tracked.tracker("complete", glm, "--provider", "codex", "--outcome", "shipped", "--quality", "1")
    assert wrong.returncode == 2 and f"expected a codex window, got {glm}, a glm window" in wrong.stderr
    none = tracked.tracker("complete", "--provider", "claude", "--outcome", "shipped", "--quality", "1")
    assert none.returncode == 1 and "no closed claude window" in none.stderr
    assert tracked.tracker("complete", "--provider", "gpt", "--outcome", "shipped", "--quality", "1").returncode == 2
    tracked.ok("start", "codex", "--used", "30")
    # A codex window open: `ox` would most likely mean it; the glm one is still there to complete by provider.
    assert tracked.tracker("complete", "--provider", "codex", "--outcome", "failed", "--quality", "0").returncode == 1
    tracked.ok("complete", "--provider", "glm", "--outcome", "partial", "--quality", "0.5")
    assert [r["window_id"] for r in tracked.records("completion")] == [codex, glm]


@pytest.mark.parametrize("shell", SHELLS)
def test_names_already_taken_are_left_out_and_prefix_renames(shell: str, tracked: Sandbox, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cx").write_text("#!/bin/sh\necho the user command\n")
    (bin_dir / "cx").chmod(0o755)
    # In bash an alias is expanded even in `os() {`: that would define a function `echo` (or break the eval).
    expand = "shopt -s expand_aliases\n" if shell == "bash" else ""
    before = f"{expand}alias os='echo the user alias'\nzx() {{ echo the user function; }}\n"
    before += f"export PATH={bin_dir}:$PATH\n"
    steps = [
        "os",
        "cx",
        "zx",
        "type echo",
        'eval "$(git tracker shell-init)"',  # again, as when ~/.bashrc is sourced twice: ours are not "taken"
        "zs 3",
        'eval "$(git tracker shell-init --prefix gt_)"',
        "gt_zs_d",
        "; ".join(f"command -v gt_{name} >/dev/null || echo missing gt_{name}" for name in NAMES),
    ]
    ran = run_shell(shell, tracked, steps, before=before)
    assert ran.codes() == [0] * len(steps), ran
    assert [out.strip() for out, _ in ran.steps[:3]] == ["the user alias", "the user command", "the user function"]
    assert "builtin" in ran.steps[3][0]
    assert ran.steps[8][0] == ""
    left_out = "git-tracker: shell-init: left out os cx zx: taken here already (`type os cx zx` says by what); "
    assert ran.stderr.splitlines() == [left_out + "git tracker shell-init --prefix P names them P…"] * 2, ran.stderr
    # gt_zs_d voided zs's before and its window
    assert [r["reason"] for r in tracked.records("void")] == ["undo-before", "undo-before"]


@pytest.mark.parametrize(("shell", "other"), [("bash", "/usr/bin/zsh"), ("zsh", "/bin/bash")])
def test_the_shell_is_the_one_running_it(shell: str, other: str) -> None:
    first = 'x=$(git tracker shell-init) && printf "%s\\n" "$x" | head -n 1'
    env = {**os.environ, "PATH": path_with_tracker(), "SHELL": other}
    done = subprocess.run([shell_path(shell), "-c", first], capture_output=True, text=True, env=env)
    assert f"shell functions for {shell}," in done.stdout, (shell, done.stdout, done.stderr)


def test_else_shell_and_other_shells_are_refused_in_one_line(sandbox: Sandbox) -> None:
    env = {"PATH": path_with_tracker()}
    # Run by a program, not a shell: $SHELL says.
    assert "functions for zsh," in sandbox.ok("shell-init", env={"SHELL": "/usr/bin/zsh"}).splitlines()[0]
    # Unknown shells are refused in one line, nothing printed.
    refusals = [
        (["shell-init"], {"SHELL": "/usr/bin/fish"}, "expected bash or zsh, got fish ($SHELL)"),
        (["shell-init"], {"SHELL": ""}, "expected --shell bash or --shell zsh"),
        (["shell-init", "--shell", "fish"], {}, "'fish' is not one of 'bash', 'zsh'"),
        (["shell-init", "--shell", "bash", "--agent", "no spaces"], {}, "--agent: expected letters"),
        (["shell-init", "--shell", "bash", "--prefix", "1x"], {}, "--prefix: expected"),
        (["shell-init", "--shell", "bash", "--prefix", "a;b"], {}, "--prefix: expected"),
        (["shell-init", "--shell", "bash", "--agent="], {}, "--agent: expected"),
    ]
    for args, extra, message in refusals:
        done = sandbox.tracker(*args, env=extra)
        assert done.returncode == 2 and done.stdout == "", (args, done)
        assert len(done.stderr.splitlines()) == 1 and message in done.stderr, (args, done.stderr)
    dash = subprocess.run(
        ["sh", "-c", "git-tracker shell-init; echo exit $?"], capture_output=True, text=True, env={**os.environ, **env}
    )
    assert dash.stdout == "exit 2\n" and "got sh (the shell running git-tracker)" in dash.stderr, dash


def test_the_quick_path_prints_what_the_command_prints_without_click() -> None:
    for args in (
        ["--shell", "bash"],
        ["--shell=zsh", "--agent", "w-1"],
        ["--prefix", "gt_", "--shell", "zsh", "--agent=a.b", "--agent", "c"],
    ):
        quick = subprocess.run([*tracker_command(), "shell-init", *args], capture_output=True, text=True)
        full = subprocess.run([*tracker_command(), "--debug", "shell-init", *args], capture_output=True, text=True)
        assert quick.returncode == full.returncode == 0 and quick.stdout == full.stdout, args
    code = (
        "import contextlib, io, sys\nfrom gittracker.entry import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n    code = main(['shell-init', '--shell', 'zsh'])\n"
        "print(code, 'emulate -L zsh' in out.getvalue(), sorted(m for m in ('click', 'pygit2') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0 True []"


WORDS = ["--agent", "--shell", "--prefix", "bash", "zsh", "fish", "w1", "gt_", "", "-x", "--agent=w2"]
WORDS += ["--shell=zsh", "--shell=", "--prefix=p_", "--prefix=", "--help", "--bogus", "a b", "--agent=-v"]


@given(st.lists(st.sampled_from(WORDS), max_size=7))
def test_the_quick_parser_never_reads_options_differently_from_click(args: list[str]) -> None:
    from gittracker.commands.shell import shell_init
    from gittracker.shellinit import parse_quick

    request = parse_quick(args)
    if request is None:
        return  # the full command reads them
    ctx = shell_init.make_context("shell-init", list(args))
    assert (ctx.params["shell"], ctx.params["agent"], ctx.params["prefix"]) == (
        request.shell,
        request.agent,
        request.prefix,
    )
    assert isinstance(ctx, click.Context)


# -- what the functions hand to git-tracker, for any words ------------------------------------------------------

READINGS = ("--used", "--left", "--weekly", "--prompts", "--resets-at", "--from")
STEP_OF = {"s": "start", "e": "end"}


def expected_argv(name: str, words: list[str]) -> list[str]:
    """The rules of docs/agents.md ("What the functions add to your words"), written out again in Python."""
    provider = {"o": "codex", "c": "claude", "z": "glm"}[name[0]]
    suffix = name[1:]
    if suffix in STEP_OF:
        step = STEP_OF[suffix]
        if provider == "glm":
            count = bool(words) and words[0] != "" and not words[0].startswith("-")
            return [step, provider, *(["--prompts"] if count else []), *words]
        reading = any(word.startswith(READINGS) or word == "--auto" for word in words)
        return [step, provider, *([] if reading else ["--auto"]), *words]
    if suffix == "x":
        head = ["complete", "--provider", provider]
        if words and words[0] in ("shipped", "partial", "failed"):
            rest = words[1:]
            quality = bool(rest) and rest[0] != "" and not rest[0].startswith("-")
            return [*head, "--outcome", words[0], *(["--quality"] if quality else []), *rest]
        return [*head, *words]
    return ["undo", provider, *(["--after"] if suffix == "e_d" else []), *words]


VOCABULARY = ["--used", "--used=5", "--left", "--weekly", "--prompts", "--resets-at", "--from", "--auto", "--note"]
VOCABULARY += ["--force", "--json", "12", "0.9", "shipped", "partial", "failed", "-", "", "--", "--usedx", "-x"]
# Words a shell can be handed: no NUL, and no lone surrogate (Python cannot encode one into an argument; a CI run
# drew '\ud800' and failed in subprocess, before any shell ran).
WORD = st.one_of(
    st.sampled_from(VOCABULARY),
    st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=12),
)


@settings(max_examples=20, suppress_health_check=[HealthCheck.too_slow])
@example("bash", [("os", ["--auto"]), ("cs", ["--used=5", "--note", "a b"]), ("oe", ["--note", "it's"])])
@example("zsh", [("zs", ["12", "--note", "a b"]), ("ze", [""]), ("zs", ["--prompts", "3"])])
@example("bash", [("ox", ["shipped", "0.9", "--json"]), ("cx", ["failed", "--json"]), ("zx", ["partial", ""])])
@example("zsh", [("oe_d", ["--json"]), ("cs_d", []), ("zx", ["--outcome", "shipped"])])
@given(
    shell=st.sampled_from(SHELLS),
    calls=st.lists(st.tuples(st.sampled_from(NAMES), st.lists(WORD, max_size=4)), min_size=1, max_size=3),
)
def test_every_function_hands_git_tracker_the_words_as_documented(
    shell: str, calls: list[tuple[str, list[str]]]
) -> None:
    """A wrapper first on PATH writes down each argv and then runs the real git-tracker with it (outside a
    repository, so nothing is recorded): the words of any call arrive as the docs say, byte for byte."""
    real = shutil.which("git-tracker", path=path_with_tracker())
    assert real is not None
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        log = folder / "argv.jsonl"
        wrapper = folder / "bin" / "git-tracker"
        wrapper.parent.mkdir()
        wrapper.write_text(
            f"#!{sys.executable}\nimport json, os, sys\n"
            f"with open({str(log)!r}, 'a') as out:\n    out.write(json.dumps(sys.argv[1:]) + '\\n')\n"
            f"os.execv({real!r}, [{real!r}, *sys.argv[1:]])\n"
        )
        wrapper.chmod(0o755)
        init = f'eval "$({shlex.quote(real)} shell-init --shell {shell})"\n'
        lines = "".join(
            f"{name} {' '.join(shlex.quote(word) for word in words)} >/dev/null 2>&1\n" for name, words in calls
        )
        path = f"{wrapper.parent}{os.pathsep}{path_with_tracker()}"
        done = subprocess.run(
            [shell_path(shell), "-c", init + lines],
            cwd=folder,
            capture_output=True,
            text=True,
            env={**os.environ, "PATH": path},
        )
        assert done.returncode in (0, 1, 2), done.stderr
        received = [json.loads(line) for line in log.read_text().splitlines()]
    assert received == [expected_argv(name, words) for name, words in calls]
