"""Privacy on the way out (issue 12): what `ingest` writes, and so what `sync` pushes, names no other repository,
no branch of one, no host, no home directory and no prompt text; every total stays what ccusage (or a plain sum
written here) says it is.

The ledger is searched the way anyone who can read the remote would search it: `git grep` over the
`tracker-ledger` tree of a second clone that got it through `sync` and a bare remote.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gittracker.privacy import Projects, legacy_scope, scope_for, session_for
from gittracker.records import Record
from gittracker.synth import ClaudeSpec, CodexSpec, write_claude_transcripts, write_codex_rollouts
from gittracker.usage import EventTable, aggregate, event, group_rows, window_tokens
from tests.conftest import Sandbox, real_data
from tests.test_ingest import assistant_line, codex_reference, current, reference_days, usage
from tests.test_sync import clone, make_remote, sync

DAY0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
FOREIGN = ("/home/alice/src/secret-project", "/srv/team/payroll-service")
FOREIGN_BRANCHES = ("feature/secret-branch", "hotfix/payroll-leak")
PROMPT = "PLEASE-REFACTOR-THE-PAYROLL-SECRET-42"
# What the shared captures name: another user's home and projects, their branches (see real-data/README.md).
REAL_FOREIGN = (
    "coreyyoung",
    "/Users/",
    "RecruitAI",
    "Desktop/Projects",
    "ui-fixes",
    "ui-work",
    "feature/ofac-production-ready",
    "clean-architecture-phase-1",
    "CLEANROOM",
    "fixture-gen",
)
# The captures' day totals, as ccusage 20.0.24 counts them (real-data/README.md).
REAL_CLAUDE_DAYS = {"2025-10-06": 595_509, "2025-10-27": 210_354, "2025-11-01": 1_201_312, "2026-08-20": 67_698}
REAL_CODEX_DAY = ("2026-08-20", 32_275)


def write_mixed_transcripts(config: Path, repo: Path) -> None:
    """Generated transcripts over this repository (two folders of it) and two other projects, plus one session
    whose prompt text must never leave the logs."""
    here = (str(repo), str(repo / "src" / "api"))
    write_claude_transcripts(
        config, ClaudeSpec(lines=1200, days=3, start=DAY0, projects=here, branches=("main", "topic"))
    )
    write_claude_transcripts(
        config, ClaudeSpec(lines=1200, days=3, start=DAY0, projects=FOREIGN, branches=FOREIGN_BRANCHES, seed=8)
    )
    extra = config / "projects" / "-home-alice-src-secret-project" / "prompted.jsonl"
    prompt = {
        "type": "user",
        "timestamp": "2026-06-02T09:00:00.000Z",
        "cwd": FOREIGN[0],
        "gitBranch": "main",
        "message": {"role": "user", "content": PROMPT},
    }
    extra.write_text(
        json.dumps(prompt)
        + "\n"
        + assistant_line(datetime(2026, 6, 2, 9, 0, 1, tzinfo=UTC), "mp", "rp", usage(7, 11, 13, 17), cwd=FOREIGN[0])
    )


def codex_home_with_real_rollout(home: Path) -> Path:
    """Generated rollouts plus the shared capture, linked in (read from where it is, never copied)."""
    write_codex_rollouts(home, CodexSpec(sessions=2, events=15, start=DAY0, cwd=FOREIGN[1]))
    day = home / "sessions" / "2026" / "08" / "20"
    day.mkdir(parents=True)
    (day / "rollout-2026-08-20T11-16-42-real.jsonl").symlink_to(
        real_data("codex_rollout_0.146.0_exec_weekly_only_margin.jsonl")
    )
    return home


def ccusage_sessions_report(path: Path, repo: Path) -> Path:
    """A ccusage 18 session report: its session ids spell out project folders."""
    rows = [
        {
            "sessionId": "-home-alice-src-secret-project",
            "projectPath": FOREIGN[0],
            "inputTokens": 5,
            "outputTokens": 6,
            "cacheCreationTokens": 7,
            "cacheReadTokens": 8,
            "totalTokens": 26,
            "totalCost": 0.5,
            "lastActivity": "2026-06-02",
            "modelsUsed": [],
        },
        {
            "sessionId": "-" + str(repo).strip("/").replace("/", "-"),
            "projectPath": str(repo),
            "inputTokens": 1,
            "outputTokens": 2,
            "cacheCreationTokens": 3,
            "cacheReadTokens": 4,
            "totalTokens": 10,
            "totalCost": 0.25,
            "lastActivity": "2026-06-02",
            "modelsUsed": [],
        },
    ]
    path.write_text(json.dumps({"sessions": rows}))
    return path


def grep_ledger(where: Path, needle: str, *, word: bool = False) -> str:
    """`git grep` over the ledger's tree, fixed string; the matching lines (empty: none)."""
    import subprocess

    args = ["git", "grep", "-F", "-I", *(["-w"] if word else []), "-e", needle, "refs/heads/tracker-ledger"]
    done = subprocess.run(args, cwd=where, capture_output=True, text=True, check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def day_totals(records: list[dict[str, Any]], origin: str) -> dict[str, int]:
    days: dict[str, int] = defaultdict(int)
    for record in current(records):
        if record["granularity"] == "day" and record["origin"] == origin:
            days[record["period"]] += record["total_tokens"]
    return dict(days)


def test_a_synced_ledger_names_no_other_project_host_home_or_prompt(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    laptop = clone(tmp_path, remote, "laptop")
    claude = tmp_path / "claude"
    write_mixed_transcripts(claude, laptop.path.resolve())
    codex = codex_home_with_real_rollout(tmp_path / "codex")
    real_claude = [real_data("claude_projects_pai"), real_data("claude_projects_margin")]
    dirs = [arg for folder in (claude, *real_claude) for arg in ("--dir", str(folder))]
    laptop.ok("ingest", "claude-logs", *dirs)
    laptop.ok("ingest", "codex-sessions", "--dir", str(codex))
    laptop.ok("ingest", "ccusage", str(ccusage_sessions_report(tmp_path / "sessions.json", laptop.path.resolve())))
    assert sync(laptop)

    desk = clone(tmp_path, remote, "desk", init=False)
    sync(desk)
    records = desk.records("usage")
    assert len(records) == len(laptop.records("usage")) > 0

    home = os.environ["HOME"]
    forbidden = [
        *FOREIGN,
        *FOREIGN_BRANCHES,
        "secret-project",
        "payroll-service",
        PROMPT,
        *REAL_FOREIGN,
        home,
        str(tmp_path),  # every folder read, and this repository's own absolute path, are below it
        str(claude),
        str(codex),
        str(real_claude[0].parent),
    ]
    for needle in forbidden:
        assert grep_ledger(desk.path, needle) == "", f"the pushed ledger holds {needle!r}"
    hostname = os.uname().nodename
    assert grep_ledger(desk.path, hostname, word=True) == "", f"the pushed ledger names the host {hostname!r}"
    assert grep_ledger(desk.path, '"scope"')  # the search itself finds what is there

    # Totals: the claude days equal a plain sum over every transcript, and the captures' ccusage figures.
    expected = reference_days(claude)
    generated = {day: sum(values.values()) for day, values in expected.items()}
    assert day_totals(records, "claude-logs") == {**generated, **REAL_CLAUDE_DAYS}
    inp, out, cached, _ = codex_reference(codex / "sessions" / "2026" / "06")
    codex_days = day_totals(records, "codex-sessions")
    assert codex_days.pop(REAL_CODEX_DAY[0]) == REAL_CODEX_DAY[1]
    assert sum(codex_days.values()) == inp + out + cached
    blocks = sum(r["total_tokens"] for r in current(records) if r["granularity"] == "block")
    assert blocks == sum(r["total_tokens"] for r in current(records) if r["granularity"] == "day")

    # This repository's rows as they were, by folder relative to its work tree; the rest one row per period.
    days = [r for r in current(records) if r["granularity"] == "day" and r["origin"] == "claude-logs"]
    mine = {(r["project"], r["branch"]) for r in days if r["this_repo"]}
    assert mine == {(folder, branch) for folder in (".", "src/api") for branch in ("main", "topic")}
    others = [r for r in days if not r["this_repo"]]
    assert {(r["project"], r["branch"], r["this_repo"]) for r in others} == {(None, None, False)}
    assert len({r["period"] for r in others}) == len(others)  # one merged row per day
    sessions = [r for r in records if r["granularity"] == "session"]
    assert {(r["project"], r["this_repo"], r["total_tokens"]) for r in sessions} == {(None, False, 26), (".", True, 10)}
    assert all(not legacy_scope(r["scope"]) for r in records)


def test_reingesting_adds_nothing_even_without_local_state_or_in_another_clone(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    laptop = clone(tmp_path, remote, "laptop")
    claude = tmp_path / "claude"
    write_mixed_transcripts(claude, tmp_path / "elsewhere")  # no folder of any clone: all of it is "other"
    first = json.loads(laptop.ok("ingest", "claude-logs", "--dir", str(claude), "--json"))
    assert first["records_added"] > 0
    count = len(laptop.records("usage"))
    assert json.loads(laptop.ok("ingest", "claude-logs", "--dir", str(claude), "--json"))["unchanged"]
    shutil.rmtree(laptop.path / ".git" / "tracker" / "ingest")
    again = json.loads(laptop.ok("ingest", "claude-logs", "--dir", str(claude), "--json"))
    assert again["records_added"] == 0 and len(laptop.records("usage")) == count
    # A second clone on this machine, for this user, names the same place: the same records, nothing added.
    sync(laptop)
    second = clone(tmp_path, remote, "second")
    sync(second)
    more = json.loads(second.ok("ingest", "claude-logs", "--dir", str(claude), "--json"))
    assert more["records_added"] == 0 and len(second.records("usage")) == count


def test_the_place_key_is_private_and_the_scope_cannot_be_guessed(tracked: Sandbox, tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    write_claude_transcripts(claude, ClaudeSpec(lines=50, days=1, start=DAY0))
    tracked.ok("ingest", "claude-logs", "--dir", str(claude))
    key_file = Path(os.environ["HOME"]) / ".local" / "state" / "git-tracker" / "place-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_bytes()) == 32
    place = f"{os.uname().nodename}:{os.path.realpath(claude)}"
    (scope,) = {r["scope"] for r in tracked.records("usage")}
    assert scope == scope_for(place, key_file.read_bytes())
    assert scope != scope_for(place, bytes(32))  # a guess of host and folder without the key tells nothing
    assert not (tracked.path / ".git" / "tracker" / "place-key").exists()


# -- merging other projects, as a property -------------------------------------------------------------------

ROOTS = ("/work/repo", "/work/repo/.worktrees/wt")  # the main work tree and a worktree inside it
PROJECTS = (
    None,
    "/work/repo",
    "/work/repo/src",
    "/work/repo/.worktrees/wt",
    "/work/repo/.worktrees/wt/lib",
    "/work/repo-other",  # shares a prefix, is another repository
    "/work/other",
    "/home/u/x",
)
HOUR = 3_600_000
BASE = int(datetime(2026, 3, 28, 20, 0, tzinfo=UTC).timestamp() * 1000)
events = st.lists(
    st.builds(
        lambda key, ms, i, o, project, branch, cost: event(
            f"k{key}", BASE + ms, i, o, 0, i // 3, project, branch, "m", cost
        ),
        st.integers(0, 30),
        st.integers(0, 30 * HOUR),
        st.integers(0, 40),
        st.integers(0, 40),
        st.sampled_from(PROJECTS),
        st.sampled_from([None, "main", "topic"]),
        st.sampled_from([None, 0.5, 1.25]),
    ),
    max_size=40,
)


def relative_by_hand(project: str | None) -> str | None:
    """Independent of ``Projects``: the deepest root the folder is in, and the folder from there."""
    inside = [root for root in ROOTS if project is not None and (project == root or project.startswith(root + "/"))]
    if not inside:
        return None
    return os.path.relpath(project or "", max(inside, key=len))


TOKENS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens", "total_tokens")


@given(events)
def test_merging_other_projects_keeps_every_total(read: list[tuple[str, tuple[Any, ...]]]) -> None:
    rows: dict[str, tuple[Any, ...]] = {}
    for key, row in read:
        rows.setdefault(key, row)
    table = EventTable(rows, group_rows(rows.values()))
    plain = [body for body, _ in aggregate(table)]
    private = [body for body, _ in aggregate(table, label=Projects(ROOTS).label)]

    def sums(bodies: list[dict[str, Any]], pick: Any) -> dict[Any, list[Any]]:
        out: dict[Any, list[Any]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
        for body in bodies:
            at = out[(body["granularity"], body["period"], pick(body))]
            for index, name in enumerate(TOKENS):
                at[index] += body[name]
            # A cost is known when every event's was: a row with an unknown cost makes the sum unknown.
            at[5] = None if at[5] is None or body["cost_usd"] is None else round(at[5] + body["cost_usd"], 6)
        return dict(out)

    # Per period, all rows together: the same totals, token for token.
    assert sums(private, lambda body: None) == sums(plain, lambda body: None)
    # This repository's rows: per relative folder and branch, what the plain rows of those folders add up to.
    ours = sums(
        [b for b in plain if relative_by_hand(b["project"]) is not None],
        lambda body: (relative_by_hand(body["project"]), body["branch"]),
    )
    assert sums([b for b in private if b["this_repo"]], lambda body: (body["project"], body["branch"])) == ours
    # Everything else: one row per period, naming nothing.
    others = [b for b in private if not b["this_repo"]]
    assert all((b["project"], b["branch"], b["this_repo"]) == (None, None, False) for b in others)
    assert len({(b["granularity"], b["period"]) for b in others}) == len(others)
    assert not any(b["project"] and b["project"].startswith("/") for b in private)


# -- a ledger written before this ------------------------------------------------------------------------------


def window_usage(scope: str, tokens: int) -> Record:
    return Record.derived(
        "usage",
        source="ingest",
        agent_id="main",
        machine="aaaaaaaaaaaa",
        ts="2026-06-01T10:00:00.000Z",
        origin="claude-logs",
        provider="claude",
        granularity="window",
        period="2026-06-01T09:00:00.000Z",
        scope=scope,
        project=None,
        branch=None,
        this_repo=None,
        window_id="01J0000000000000000000000W",
        input_tokens=tokens,
        output_tokens=0,
        cache_creation_tokens=0,
        cache_read_tokens=0,
        total_tokens=tokens,
        cost_usd=None,
        models=[],
    )


def test_a_window_read_before_and_after_upgrading_counts_once() -> None:
    old = window_usage("laptop:/home/me/.claude", 100)
    new = window_usage(scope_for("laptop:/home/me/.claude", b"k" * 32), 120)
    desk = window_usage(scope_for("desk:/home/me/.claude", b"d" * 32), 30)
    assert legacy_scope(old["scope"]) and not legacy_scope(new["scope"])
    assert window_tokens([old]) == {"01J0000000000000000000000W": 100}  # only the old name: counted
    assert window_tokens([old, new, desk]) == {"01J0000000000000000000000W": 150}  # read again since: once
    assert session_for("-home-me-app", b"k" * 32).startswith("session:")
