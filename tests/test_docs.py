"""The docs match the program.

- every command and option that `git-tracker --help` and `git-tracker CMD --help` list is in docs/commands.md,
  in that command's own section, and no section heading names an option the command does not have;
- every key a command prints with `--json` is described in docs/json.md, in that command's section (the
  records `log --json` and `anomalies --json` print: in docs/data-model.md, which json.md points to);
- the samples of docs/commands.md and the README's walkthrough are what the program prints, ids and times aside.

Everything runs through the installed `git-tracker` console script on real repositories, as a user would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REAL_PIP_CACHE, Sandbox, tracker_command

ROOT = Path(__file__).resolve().parents[1]
COMMANDS_MD = ROOT / "docs" / "commands.md"
JSON_MD = ROOT / "docs" / "json.md"
DATA_MODEL_MD = ROOT / "docs" / "data-model.md"
README = ROOT / "README.md"

# -- reading the help --------------------------------------------------------------------------------------


def help_of(*command: str) -> str:
    done = subprocess.run([*tracker_command(), *command, "--help"], capture_output=True, text=True)
    assert done.returncode == 0, f"git-tracker {' '.join(command)} --help -> {done.returncode}: {done.stderr}"
    return done.stdout


def listed_commands(text: str) -> list[str]:
    """The names in the "Commands:" section of click's help (continuation lines are indented further)."""
    section = text.split("\nCommands:\n", 1)[1]
    return re.findall(r"^  ([a-z][\w-]*)", section, re.MULTILINE)


def subcommands(text: str) -> list[str]:
    """The commands of a command group's help (``agent-hooks``): [] for a plain command."""
    return listed_commands(text) if "\nCommands:\n" in text else []


def option_lines(text: str) -> list[str]:
    """The lines of the "Options:" section that name options (a wrapped help line starts with text)."""
    if "\nOptions:\n" not in text:
        return []
    lines = []
    for line in text.split("\nOptions:\n", 1)[1].splitlines():
        if line and not line.startswith(" "):
            break  # an epilog after the options
        if re.match(r"^  -", line):
            lines.append(line)
    return lines


def listed_options(text: str) -> set[str]:
    """Every option the help lists; a help without an Options section (statusline's) names them in its usage."""
    lines = option_lines(text)
    if not lines:
        return set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", text.splitlines()[0]))
    options: set[str] = set()
    for line in lines:
        names = re.match(r"^  (-[^\s,]+(?:(?:, | / )-[^\s,]+)*)", line)  # "-x, --long", "--on / --off"
        assert names is not None, line
        options.update(re.split(r", | / ", names.group(1)))
    return options - {"-h", "--help"}


def listed_choices(text: str) -> set[str]:
    """The values of click.Choice options (``[plan|mid|final]``) and arguments (``{token-churn|churn}``)."""
    found: set[str] = set()
    usage = text.splitlines()[0] if text else ""
    for group in re.findall(r"\{([\w-]+(?:\|[\w-]+)+)\}", usage):
        found.update(group.split("|"))
    for line in option_lines(text):
        for group in re.findall(r"\[([\w-]+(?:\|[\w-]+)+)\]", line):
            found.update(group.split("|"))
    return found


# -- reading the docs --------------------------------------------------------------------------------------


def sections(text: str, level: str = "##") -> list[tuple[str, str]]:
    """(heading line, whole section text) for each heading of this level; deeper headings stay inside."""
    parts = re.split(rf"(?m)^(?={level} )", text)
    return [(part.splitlines()[0], part) for part in parts if part.startswith(f"{level} ")]


def command_section(doc: str, command: str) -> str:
    """The section of commands.md whose heading starts with the command: ``## `start PROVIDER …` ``."""
    pattern = re.compile(rf"^## `(?:git tracker )?{re.escape(command)}[ `]")
    return "".join(body for heading, body in sections(doc) if pattern.match(heading))


def mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def described(text: str) -> set[str]:
    """What the prose and tables of a page name as code: each inline code span outside fenced blocks, and the
    quoted names inside one (``{"window_id", "tokens"}``). Keys that appear only in an example do not count."""
    prose = re.sub(r"(?ms)^```.*?^```", "", text)
    names: set[str] = set()
    for span in re.findall(r"`([^`\n]+)`", prose):
        names.add(span.strip())
        names.update(re.findall(r'"([^"]+)"', span))
    return names


# -- (a) commands.md has every command and option --------------------------------------------------------


