"""`agent-hooks install|uninstall|status`: git-tracker's entries in Claude Code's and Codex's settings files.

Through the installed console script on real repositories: the files are given back byte for byte, a file changed
meanwhile keeps its changes, a file Claude Code or Codex could not read either is refused untouched. The parser
and the merger (``gittracker.autocapture.settings``) are also driven with arbitrary JSON objects (hypothesis).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gittracker.autocapture import agenthooks, settings
from gittracker.autocapture.agentfiles import find_program
from gittracker.autocapture.settings import CLAUDE, CODEX, Agent, Number
from gittracker.errors import BadInput, Refused
from gittracker.files import replace_unless_changed
from tests.conftest import Sandbox, tracker_command

PROGRAM = tracker_command()[0]  # the venv's git-tracker: what install finds next to its Python
BOM = b"\xef\xbb\xbf"

# A user's Claude Code settings in odd formatting: a byte-order mark, CRLF, tabs, spaces around a colon, a number
# spelled 1.50e1, escaped characters, a duplicated key, their own hooks and status line, no final newline.
ODD_CLAUDE = (
    BOM + b'{"permissions":{"allow":["Bash(ls)"]},\r\n'
    b'\t"hooks" : {"Stop":[{"matcher":"","hooks":[{"type":"command","command":"echo mine"}]}],\r\n'
    b'\t\t"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.sh", "timeout": 5}]}]},'
    b'\r\n\t"statusLine": {"padding": 2, "type": "command", "command": "bash ~/.claude/line.sh \'a b\'"},\r\n'
    b'\t"n": 1.50e1, "e": "\\u00e9t\\u00e9", "dup": 1, "dup": 2\r\n'
    b"}"
)
THEIR_LINE = "bash ~/.claude/line.sh 'a b'"
# A user's Codex hooks.json: their own Stop hook, a key Codex may add one day, four-space indentation.
THEIR_CODEX = (
    b'{\n    "hooks": {\n        "Stop": [\n            {\n                "hooks": [\n'
    b'                    {"type": "command", "command": "notify-send done", "timeout": 30}\n'
    b'                ]\n            }\n        ]\n    },\n    "version": 1\n}\n'
)


def claude_local(box: Sandbox) -> Path:
    return box.path / ".claude" / "settings.local.json"


def codex_local(box: Sandbox) -> Path:
    return box.path / ".codex" / "hooks.json"


def load(path: Path) -> Any:
    return json.loads(path.read_bytes().decode("utf-8-sig"))


def ours(doc: dict[str, Any], agent: str, event: str) -> list[str]:
    """The commands of git-tracker's hooks in one event's list."""
    groups = doc.get("hooks", {}).get(event, [])
    return [h["command"] for g in groups for h in g.get("hooks", []) if f"hook {agent} " in h["command"]]


def assert_ours_exactly(doc: dict[str, Any], agent: Agent) -> None:
    for event in agent.events:
        assert ours(doc, agent.name, event) == [f"'{PROGRAM}' hook {agent.name} {event}"], event
    for event, groups in doc.get("hooks", {}).items():
        if event not in agent.events:
            assert not ours({"hooks": {event: groups}}, agent.name, event)


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- round trips ---------------------------------------------------------------------------------------------------


def test_claude_project_install_then_uninstall_gives_the_odd_file_back_byte_for_byte(tracked: Sandbox) -> None:
    path = claude_local(tracked)
    path.parent.mkdir()
    path.write_bytes(ODD_CLAUDE)
    exclude = tracked.path / ".git" / "info" / "exclude"
    exclude_before = exclude.read_bytes()

    out = tracked.ok("agent-hooks", "install", "claude")
    assert f"git-tracker's hooks are in {path} (project scope)" in out
    assert "listed .claude/settings.local.json in .git/info/exclude" in out
    written = path.read_bytes()
    assert written.startswith(BOM) and b"\r\n\t\t" in written and b"1.50e1" in written  # its style kept
    doc = load(path)
    assert doc["permissions"] == {"allow": ["Bash(ls)"]} and doc["e"] == "été" and doc["dup"] == 2
    assert doc["hooks"]["Stop"][0] == {"matcher": "", "hooks": [{"type": "command", "command": "echo mine"}]}
    assert doc["hooks"]["PreToolUse"] == [
        {"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.sh", "timeout": 5}]}
    ]
    assert_ours_exactly(doc, CLAUDE)
    assert doc["statusLine"]["padding"] == 2 and list(doc["statusLine"]) == ["padding", "type", "command"]
    assert shlex.split(doc["statusLine"]["command"]) == [PROGRAM, "statusline", "--wrap", THEIR_LINE]
    assert tracked.git("status", "--porcelain", "--untracked-files=all") == ""  # kept out of commits

    out = tracked.ok("agent-hooks", "uninstall", "claude")
    assert "restored it byte for byte" in out
    assert path.read_bytes() == ODD_CLAUDE
    assert exclude.read_bytes() == exclude_before


def test_claude_project_install_makes_the_file_and_uninstall_deletes_it_and_its_folder(tracked: Sandbox) -> None:
    path = claude_local(tracked)
    tracked.ok("agent-hooks", "install", "claude")
    doc = load(path)
    assert set(doc) == {"hooks", "statusLine"}
    assert_ours_exactly(doc, CLAUDE)
    assert doc["statusLine"] == {"type": "command", "command": f"'{PROGRAM}' statusline"}
    assert tracked.git("status", "--porcelain", "--untracked-files=all") == ""
    out = tracked.ok("agent-hooks", "uninstall", "claude")
    assert "there was none before install" in out
    assert not path.exists() and not path.parent.exists()


@pytest.mark.parametrize("config_dir", [False, True], ids=["home", "CLAUDE_CONFIG_DIR"])
def test_claude_user_settings_round_trip_outside_any_repository(
    hermetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_dir: bool
) -> None:
    folder = tmp_path / "claude-config" if config_dir else hermetic / ".claude"
    if config_dir:
        monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(folder))
    path = folder / "settings.json"
    folder.mkdir(parents=True)
    path.write_bytes(ODD_CLAUDE)
    nowhere = Sandbox(tmp_path / "not-a-repository")
    nowhere.path.mkdir()
    out = nowhere.ok("agent-hooks", "install", "claude", "--scope", "user")
    assert f"hooks are in {path} (user scope)" in out and "uninstall claude --scope user" in out
    assert_ours_exactly(load(path), CLAUDE)
    if config_dir:
        assert not (hermetic / ".claude").exists()
    assert (hermetic / ".local" / "state" / "git-tracker" / "agent-hooks").is_dir()  # the record, in the user's state
    nowhere.ok("agent-hooks", "uninstall", "claude", "--scope", "user")
    assert path.read_bytes() == ODD_CLAUDE


@pytest.mark.parametrize("scope", ["project", "user"])
@pytest.mark.parametrize("existing", [True, False], ids=["their-file", "no-file"])
def test_codex_hooks_json_round_trip(
    tracked: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scope: str, existing: bool
) -> None:
    if scope == "user":
        monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex-home"))
        path = tmp_path / "codex-home" / "hooks.json"
    else:
        path = codex_local(tracked)
    if existing:
        path.parent.mkdir(parents=True)
        path.write_bytes(THEIR_CODEX)
    out = tracked.ok("agent-hooks", "install", "codex", "--scope", scope)
    assert "[features]" in out and "hooks = true" in out and "trust" in out  # told, not written
    assert f'notify = ["{PROGRAM}", "hook", "codex", "notify"]' in out
    assert not (path.parent / "config.toml").exists()
    doc = load(path)
    assert_ours_exactly(doc, CODEX)
    assert "SessionEnd" not in doc["hooks"] and "statusLine" not in doc
    if existing:
        assert doc["version"] == 1
        assert doc["hooks"]["Stop"][0]["hooks"] == [{"type": "command", "command": "notify-send done", "timeout": 30}]
        assert b'\n        "Stop": [\n' in path.read_bytes()  # four spaces, as theirs
    assert tracked.git("status", "--porcelain", "--untracked-files=all") == ""
    tracked.ok("agent-hooks", "uninstall", "codex", "--scope", scope)
    if existing:
        assert path.read_bytes() == THEIR_CODEX
    else:
        assert not path.exists() and not path.parent.exists()


def test_install_twice_is_install_once(tracked: Sandbox) -> None:
    path = claude_local(tracked)
    path.parent.mkdir()
    path.write_bytes(ODD_CLAUDE)
    tracked.ok("agent-hooks", "install", "claude")
    records = tracked.path / ".git" / "tracker" / "agent-hooks"
    first, first_records = path.read_bytes(), files_under(records)
    exclude = (tracked.path / ".git" / "info" / "exclude").read_bytes()
    out = tracked.ok("agent-hooks", "install", "claude")
    assert "were already in" in out and "nothing changed" in out
    assert path.read_bytes() == first and files_under(records) == first_records
    assert (tracked.path / ".git" / "info" / "exclude").read_bytes() == exclude
    tracked.ok("agent-hooks", "uninstall", "claude")
    assert path.read_bytes() == ODD_CLAUDE


# -- a file changed meanwhile ------------------------------------------------------------------------------------


def test_a_file_changed_after_install_keeps_the_change_and_loses_only_ours(tracked: Sandbox) -> None:
    path = claude_local(tracked)
    path.parent.mkdir()
    theirs = {
        "model": "sonnet",
        "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "echo mine"}]}]},
        "statusLine": {"type": "command", "command": THEIR_LINE},
    }
    path.write_text(json.dumps(theirs, indent=2))
    tracked.ok("agent-hooks", "install", "claude")
    doc = load(path)
    # Meanwhile the user (or Claude Code's /config) changes a setting, adds a Stop hook, and puts a hook of their
    # own into the group git-tracker made for SessionEnd; their editor writes the file in its own style.
    doc["model"] = "opus"
    doc["hooks"]["Stop"].append({"hooks": [{"type": "command", "command": "echo later"}]})
    doc["hooks"]["SessionEnd"][0]["hooks"].append({"type": "command", "command": "echo bye"})
    path.write_text(json.dumps(doc, indent=4))

    out = tracked.ok("agent-hooks", "uninstall", "claude")
    assert (
        "the file changed since install" in out and f"statusLine runs your previous command again: {THEIR_LINE}" in out
    )
    expected = {
        "model": "opus",
        "hooks": {
            "Stop": [
                {"hooks": [{"type": "command", "command": "echo mine"}]},
                {"hooks": [{"type": "command", "command": "echo later"}]},
            ],
            "SessionEnd": [{"hooks": [{"type": "command", "command": "echo bye"}]}],
        },
        "statusLine": {"type": "command", "command": THEIR_LINE},
    }
    assert load(path) == expected
    assert b"\n    " in path.read_bytes()  # their four spaces kept


def test_an_edit_saved_between_our_read_and_our_write_is_read_again_not_lost(
    tracked: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = claude_local(tracked)
    path.parent.mkdir()
    path.write_text('{"model": "sonnet"}\n')
    spot = agenthooks.target("claude", "project", tracked.path)
    stale = path.read_bytes()
    stale_doc = settings.parse(stale, str(path), CLAUDE)
    path.write_text('{"model": "opus", "env": {"X": "1"}}\n')  # the user's editor saves after our read
    assert agenthooks._install_entries(spot, PROGRAM, stale, stale_doc)[0] is True
    doc = load(path)
    assert doc["model"] == "opus" and doc["env"] == {"X": "1"}
    assert_ours_exactly(doc, CLAUDE)


def test_replace_unless_changed_writes_nothing_over_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    assert replace_unless_changed(path, None, b"new\n") and path.read_bytes() == b"new\n"
    assert not replace_unless_changed(path, b"old\n", b"ours\n")
    assert path.read_bytes() == b"new\n" and sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]
    assert not replace_unless_changed(tmp_path / "absent.json", b"old\n", b"ours\n")
    assert not (tmp_path / "absent.json").exists()


# -- refused ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "content", "expected"),
    [
        ("claude", b'{"hooks": {', "expected a JSON object (Claude Code settings), but it is not valid JSON"),
        ("claude", b"[1, 2]", "expected a JSON object (Claude Code settings), but it holds a list"),
        ("claude", b'{"hooks": []}', 'expected "hooks" to be an object of event lists, but it is a list'),
        ("claude", b'{"hooks": {"Stop": {"hooks": []}}}', 'expected "hooks.Stop" to be a list of hook groups'),
        ("claude", b'{"statusLine": "git-tracker statusline"}', 'expected "statusLine" to be {"type": "command"'),
        ("claude", b"\xff\xfe{\x00}\x00", "but it is not UTF-8 text"),
        ("claude", b'{"n": NaN}', "not valid JSON (NaN is not JSON)"),
        ("codex", b'{"hooks": {"Stop": [1]}}', 'expected "hooks.Stop[0]" to be an object with a "hooks" list'),
        ("codex", b'"hooks"', "expected a JSON object (Codex hooks file), but it holds a string"),
    ],
)
def test_a_file_the_agent_could_not_read_is_refused_with_one_line_and_left_untouched(
    tracked: Sandbox, agent: str, content: bytes, expected: str
) -> None:
    path = claude_local(tracked) if agent == "claude" else codex_local(tracked)
    path.parent.mkdir()
    path.write_bytes(content)
    git_dir = tracked.path / ".git"
    before = files_under(git_dir / "tracker"), (git_dir / "info" / "exclude").read_bytes()
    for action in ("install", "uninstall"):
        done = tracked.tracker("agent-hooks", action, agent)
        assert done.returncode == 2, (action, done.stderr)
        assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith(f"git-tracker: {path}: ") and expected in done.stderr, done.stderr
        assert "left it as it is" in done.stderr
        assert path.read_bytes() == content
        assert (files_under(git_dir / "tracker"), (git_dir / "info" / "exclude").read_bytes()) == before


def test_a_file_where_the_settings_folder_should_be_is_refused(tracked: Sandbox) -> None:
    (tracked.path / ".claude").write_text("my notes\n")
    done = tracked.tracker("agent-hooks", "install", "claude")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert f"{tracked.path / '.claude'}: expected a folder to hold settings.local.json" in done.stderr
    assert (tracked.path / ".claude").read_text() == "my notes\n"


def test_a_damaged_record_says_so_and_uninstall_takes_out_only_ours(tracked: Sandbox) -> None:
    path = claude_local(tracked)
    path.parent.mkdir()
    path.write_text('{"model": "sonnet"}')
    tracked.ok("agent-hooks", "install", "claude")
    (record,) = (tracked.path / ".git" / "tracker" / "agent-hooks").glob("claude-project-*.json")
    record.write_text("{half a rec")
    done = tracked.tracker("agent-hooks", "uninstall", "claude")
    assert done.returncode == 0, done.stderr
    assert "is damaged" in done.stderr and "take out only git-tracker's entries" in done.stderr
    assert load(path) == {"model": "sonnet"} and not record.exists()


def test_a_settings_file_git_tracks_is_refused(tracked: Sandbox) -> None:
    path = claude_local(tracked)
    path.parent.mkdir()
    path.write_text('{"model": "sonnet"}\n')
    tracked.git("add", "-f", str(path))
    tracked.git("commit", "-q", "-m", "shared local settings")
    done = tracked.tracker("agent-hooks", "install", "claude")
    assert done.returncode == 1
    assert ".claude/settings.local.json is tracked by git" in done.stderr and "--scope user" in done.stderr
    assert path.read_text() == '{"model": "sonnet"}\n'


def test_the_project_scope_needs_init_and_a_repository(sandbox: Sandbox, tmp_path: Path) -> None:
    done = sandbox.tracker("agent-hooks", "install", "claude")
    assert done.returncode == 2 and "run `git tracker init` first" in done.stderr
    assert not (sandbox.path / ".claude").exists() and not (sandbox.path / ".git" / "tracker").exists()
    nowhere = Sandbox(tmp_path / "nowhere")
    nowhere.path.mkdir()
    assert nowhere.tracker("agent-hooks", "install", "codex").returncode == 2


# -- the status line -----------------------------------------------------------------------------------------------


def test_the_wrapped_status_line_runs_theirs_first_and_uninstall_gives_it_back(tracked: Sandbox) -> None:
    path = claude_local(tracked)
    path.parent.mkdir()
    line = {"type": "command", "command": "printf 'their %s\\n' \"it's\"", "padding": 0}
    path.write_text(json.dumps({"statusLine": line}))
    tracked.ok("agent-hooks", "install", "claude")
    command = load(path)["statusLine"]["command"]
    payload = json.dumps({"model": {"display_name": "Opus"}, "workspace": {"current_dir": str(tracked.path)}})
    shown = subprocess.run(["sh", "-c", command], input=payload, capture_output=True, text=True, cwd=tracked.path)
    assert shown.returncode == 0 and shown.stdout.startswith("their it's | Opus"), shown
    path.write_text(path.read_text() + "\n")  # touched since: uninstall must take ours out by itself
    tracked.ok("agent-hooks", "uninstall", "claude")
    assert load(path) == {"statusLine": line}


# -- status --------------------------------------------------------------------------------------------------------


def status(box: Sandbox) -> dict[tuple[str, str], dict[str, Any]]:
    data = json.loads(box.ok("agent-hooks", "status", "--json"))
    assert data["program"] == PROGRAM
    return {(row["agent"], row["scope"]): row for row in data["targets"]}


def test_status_says_what_is_installed_and_whether_its_program_is_there(tracked: Sandbox) -> None:
    rows = status(tracked)
    assert sorted(rows) == [("claude", "project"), ("claude", "user"), ("codex", "project"), ("codex", "user")]
    assert not any(row["installed"] or row["events"] for row in rows.values())
    assert rows["claude", "project"]["file"] == str(claude_local(tracked))

    tracked.ok("agent-hooks", "install", "claude")
    row = status(tracked)["claude", "project"]
    assert row["installed"] and row["statusline"] and row["current"] and row["programs_exist"]
    assert row["events"] == list(CLAUDE.events) and row["programs"] == [PROGRAM]

    # The venv moved: the entries run a program that is gone. Status says so; install points them here again.
    path = claude_local(tracked)
    path.write_text(path.read_text().replace(PROGRAM, "/gone/venv/bin/git-tracker"))
    row = status(tracked)["claude", "project"]
    assert row["installed"] and row["programs_exist"] is False and row["current"] is False
    assert "/gone/venv/bin/git-tracker, which is not there any more" in tracked.ok("agent-hooks", "status")
    tracked.ok("agent-hooks", "install", "claude")
    assert_ours_exactly(load(path), CLAUDE)
    assert status(tracked)["claude", "project"]["current"] is True

    # Half taken out by hand: partly installed, and what is missing.
    doc = load(path)
    del doc["hooks"]["Stop"]
    path.write_text(json.dumps(doc))
    text = tracked.ok("agent-hooks", "status")
    assert "partly installed" in text and "missing: Stop" in text


def test_status_reads_whether_codex_config_turns_hooks_on(
    tracked: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "codex-home"
    monkeypatch.setenv("CODEX_HOME", str(home))
    tracked.ok("agent-hooks", "install", "codex", "--scope", "user")
    assert status(tracked)["codex", "user"]["hooks_feature"] is False
    assert "Codex's hooks feature is off" in tracked.ok("agent-hooks", "status")
    for text, expected in [
        ("[features]\ncodex_hooks = true\n", True),
        ("[features]\ncodex_hooks = true\nhooks = false\n", False),
        ("[features]\nhooks = true\n", True),
        ("[features\n", None),
    ]:
        (home / "config.toml").write_text(text)
        assert status(tracked)["codex", "user"]["hooks_feature"] is expected, text
    (home / "config.toml").write_text(f'notify = ["{PROGRAM}", "hook", "codex", "notify"]\n')
    assert status(tracked)["codex", "user"]["notify"] is True
    out = tracked.ok("agent-hooks", "uninstall", "codex", "--scope", "user")
    assert "notify program: take that line out yourself" in out


# -- places ------------------------------------------------------------------------------------------------------


def test_a_symlinked_settings_file_is_written_through_and_stays_a_link(hermetic: Path, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles" / "claude.json"
    dotfiles.parent.mkdir()
    dotfiles.write_bytes(ODD_CLAUDE)
    (hermetic / ".claude").mkdir()
    link = hermetic / ".claude" / "settings.json"
    link.symlink_to(dotfiles)
    box = Sandbox(tmp_path)
    box.ok("agent-hooks", "install", "claude", "--scope", "user")
    assert link.is_symlink() and link.resolve() == dotfiles
    assert_ours_exactly(load(dotfiles), CLAUDE)
    box.ok("agent-hooks", "uninstall", "claude", "--scope", "user")
    assert link.is_symlink() and dotfiles.read_bytes() == ODD_CLAUDE


def test_worktrees_share_the_exclude_line_until_the_last_uninstall(tracked: Sandbox, tmp_path: Path) -> None:
    exclude = tracked.path / ".git" / "info" / "exclude"
    before = exclude.read_bytes()
    tracked.git("worktree", "add", "-q", "-b", "side", str(tmp_path / "side"))
    side = Sandbox(tmp_path / "side")
    tracked.ok("agent-hooks", "install", "claude")
    side.ok("agent-hooks", "install", "claude")
    assert exclude.read_bytes().count(b"/.claude/settings.local.json") == 1
    assert_ours_exactly(load(claude_local(side)), CLAUDE)
    tracked.ok("agent-hooks", "uninstall", "claude")
    assert side.git("status", "--porcelain", "--untracked-files=all") == ""  # the other worktree's stays ignored
    side.ok("agent-hooks", "uninstall", "claude")
    assert exclude.read_bytes() == before


def test_an_exclude_file_install_made_goes_again_with_its_folder(tracked: Sandbox) -> None:
    info = tracked.path / ".git" / "info"
    for leftover in info.iterdir():
        leftover.unlink()
    info.rmdir()
    tracked.ok("agent-hooks", "install", "codex")
    assert (info / "exclude").read_bytes() == b"/.codex/hooks.json\n"
    # init's own line went with the folder: its settings file shows; ours does not
    assert tracked.git("status", "--porcelain", "--untracked-files=all") == "?? .git-tracker.toml\n"
    tracked.ok("agent-hooks", "uninstall", "codex")
    assert not info.exists()


def test_the_program_is_the_one_next_to_python_else_the_one_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = Path(PROGRAM)
    if Path(sys.executable).parent != script.parent:
        pytest.skip("the tests run from a Python whose folder has no git-tracker script")
    assert find_program().path == str(script) and "next to this Python" in find_program().how
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python3"))
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{script.parent}")
    found = find_program()
    assert found.path == str(script) and "found on PATH" in found.how
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(Refused, match="cannot find the git-tracker program"):
        find_program()


# -- the parser and the merger, on arbitrary settings ----------------------------------------------------------------


def not_ours(command: str) -> bool:
    """A user's command: it may run git-tracker (`git tracker status`), but not its hook or its status line."""
    args = settings.tracker_args(command)
    return args is None or args[:1] not in (["hook"], ["statusline"])


leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
commands = (st.text(max_size=20) | st.sampled_from(["echo hi", "./x.sh 'a b'", "git tracker status"])).filter(not_ours)
handlers = st.fixed_dictionaries(
    {"type": st.just("command"), "command": commands}, optional={"timeout": st.integers(1, 9)}
)
groups = st.fixed_dictionaries({"hooks": st.lists(handlers, max_size=2)}, optional={"matcher": st.text(max_size=5)})
event_names = st.sampled_from([*CLAUDE.events, "PreToolUse", "Notification"]) | st.text(max_size=6)
hook_tables = st.dictionaries(event_names, st.lists(groups, max_size=3), max_size=4)
status_lines = st.fixed_dictionaries(
    {"type": st.just("command"), "command": commands}, optional={"padding": st.integers(0, 3)}
)


@st.composite
def settings_files(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    """(the file's bytes in one of many styles, the parsed object) for an arbitrary user's settings."""
    doc = draw(
        st.dictionaries(st.text(max_size=8).filter(lambda k: k not in ("hooks", "statusLine")), values, max_size=4)
    )
    if draw(st.booleans()):
        doc["hooks"] = draw(hook_tables)
    if draw(st.booleans()):
        doc["statusLine"] = draw(status_lines)
    keys = draw(st.permutations(list(doc)))
    ordered = {key: doc[key] for key in keys}
    indent = draw(st.sampled_from([None, 1, 2, 4, "\t"]))
    text = json.dumps(ordered, indent=indent, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    data = (BOM if draw(st.booleans()) else b"") + text.encode() + (b"\n" if draw(st.booleans()) else b"")
    return data, settings.parse(data, "settings.json", CLAUDE)


@given(settings_files(), st.sampled_from([CLAUDE, CODEX]))
def test_install_finds_ours_exactly_and_uninstall_gives_back_the_user_object(
    file: tuple[bytes, dict[str, Any]], agent: Agent
) -> None:
    data, doc = file
    installed, added = settings.install(doc, agent, PROGRAM)
    found = settings.found(installed, agent)
    assert found.events == agent.events and found.programs == (PROGRAM,)
    assert found.statusline is (True if agent.statusline else None)
    hooks = installed["hooks"]
    for event in agent.events:
        mine = [
            h for g in hooks[event] for h in g["hooks"] if (settings.tracker_args(h["command"]) or [])[:1] == ["hook"]
        ]
        assert [h["command"] for h in mine] == [f"'{PROGRAM}' hook {agent.name} {event}"]
        theirs = [g for g in hooks[event] if g["hooks"] != mine]
        assert theirs == doc.get("hooks", {}).get(event, [])  # the user's groups, in their order
    assert {k: v for k, v in installed.items() if k not in ("hooks", "statusLine")} == {
        k: v for k, v in doc.items() if k not in ("hooks", "statusLine")
    }
    assert settings.install(installed, agent, PROGRAM)[0] is installed  # twice is once
    assert settings.uninstall(installed, agent, added) == doc
    rendered = settings.render(installed, data)
    assert settings.parse(rendered, "settings.json", agent) == installed
    assert rendered.startswith(BOM) == data.startswith(BOM) and (b"\r\n" in rendered) == (b"\r\n" in data)
    if agent.statusline and "statusLine" in doc:
        wrapped = shlex.split(installed["statusLine"]["command"])
        assert wrapped == [PROGRAM, "statusline", "--wrap", doc["statusLine"]["command"]]


@given(settings_files(), st.sampled_from([CLAUDE, CODEX]))
def test_without_the_record_uninstall_still_takes_out_exactly_ours(
    file: tuple[bytes, dict[str, Any]], agent: Agent
) -> None:
    """What install created is not known (the record lost): lists and objects left empty by taking ours out go.
    The user's own empty lists of those events are the one thing that cannot be told apart."""
    _, doc = file
    hooks = doc.get("hooks")
    if hooks == {} or any(hooks.get(event) == [] for event in agent.events if isinstance(hooks, dict)):
        return
    installed, _ = settings.install(doc, agent, "/elsewhere/bin/git-tracker")
    assert settings.uninstall(installed, agent, None) == doc
    moved, _ = settings.install(installed, agent, PROGRAM)  # a moved venv: one entry each, pointing here
    assert settings.found(moved, agent).programs == (PROGRAM,)
    assert settings.uninstall(moved, agent, None) == doc


@given(st.binary(max_size=200) | st.text(max_size=60).map(str.encode))
def test_the_parser_takes_any_bytes_and_refuses_with_one_line(data: bytes) -> None:
    for agent in (CLAUDE, CODEX):
        try:
            doc = settings.parse(data, "f.json", agent)
        except BadInput as error:
            assert "\n" not in str(error) and str(error).startswith("f.json: expected ")
        else:
            assert isinstance(doc, dict)
            assert settings.parse(settings.render(doc, data), "f.json", agent) == doc


@given(st.text())
def test_a_quoted_word_reads_back_as_that_word(word: str) -> None:
    assert shlex.split(settings.quote(word)) == [word]
    assert settings.tracker_args(settings.statusline_command(PROGRAM, word)) == ["statusline", "--wrap", word]
    settings.tracker_args(word)  # any text: no exception


def test_numbers_keep_their_spelling() -> None:
    doc = settings.parse(b'{"a": 1.50e1, "b": -0, "c": 100000000000000000000000001}', "f", CLAUDE)
    assert doc == {"a": Number("1.50e1"), "b": Number("-0"), "c": Number("100000000000000000000000001")}
    assert settings.render(doc, None) == b'{\n  "a": 1.50e1,\n  "b": -0,\n  "c": 100000000000000000000000001\n}\n'
