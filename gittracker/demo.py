"""``git tracker demo``: a throwaway repository with a few realistic days of windows.

Everything goes through the real machinery: ``git commit`` runs the installed hooks, windows are opened
and closed by the same functions the CLI calls, notes are flushed into ``refs/notes/tracker``. Only the
clock is simulated (``GIT_TRACKER_NOW`` and git's author/committer dates move together). The windows' tokens come
the way a user's do: from the agents' logs (Claude Code transcripts, Codex rollouts, written by ``demologs`` in the
providers' shapes) read by ``ingest claude-logs`` and ``ingest codex-sessions``.

Without a directory the repository is built in a temporary folder and removed once the report is made (about
4 MB each run would otherwise pile up); given a directory, it is kept there to look around in.

The HTML report (``git tracker report``) is written beside it: into the kept directory as ``git-tracker-report.html``
(where ``git tracker report`` run there writes it again), else, the temporary folder being removed, into the current
directory as ``git-tracker-demo-report.html``: a place the user chose by running the command there, and one a later
demo overwrites rather than piling up.
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gittracker import clock
from gittracker.capacity import Reading
from gittracker.context import Context, open_context
from gittracker.demologs import Session, write_logs
from gittracker.files import new_directory, output_file
from gittracker.git import Repo, clean_env
from gittracker.hookrun import queue_files
from gittracker.install import init
from gittracker.state import LocalState
from gittracker.windows import complete, end, start

DEMO_REPORT = "git-tracker-demo-report.html"  # in the current directory, when the demo's repository is temporary
DEMO_START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
# provider -> (capacity used per window: low, high), unit; glm counts prompts
PROFILES = {"codex": (6.0, 18.0), "claude": (8.0, 24.0), "glm": (30.0, 110.0)}
# Weekly percent used per 5-hour percent: the demo's readings show both meters, so preview can price a 5-hour
# percent in subscription dollars (docs/statistics.md).
WEEKLY_PER_5H = {"codex": 0.12, "claude": 0.2}
OUTCOME_WEIGHTS = {"codex": (0.7, 0.2, 0.1), "claude": (0.75, 0.2, 0.05), "glm": (0.55, 0.3, 0.15)}


@contextmanager
def pinned_clock(moment: datetime) -> Iterator[None]:
    previous = os.environ.get("GIT_TRACKER_NOW")
    os.environ["GIT_TRACKER_NOW"] = clock.format_ts(moment)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("GIT_TRACKER_NOW", None)
        else:
            os.environ["GIT_TRACKER_NOW"] = previous


def _git(repo_dir: Path, *args: str, when: datetime | None = None) -> None:
    env = clean_env(
        {
            "AGENT_ID": "main",
            "GIT_AUTHOR_NAME": "Demo Dev",
            "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "Demo Dev",
            "GIT_COMMITTER_EMAIL": "dev@example.com",
        }
    )
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.strftime("%Y-%m-%dT%H:%M:%S+0000")
    subprocess.run(["git", *args], cwd=repo_dir, env=env, check=True, capture_output=True)


def run_demo(directory: str | None = None, seed: int = 7) -> dict[str, Any]:
    """The demo's report; ``repository`` is where it was built, or None when that was a temporary folder, removed
    after the report was made."""
    if directory is not None:
        path = new_directory(directory, "demo DIR")
        path.mkdir(exist_ok=True)
        return _build(path, seed, path / "git-tracker-report.html")
    output_file(DEMO_REPORT, "the demo's report")  # checked before anything is built
    with tempfile.TemporaryDirectory(prefix="git-tracker-demo-") as scratch:
        try:
            report = _build(Path(scratch), seed, Path(DEMO_REPORT))
        finally:
            wait_for_flushers(Path(scratch))
    return {**report, "repository": None}


def wait_for_flushers(repo_dir: Path, timeout: float = 30.0) -> None:
    """Before the folder is removed: the commits' hooks start note flushers in the background, and one still at
    work would write into the folder (and create its directories again) while it is being removed."""
    state = LocalState(repo_dir / ".git" / "tracker")
    deadline = time.monotonic() + timeout
    while (state.flush_marker.exists() or queue_files(state)) and time.monotonic() < deadline:
        time.sleep(0.02)


def _build(repo_dir: Path, seed: int, page: Path) -> dict[str, Any]:
    rng = random.Random(seed)
    # SHA-1 whatever GIT_DEFAULT_HASH says: git-tracker cannot work in a SHA-256 repository.
    _git(repo_dir, "init", "-q", "-b", "main", "--object-format=sha1")
    init(Repo.discover(repo_dir))
    (repo_dir / "README.md").write_text("# demo service\n")
    _git(repo_dir, "add", "-A")
    _git(repo_dir, "commit", "-q", "-m", "initial commit", when=DEMO_START)
    ctx = open_context(repo_dir, agent_id="main", source="automation")
    used = dict.fromkeys(PROFILES, 0.0)
    moment = DEMO_START
    commits = 1
    window_number = 0
    sessions: list[Session] = []
    for day in range(3):
        moment = DEMO_START + timedelta(days=day, hours=1)
        used = {provider: rng.uniform(0, 5) for provider in PROFILES}
        weekly = {provider: 20.0 * day + rng.uniform(0, 5) for provider in WEEKLY_PER_5H}
        for provider in ("codex", "claude", "glm", "codex", "claude"):
            window_number += 1
            feature = f"F-{window_number:02d}"
            opened = moment
            with pinned_clock(moment):
                start(
                    ctx,
                    provider,
                    _reading(provider, used[provider], weekly.get(provider)),
                    feature_id=feature,
                    methodology="plan-first",
                )
            for change in range(rng.randint(1, 4)):
                moment += timedelta(minutes=rng.randint(8, 25))
                path = repo_dir / "src" / f"{provider}_{window_number:02d}_{change}.py"
                path.parent.mkdir(exist_ok=True)
                path.write_text("".join(f"value_{i} = {rng.randint(0, 999)}\n" for i in range(rng.randint(5, 60))))
                _git(repo_dir, "add", "-A")
                _git(repo_dir, "commit", "-q", "-m", f"{feature}: step {change + 1}", when=moment)
                commits += 1
            low, high = PROFILES[provider]
            spent = rng.uniform(low, high)
            after = used[provider] + spent
            if day == 1 and provider == "codex" and window_number % 2 == 1:
                after = used[provider] - 3  # a stale reading from another machine: negative delta
            weekly_after = None
            if provider in weekly:
                share = WEEKLY_PER_5H[provider] * rng.uniform(0.8, 1.2)
                weekly_after = weekly[provider] + max(0.0, after - used[provider]) * share
            moment += timedelta(minutes=5)
            sessions.append(Session(provider, opened, moment, spent))
            with pinned_clock(moment):
                end(ctx, provider, _reading(provider, after, weekly_after))
                outcome = rng.choices(("shipped", "partial", "failed"), OUTCOME_WEIGHTS[provider])[0]
                quality = round(rng.uniform(0.6, 1.0), 2) if outcome != "failed" else 0.0
                complete(ctx, None, outcome, str(quality))
            used[provider] = max(after, used[provider])
            if weekly_after is not None:
                weekly[provider] = weekly_after
            moment += timedelta(minutes=rng.randint(10, 40))
    with pinned_clock(moment):
        _ingest_tokens(ctx, sessions, seed)
    from gittracker.preview import run_preview
    from gittracker.report.build import write_report

    preview = run_preview(ctx)
    written = write_report(ctx, str(page.absolute()))
    return {**_summary(ctx.repo, repo_dir, commits), "preview": preview, "report": str(written.path)}


def _ingest_tokens(ctx: Context, sessions: list[Session], seed: int) -> None:
    """The windows' tokens, as a user gets them: the agents' logs (written here, in a folder removed after) read by
    ``ingest claude-logs`` and ``ingest codex-sessions``."""
    from gittracker.ingest import run as ingest

    with tempfile.TemporaryDirectory(prefix="git-tracker-demo-logs-") as folder:
        claude, codex = write_logs(Path(folder), ctx.repo.toplevel, sessions, seed)
        ingest(ctx, "claude-logs", dirs=(str(claude),))
        ingest(ctx, "codex-sessions", dirs=(str(codex),))


def _reading(provider: str, value: float, weekly: float | None = None) -> Reading:
    value = max(0.0, value)
    if provider == "glm":
        return Reading(prompts=round(value))
    week = None if weekly is None else round(min(weekly, 100.0), 1)
    return Reading.of(five_hour_used=round(min(value, 100.0), 1), weekly_used=week)


def _summary(repo: Repo, repo_dir: Path, commits: int) -> dict[str, Any]:
    from gittracker.records import live_records

    records = repo.read_records()
    kinds = Counter(record.kind for record in records)
    live = live_records(records)
    outcomes = {r["window_id"]: r["outcome"] for r in live if r.kind == "completion"}
    providers: dict[str, dict[str, Any]] = {}
    for record in live:
        if record.kind != "window-close":
            continue
        row = providers.setdefault(
            record["provider"],
            {
                "windows": 0,
                "capacity": 0.0,
                "unit": record["unit"],  # percent or prompts, as the records and preview spell it
                "shipped": 0,
                "partial": 0,
                "failed": 0,
            },
        )
        row["windows"] += 1
        row["capacity"] = round(row["capacity"] + (record["delta"] or 0.0), 1)
        outcome = outcomes.get(record["window_id"])
        if outcome:
            row[outcome] += 1
    stamped = sum(1 for sha in repo.git("rev-list", "HEAD").split() if repo.note_text(sha))
    return {
        "repository": str(repo_dir),
        "records": dict(kinds),
        "providers": providers,
        "anomalies": kinds.get("anomaly", 0),
        "commits": commits,
        "stamped_commits": stamped,
    }