def test_every_command_and_option_of_the_help_is_in_commands_md() -> None:
    doc = COMMANDS_MD.read_text()
    top = help_of()
    missing = [f"global option {option}" for option in sorted(listed_options(top)) if not mentions(doc, option)]
    missing += [f"global option {option}" for option in ("-h", "--help") if not mentions(doc, option)]
    commands = listed_commands(top)
    assert len(commands) >= 20, commands  # the parser found the list
    for command in commands:
        section = command_section(doc, command)
        if not section:
            missing.append(f"{command}: no section `## `{command} …`` in commands.md")
            continue
        text = help_of(command)
        # A group's section documents its subcommands too (`agent-hooks install`), each by name.
        helps = [(command, text)] + [(f"{command} {sub}", help_of(command, sub)) for sub in subcommands(text)]
        for name, text in helps:
            if name != command and not mentions(section, name.split()[-1]):
                missing.append(f"{name}: not named in the section of {command}")
            for option in sorted(listed_options(text)):
                if not mentions(section, option):
                    missing.append(f"{name}: option {option}")
            for choice in sorted(listed_choices(text)):
                if not mentions(section, choice):
                    missing.append(f"{name}: value {choice}")
    assert not missing, "docs/commands.md lacks:\n" + "\n".join(missing)


def test_commands_md_headings_name_only_real_commands_and_options() -> None:
    doc = COMMANDS_MD.read_text()
    commands = set(listed_commands(help_of()))
    wrong = []
    for heading, _ in sections(doc):
        named = re.match(r"^## `(?:git tracker )?([a-z][\w-]*)", heading)
        if named is None:
            continue
        command = named.group(1)
        if command not in commands:
            wrong.append(f"{heading}: no command {command}")
            continue
        text = help_of(command)
        real = listed_options(text).union(*(listed_options(help_of(command, sub)) for sub in subcommands(text)))
        wrong += [
            f"{heading}: no option {o}" for o in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", heading) if o not in real
        ]
    planned = "".join(body for heading, body in sections(doc) if heading.startswith("## Planned"))
    wrong += [f"`{name}` is listed as planned but exists" for name in described(planned) if name in commands]
    assert not wrong, "\n".join(wrong)


# -- (b) json.md has every key -----------------------------------------------------------------------------

PROVIDER = r"codex|claude|glm"
METER = r"(?:five_hour|daily|weekly|monthly|annual)(?:_[a-z0-9_]+)?|prompts"
AGENT = r"[A-Za-z0-9][\w.-]{0,63}"
KIND = r"[a-z][a-z-]*"
FEATURE = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"

# Positions (paths with `*` for a data key, `[]` for a list's items) whose keys are data, not names: providers,
# meters, agents, record kinds. Each data key must look like its kind of data, so a fixed key added at such a
# position is not waved through.
DATA_KEYS: dict[str, dict[str, str]] = {
    "end": {"other_deltas": METER},
    "status": {
        "agents": AGENT,
        "agents.*.open[].before.meters": METER,
        "readings": PROVIDER,
        "readings.*.meters": METER,
        "readings.*.known_resets": METER,
        "halts": PROVIDER,
    },
    "preview": {
        "providers": PROVIDER,
        "providers.*.other_meters": METER,
        "comparisons": PROVIDER,
        "comparisons.*.usd_per_unit": PROVIDER,
        # preview --by: one report per agent or machine (a machine id looks like an agent id)
        "groups": AGENT,
        "groups.*.providers": PROVIDER,
        "groups.*.providers.*.other_meters": METER,
        "groups.*.comparisons": PROVIDER,
        "groups.*.comparisons.*.usd_per_unit": PROVIDER,
    },
    "decide": {"gates.G1.providers": PROVIDER},
    "proxy": {"models": r"[\w.:/()@ -]+"},  # model names, as the proxy saw them
    "demo": {"providers": PROVIDER, "records": KIND},
    "report": {"charts": r"efficiency|meter-(?:codex|claude|glm)|tokens-per-percent|work-vs-capacity|power"},
    "record": {"meters": METER, "other_deltas": METER, "orders": FEATURE},
    "sync": {"fetched.records": KIND, "pushed.records": KIND},
}
# A value that is another command's output: demo's `preview` is the `preview --json` report.
NESTED = {("demo", "preview"): "preview"}
JSON_COMMANDS = (
    "agent-hooks",
    "anomalies",
    "assign",
    "bank",
    "checkpoint",
    "churn",
    "complete",
    "decide",
    "demo",
    "doctor",
    "end",
    "ingest",
    "log",
    "preview",
    "proxy",
    "report",
    "resume",
    "schedule",
    "snapshot",
    "start",
    "status",
    "sync",
    "timer",
    "undo",
)


def key_paths(command: str, value: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """(command whose docs describe it, key, path) for every name-key in the value, recursively."""
    if isinstance(value, list):
        for item in value:
            yield from key_paths(command, item, f"{path}[]")
        return
    if not isinstance(value, dict):
        return
    data = DATA_KEYS.get(command, {}).get(path)
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        if data is not None:
            assert re.fullmatch(data, key), f"{command} --json: {key!r} at {path} is not a data key like {data}"
            yield from key_paths(command, item, f"{path}.*" if path else "*")
            continue
        yield command, key, child
        if (command, child) in NESTED:
            yield from key_paths(NESTED[(command, child)], item)
        else:
            yield from key_paths(command, item, child)


def json_md_sections() -> dict[str, set[str]]:
    """What each command's section(s) of json.md describe: a section belongs to every command its heading names
    with `--json` (``## `log --json` and `anomalies --json` ``)."""
    found: dict[str, set[str]] = {}
    for heading, body in sections(JSON_MD.read_text()):
        for command in re.findall(r"`([a-z][\w-]*) [^`]*--json[^`]*`", heading):
            found.setdefault(command, set()).update(described(body))
    return found


def record_fields() -> tuple[set[str], dict[str, set[str]]]:
    """data-model.md: the stamp fields of every record, and each kind's own (``### `snapshot` …``)."""
    records = "".join(body for heading, body in sections(DATA_MODEL_MD.read_text()) if heading == "## Records")
    assert records, "docs/data-model.md has no ## Records section"
    stamp = described(records.split("\n### ", 1)[0])
    kinds = {}
    for heading, body in sections(records, "###"):
        kind = re.match(r"^### `([a-z-]+)`", heading)
        if kind:
            kinds[kind.group(1)] = described(body)
    return stamp, kinds


@dataclass
class Outputs:
    """What each command printed with --json."""

    values: dict[str, list[Any]] = field(default_factory=dict)

    def take(self, box: Sandbox, command: str, *args: str, env: dict[str, str] | None = None, code: int = 0) -> Any:
        done = box.tracker(command, *args, "--json", env=env)
        assert done.returncode == code, (
            f"git tracker {command} {' '.join(args)} --json -> {done.returncode}: {done.stderr}"
        )
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        assert lines, f"git tracker {command} {' '.join(args)} --json printed nothing"
        self.values.setdefault(command, []).extend(lines)
        return lines[-1]


DAY0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def at(minutes: float) -> dict[str, str]:
    moment = DAY0 + timedelta(minutes=minutes)
    return {"GIT_TRACKER_NOW": moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}


def transcript_line(minutes: float, number: int, tokens: int) -> str:
    """One Claude Code transcript line carrying usage, as `ingest claude-logs` reads them."""
    moment = DAY0 + timedelta(minutes=minutes)
    line = {
        "type": "assistant",
        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "sessionId": "s1",
        "cwd": "/w/p",
        "gitBranch": "main",
        "requestId": f"r{number}",
        "message": {
            "id": f"m{number}",
            "model": "claude-sonnet-4-5-20250929",
            "role": "assistant",
            "usage": {"input_tokens": tokens, "output_tokens": 0},
        },
    }
    return json.dumps(line) + "\n"


def drive_a_demo(out: Outputs, tmp_path: Path) -> None:
    """A demo repository: preview, decide, status, log, report and the rest on three days of windows."""
    tmp_path.mkdir()
    holder = Sandbox(tmp_path)
    out.take(holder, "demo", str(tmp_path / "demo"))
    demo = Sandbox(tmp_path / "demo")
    for command in ("preview", "decide", "status", "log", "anomalies", "doctor", "churn"):
        out.take(demo, command)
    out.take(demo, "preview", "--by", "machine")
    out.take(demo, "preview", "--by", "agent")
    out.take(demo, "checkpoint", "--phase", "final")
    out.take(demo, "resume", "codex")
    written = out.take(demo, "report", "--svg", str(tmp_path / "charts"))
    assert written["svg_files"]


def drive_windows(out: Outputs, box: Sandbox, tmp_path: Path) -> None:
    """Windows made with start/end/complete: open ones, undone ones, two meters, a HALT, tokens, lost commits."""
    out.take(box, "start", "claude", "--used", "10", "--weekly", "5", "--feature", "F-1", env=at(0))
    box.commit()
    out.take(box, "snapshot", "claude", "--used", "12", env=at(10))
    out.take(box, "status", env=at(11))
    out.take(box, "checkpoint", "--phase", "mid", env=at(12))
    out.take(box, "churn", env=at(13))
    out.take(box, "end", "claude", "--used", "20", "--weekly", "7", env=at(30))
    out.take(box, "complete", "--outcome", "partial", "--quality", "0.5", env=at(31))
    out.take(box, "complete", "--outcome", "shipped", "--quality", "0.9", "--replace", env=at(32))
    # Three more claude windows on the 5-hour meter, one of them far off in tokens per percent (divergent).
    for number, used in enumerate((20, 30, 40), start=1):
        start = number * 60
        box.ok("start", "claude", "--used", str(used), env=at(start))
        box.commit()
        box.ok("end", "claude", "--used", str(used + 10), env=at(start + 30))
        box.ok("complete", "--outcome", "shipped", "--quality", "0.8", env=at(start + 31))
    # A window on the weekly meter alone: claude's other_meters.
    box.ok("start", "claude", "--weekly", "10", env=at(300))
    box.ok("end", "claude", "--weekly", "12", env=at(330))
    box.ok("complete", "--outcome", "shipped", "--quality", "1", env=at(331))
    logs = tmp_path / "claude-config"
    (logs / "projects" / "-w-p").mkdir(parents=True)
    tokens = (1000, 1050, 950, 3000)
    lines = [transcript_line(number * 60 + 10, number, count) for number, count in enumerate(tokens)]
    (logs / "projects" / "-w-p" / "s1.jsonl").write_text("".join(lines))
    ingested = out.take(box, "ingest", "claude-logs", "--dir", str(logs), env=at(400))
    assert ingested["divergent_marked"] == 1
    # Undo a before, then an after; two negative deltas in three windows halt codex.
    out.take(box, "start", "codex", "--used", "10", env=at(410))
    out.take(box, "undo", "codex", env=at(411))
    box.ok("start", "codex", "--used", "10", env=at(420))
    box.commit()
    closed = out.take(box, "end", "codex", "--used", "5", env=at(430))
    assert closed["errors"] == ["negative-delta"]
    out.take(box, "undo", "codex", "--after", env=at(431))
    out.take(box, "end", "codex", "--used", "15", env=at(432))
    for number, (before, after) in enumerate(((20, 12), (30, 25))):
        box.ok("start", "codex", "--used", str(before), env=at(433 + 2 * number))
        box.ok("end", "codex", "--used", str(after), env=at(434 + 2 * number))
    preview = out.take(box, "preview", env=at(440))
    assert preview["providers"]["codex"]["halted"] and preview["providers"]["claude"]["other_meters"]
    assert preview["providers"]["claude"]["divergent"]
    out.take(box, "decide", env=at(441))
    assert out.take(box, "resume", "codex", "--reason", "fixed the paste", env=at(442))["halted_before"]
    # A window whose commits are gone: its churn is unknown, with the reason.
    box.git("checkout", "-q", "-b", "side")
    box.ok("start", "glm", "--prompts", "1", env=at(450))
    box.commit()
    lost = out.take(box, "end", "glm", "--prompts", "3", env=at(460))["window_id"]
    box.git("checkout", "-q", "main")
    box.git("branch", "-q", "-D", "side")
    box.git("reflog", "expire", "--expire=now", "--all")
    box.git("gc", "-q", "--prune=now")
    assert "reason" in out.take(box, "churn", lost, env=at(461))
    out.take(box, "status", env=at(462))
    for command in ("log", "anomalies"):
        out.take(box, command, env=at(463))
    # A damaged state: doctor finds it, --fix repairs it.
    (box.path / ".git" / "tracker" / "agents" / "main" / "state.json").write_text("{damaged")
    assert out.take(box, "doctor", code=1)["findings"]
    assert out.take(box, "doctor", "--fix")["fixed"]


def drive_sync(out: Outputs, box: Sandbox, tmp_path: Path) -> None:
    """Syncs through a bare remote that another clone wrote to by hand: a stray file, a record file edited."""
    remote = tmp_path / "remote.git"
    box.git("init", "-q", "--bare", str(remote))
    box.git("remote", "add", "origin", str(remote))
    out.take(box, "sync")
    other = Sandbox(tmp_path / "other")
    box.git("clone", "-q", str(remote), str(other.path))
    other.git("branch", "tracker-ledger", "origin/tracker-ledger")
    record = box.git("ls-tree", "-r", "--name-only", "tracker-ledger").split()[0]
    other.write_ledger_files({"stray.txt": b"not a record\n", record: b"{edited by hand\n"})
    other.git("push", "-q", "origin", "tracker-ledger")
    synced = out.take(box, "sync")
    assert synced["skipped"] and synced["conflicts"]


def drive_overlaps(out: Outputs, tmp_path: Path) -> None:
    """Two agents' claude windows open at once: end names the other, preview leaves them out, then apportions."""
    box = Sandbox(tmp_path)
    box.path.mkdir(parents=True)
    box.git("init", "-q")
    box.commit("README.md")
    box.ok("init")
    box.ok("start", "claude", "--used", "10", env={**at(0), "AGENT_ID": "a"})
    box.ok("start", "claude", "--used", "12", env={**at(10), "AGENT_ID": "b"})
    box.ok("end", "claude", "--used", "20", env={**at(30), "AGENT_ID": "a"})
    assert out.take(box, "end", "claude", "--used", "25", env={**at(40), "AGENT_ID": "b"})["overlaps_with"]
    assert out.take(box, "preview", env=at(50))["overlaps"]["excluded"]
    settings = box.path / ".git-tracker.toml"
    settings.write_text(settings.read_text().replace('overlap = "exclude"', 'overlap = "apportion"'))
    logs = tmp_path.parent / "overlap-logs"
    (logs / "projects" / "-w-p").mkdir(parents=True)
    (logs / "projects" / "-w-p" / "s1.jsonl").write_text(transcript_line(5, 1, 100) + transcript_line(35, 2, 300))
    box.ok("ingest", "claude-logs", "--dir", str(logs), env=at(60))
    assert out.take(box, "preview", env=at(61))["overlaps"]["apportioned"]


def drive_jobs(out: Outputs, tmp_path: Path) -> None:
    """A schedule with a planned window inside the reset buffer, a job that runs and one that fails."""
    box = Sandbox(tmp_path)
    box.path.mkdir(parents=True)
    box.git("init", "-q")
    box.commit("README.md")
    box.ok("init")
    box.ok("start", "claude", "--used", "10", "--resets-at", "2026-06-01T13:58:00Z", env=at(0))
    schedule = box.path / ".git-tracker-schedule.toml"
    nowhere = tmp_path / "nowhere"
    schedule.write_text(
        'timezone = "UTC"\n[[window]]\nprovider = "claude"\nat = "14:00"\nduration = "1h"\n'
        '[[job]]\nname = "checkpoint"\nevery = "15m"\n'
        f'[[job]]\nname = "ingest-codex-sessions"\nevery = "1h"\ndirs = ["{nowhere}"]\n'
    )
    assert out.take(box, "schedule", "check", str(schedule), env=at(1), code=1)["conflicts"]
    assert out.take(box, "timer", "--once", env=at(2), code=2)["jobs"][0]["status"] == "ran"


def drive_proxy(out: Outputs, tmp_path: Path) -> None:
    """Proxy events stored as the ingest stores them: compare with a matched and an unmatched feature, an unpriced
    model; preview's proxy block."""
    from tests.proxyseed import Req, closed_window, events_of, seed

    box = Sandbox(tmp_path)
    box.path.mkdir(parents=True)
    box.git("init", "-q")
    box.commit("README.md")
    box.ok("init")
    glm = closed_window(box, "F-1", "shipped", 0.9)
    base = closed_window(box, "F-1", "shipped", 0.9)
    alone = closed_window(box, "F-2", "failed", 0.2)
    plain = Req("haiku", "claude-haiku-4-5", 100, 10)
    routed = [Req("glm", "glm-4.6", 100, 10), Req("glm", "mystery", 5, status=529)]
    seed(box, [(glm, events_of(routed, "g")), (base, events_of([plain], "b")), (alone, events_of([plain], "a"))])
    assert out.take(box, "proxy", "compare")["unmatched"]["baseline"] == ["F-2"]
    assert out.take(box, "preview")["proxy"]["glm_prompts"] == 2
    assert "criterion 1" in out.take(box, "decide")["gates"]["G3"]["detail"]


def drive_experiment(out: Outputs, tmp_path: Path) -> None:
    """A plan and one feature done by both providers: preview's experiment block (held back: too few pairs)."""
    from gittracker.context import open_context
    from gittracker.records import Record

    box = Sandbox(tmp_path)
    box.path.mkdir(parents=True)
    box.git("init", "-q")
    box.commit("README.md")
    box.ok("init")
    ctx = open_context(box.path)
    orders = {"F-1": "AB", "F-2": "BA"}
    plan = Record.new(
        "assignment", source="cli", agent_id="main", machine=ctx.machine,
        seed=7, providers=["codex", "glm"], orders=orders, odd_one_out=None, replaces=None, reason=None,
    )  # fmt: skip
    ctx.repo.append_records([plan])  # orders chosen here; drive_bank runs `assign` itself
    for number, (provider, option, before, after) in enumerate(
        (("codex", "--weekly", 10, 14), ("glm", "--prompts", 5, 40))
    ):
        box.ok("start", provider, option, str(before), "--feature", "F-1", env=at(10 * number))
        box.ok("end", provider, option, str(after), env=at(10 * number + 5))
        box.ok("complete", "--outcome", "shipped", "--quality", "0.9", env=at(10 * number + 6))
    assert out.take(box, "preview", env=at(30))["experiment"]["crossover"]["not_done"] == ["F-2"]


def drive_agent_hooks(out: Outputs, box: Sandbox) -> None:
    """The agents' hooks installed in the project (Claude Code) and for the user (Codex), then their status."""
    box.ok("agent-hooks", "install", "claude")
    box.ok("agent-hooks", "install", "codex", "--scope", "user")
    targets = out.take(box, "agent-hooks", "status")["targets"]
    assert [row["installed"] for row in targets] == [True, False, False, True]


def drive_bank(out: Outputs, tmp_path: Path) -> None:
    """The task bank and its plan: features added (one far from the median, one replaced), a plan and a replan, a
    window on a feature off the plan (start's warnings), statuses by hand and from windows, G2 green."""
    box = Sandbox(tmp_path)
    box.path.mkdir(parents=True)
    box.git("init", "-q")
    box.commit("README.md")
    box.ok("init")
    spec = tmp_path.parent / "spec.md"
    spec.write_text("Add the widget.\n")
    for number, size in enumerate((5, 4, 6, 20, 5), start=1):
        out.take(box, "bank", "add", f"F-0{number}", "--title", "a feature", "--spec", str(spec), "--size", str(size))
    out.take(box, "bank", "add", "F-05", "--title", "renamed", "--spec", str(spec), "--size", "5", "--replace")
    out.take(box, "assign", "--seed", "7")
    out.take(box, "assign", "--seed", "8", "--replan", "to show a replan")
    assert out.take(box, "start", "claude", "--used", "10", "--feature", "F-01")["warnings"]
    box.commit()
    box.ok("end", "claude", "--used", "20")
    box.ok("complete", "--outcome", "shipped", "--quality", "0.9")
    for feature in ("F-02", "F-03"):
        out.take(box, "bank", "status", feature, "blocked-capacity", "--note", "no capacity")
    out.take(box, "bank", "status", "F-01")
    assert out.take(box, "bank", "list")["plan"]
    assert out.take(box, "bank", "show", "F-01")["windows"]
    assert out.take(box, "decide")["gates"]["G2"]["features"] == ["F-02", "F-03"]
    out.take(box, "log")


def undocumented(out: Outputs) -> list[str]:
    """Every key printed that its command's docs do not describe, as ``command: path``."""
    in_json_md = json_md_sections()
    stamp, kinds = record_fields()
    missing = set()
    for command, values in out.values.items():
        for value in values:
            if command in ("log", "anomalies"):  # stored records: data-model.md describes them, kind by kind
                known = stamp | kinds.get(value["kind"], set())
                if value["kind"] not in kinds:
                    missing.add(f"{command}: kind {value['kind']} has no section in data-model.md")
                paths = key_paths("record", value)
            else:
                paths = key_paths(command, value)
            for owner, key, path in paths:
                if owner == "record":
                    where = f"{command}: {value['kind']} record: {path}"
                else:
                    known, where = in_json_md.get(owner, set()), f"{owner}: {path}"
                if key not in known:
                    missing.add(where)
    return sorted(missing)


def test_every_json_key_is_described(tracked: Sandbox, tmp_path: Path) -> None:
    out = Outputs()
    drive_a_demo(out, tmp_path / "demo-holder")
    drive_windows(out, tracked, tmp_path)
    drive_sync(out, tracked, tmp_path / "sync")
    drive_overlaps(out, tmp_path / "overlaps" / "repo")
    drive_jobs(out, tmp_path / "jobs" / "repo")
    drive_agent_hooks(out, tracked)
    drive_proxy(out, tmp_path / "proxy" / "repo")
    drive_experiment(out, tmp_path / "experiment" / "repo")
    drive_bank(out, tmp_path / "bank" / "repo")
    assert sorted(out.values) == sorted(JSON_COMMANDS)
    missing = undocumented(out)
    assert not missing, "not described in docs/json.md (records: docs/data-model.md):\n" + "\n".join(missing)
    kinds_seen = {record["kind"] for record in out.values["log"]}
    log_section = command_section(COMMANDS_MD.read_text(), "log")
    assert {kind for kind in kinds_seen if not mentions(log_section, kind)} == set(), "log --kind list in commands.md"


def has_json_option(command: str) -> bool:
    """The command, or one of a group's subcommands (``agent-hooks status``), takes --json."""
    text = help_of(command)
    return "--json" in listed_options(text) or any(
        "--json" in listed_options(help_of(command, sub)) for sub in subcommands(text)
    )


def test_every_command_with_json_output_is_checked() -> None:
    with_json = [command for command in listed_commands(help_of()) if has_json_option(command)]
    assert sorted(with_json) == sorted(JSON_COMMANDS)


# -- samples -------------------------------------------------------------------------------------------


def normalise(text: str, tmp: Path | None = None) -> str:
    """Output with what changes from run to run replaced: ids, commits, times, the temporary folder."""
    if tmp is not None:
        text = text.replace(str(tmp), "/tmp")
    text = re.sub(r"\b[0-9A-HJKMNP-TV-Z]{26}\b", "<id>", text)
    text = re.sub(r"\b[0-9a-f]{40}\b", "<commit>", text)
    text = re.sub(r"\b[0-9a-f]{10}\b", "<short>", text)
    return re.sub(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "<time>", text)


def matches_sample(sample: list[str], actual: list[str]) -> bool:
    """Line by line; a sample line `…` stands for any lines, `...` within a line for any text."""
    if not sample:
        return not actual
    head, rest = sample[0], sample[1:]
    if head.strip() == "…":
        return any(matches_sample(rest, actual[skip:]) for skip in range(len(actual) + 1))
    if not actual:
        return False
    pattern = ".*".join(re.escape(piece) for piece in head.rstrip().split("..."))
    return re.fullmatch(pattern, actual[0].rstrip()) is not None and matches_sample(rest, actual[1:])


def console_steps(block: str) -> list[tuple[str, list[str]]]:
    """The `$ command` lines of a console block, each with the output lines shown under it."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return steps


def test_the_demo_sample_in_commands_md_is_what_demo_prints(tmp_path: Path) -> None:
    section = command_section(COMMANDS_MD.read_text(), "demo")
    (block,) = re.findall(r"(?ms)^```console\n(.*?)^```", section)
    ((command, sample),) = console_steps(block)
    assert command.startswith("git tracker demo /tmp/")
    target = tmp_path / command.split("/tmp/", 1)[1].split()[0]
    done = subprocess.run(
        [*tracker_command(), *command.split()[2:-1], str(target)], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    actual = normalise(done.stdout, tmp_path).splitlines()
    assert matches_sample(sample, actual), "docs/commands.md's demo sample differs from:\n" + "\n".join(actual)


def test_the_readme_walkthrough_runs_as_written_and_prints_what_it_shows(tmp_path: Path) -> None:
    """Every `$` line of the walkthrough, in one shell, in order; each output as the README shows it."""
    readme = README.read_text()
    walkthrough = readme.split("## Five-minute walkthrough", 1)[1].split("\n## ", 1)[0]
    steps = [step for block in re.findall(r"(?ms)^```console\n(.*?)^```", walkthrough) for step in console_steps(block)]
    assert len(steps) >= 10, steps
    script = "".join(f"echo '@@step@@'\n{command}\necho \"@@exit $?@@\"\n" for command, _ in steps)
    # `git tracker` is git finding the installed git-tracker on PATH, as after activating a venv.
    path = f"{Path(tracker_command()[0]).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path}
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env)
    runs = re.findall(r"(?ms)^@@step@@\n(.*?)^@@exit (\d+)@@\n", done.stdout)
    assert len(runs) == len(steps), done.stdout
    failed = [f"$ {command} -> exit {code}" for (command, _), (_, code) in zip(steps, runs, strict=True) if code != "0"]
    assert not failed, "\n".join(failed) + "\n" + done.stderr
    outputs = [output for output, _ in runs]
    differ = []
    for (command, sample), output in zip(steps, outputs, strict=True):
        # The hooks write notes in the background: right after a commit `status` may say some are queued (the
        # README says so under the sample).
        actual = [line for line in normalise(output, tmp_path).splitlines() if "queued for notes" not in line]
        if not matches_sample([normalise(line) for line in sample], actual):
            differ.append(
                f"$ {command}\n  README:\n    " + "\n    ".join(sample) + "\n  got:\n    " + "\n    ".join(actual)
            )
    assert not differ, "\n".join(differ)


# -- the README's first command, in a fresh checkout and venv --------------------------------------------

JUNK = (
    ".git",
    ".venv*",
    ".cache",
    "__pycache__",
    "*_cache",
    ".hypothesis",
    "node_modules",
    "dist",
    "build",
    "*.egg-info",
)


def first_shell_block(text: str) -> str:
    found = re.search(r"(?ms)^```sh\n(.*?)^```", text)
    assert found is not None, "README.md has no ```sh block"
    return found.group(1)


SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def fresh_shell_environment(environ: dict[str, str]) -> dict[str, str]:
    """A new login shell's environment: no venv active, so no git-tracker on PATH until the block makes one.

    Where the system's own Python can make a venv and is recent enough (Debian 12 and later, with python3-venv as
    the README says) only the system folders are on PATH, as on a fresh Debian machine: its python3 refuses
    `pip install` outside a venv ("externally managed"), which is what the README's command must cope with.
    Elsewhere the PATH is this one, less the venv running the tests."""
    python = shutil.which("python3", path=SYSTEM_PATH)
    check = "import ensurepip, sys; sys.exit(sys.version_info < (3, 11))"  # Debian ships ensurepip in python3-venv
    if python is not None and subprocess.run([python, "-c", check]).returncode == 0:
        path = SYSTEM_PATH
    else:
        ours = {str(Path(sys.prefix) / "bin"), str(Path(tracker_command()[0]).parent)}
        path = os.pathsep.join(entry for entry in environ["PATH"].split(os.pathsep) if entry not in ours)
    return {key: value for key, value in environ.items() if key != "VIRTUAL_ENV"} | {"PATH": path}


@pytest.mark.slow
def test_the_readme_first_command_installs_and_runs_the_demo_in_a_fresh_venv(tmp_path: Path) -> None:
    block = first_shell_block(README.read_text())
    assert "git tracker demo" in block, block
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(*JUNK))
    scratch = tmp_path / "tmp"  # where the demo makes its throwaway repository
    scratch.mkdir()
    env = fresh_shell_environment(dict(os.environ)) | {"PIP_CACHE_DIR": REAL_PIP_CACHE, "TMPDIR": str(scratch)}
    assert shutil.which("git-tracker", path=env["PATH"]) is None, "a git-tracker outside the venv would hide a failure"
    done = subprocess.run(["bash", "-c", block], cwd=checkout, env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, f"{block} -> {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert (checkout / ".venv" / "bin" / "git-tracker").is_file()
    out = done.stdout
    # Without a DIRECTORY the throwaway repository is removed after the report, which says so.
    assert re.search(r"^demo repository: a temporary one, removed after this report", out, re.MULTILINE), out
    assert list(scratch.iterdir()) == []
    # The summary agrees with itself: a window opens and closes once, and each closed window has one outcome.
    counts = dict(re.findall(r"^  ([a-z-]+) +(\d+)$", out.split("records:", 1)[1].split("\n\n", 1)[0], re.MULTILINE))
    assert set(counts) == {"anomaly", "completion", "snapshot", "usage", "window-close", "window-open"}, counts
    assert int(counts["usage"]) > 0  # the windows' tokens, ingested from the agents' logs the demo wrote
    rows = {}
    for provider in ("codex", "claude", "glm"):
        row = re.search(rf"^{provider} +(\d+) +[\d.]+(?:%| prompts) +(\d+) +(\d+) +(\d+)$", out, re.MULTILINE)
        assert row is not None, provider
        rows[provider] = [int(value) for value in row.groups()]
    windows = sum(row[0] for row in rows.values())
    assert int(counts["window-open"]) == int(counts["window-close"]) == windows > 0
    assert int(counts["completion"]) == sum(sum(row[1:]) for row in rows.values()) == windows
    assert int(counts["snapshot"]) == 2 * windows
    assert "Efficiency per provider" in out and "git tracker demo DIRECTORY" in out
