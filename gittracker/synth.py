"""Synthetic provider logs in the documented shapes (DESIGN §4), for the demo, the tests and the benches.

Claude Code transcripts: ``<config>/projects/<encoded cwd>/<session>.jsonl``, one JSON object per line
(``type`` user/assistant/summary, ``timestamp``, ``sessionId``, ``cwd``, ``gitBranch``, ``requestId`` and
``message.{id,model,usage}``). Streamed responses repeat an assistant line with the same message id and
request id, which is why readers deduplicate. Codex rollouts: ``<home>/sessions/YYYY/MM/DD/rollout-*.jsonl``
with ``session_meta`` and ``event_msg``/``token_count`` lines carrying cumulative ``total_token_usage``.

Also a ledger's worth of windows as records (``window_ledger``): what months of ``start``/``end``/``complete`` and
``ingest`` would have written, made in process for the report's scale test and bench.

Generation is seeded, so two runs with the same arguments write byte-identical files.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CLAUDE_MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5-20251001")
_WORDS = (
    "refactor the parser so that errors name the line",
    "add a test for the empty repository case",
    "the hook must never block a commit",
    "read the ledger incrementally from the last tip",
    "compute churn with git log numstat",
    "handle detached HEAD gracefully",
)


@dataclass(frozen=True)
class ClaudeSpec:
    """What to generate: ``lines`` transcript lines over ``days`` days from ``start``."""

    lines: int = 2000
    start: datetime = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    days: int = 10
    projects: tuple[str, ...] = ("/work/alpha", "/work/beta")
    branches: tuple[str, ...] = ("main", "feature/x")
    text_bytes: tuple[int, int] = (40, 600)  # message text per line: ~750 bytes a line on average
    repeat_share: float = 0.15  # streamed chunks: an assistant line written again, usage unchanged
    seed: int = 7


def encode_project(cwd: str) -> str:
    """Claude Code's directory name for a project: the path with every non-alphanumeric as '-'."""
    return "".join(char if char.isalnum() else "-" for char in cwd)


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def write_claude_transcripts(config_dir: Path, spec: ClaudeSpec = ClaudeSpec()) -> int:
    """Write transcripts under ``config_dir/projects``; returns the number of lines written."""
    rng = random.Random(spec.seed)
    span = timedelta(days=spec.days).total_seconds()
    step = span / max(spec.lines, 1)
    moment = spec.start
    written = 0
    session = 0
    while written < spec.lines:
        session += 1
        cwd = rng.choice(spec.projects)
        branch = rng.choice(spec.branches)
        session_id = f"{session:08x}-5e55-4d1d-8a1e-{rng.getrandbits(48):012x}"
        folder = config_dir / "projects" / encode_project(cwd)
        folder.mkdir(parents=True, exist_ok=True)
        size = min(rng.randint(40, 400), spec.lines - written)
        common = {"sessionId": session_id, "cwd": cwd, "gitBranch": branch, "version": "2.0.14", "userType": "external"}
        out: list[str] = []
        turn = 0
        while len(out) < size:
            moment += timedelta(seconds=rng.uniform(0.2, 1.8) * step)
            turn += 1
            text = _text(rng, spec.text_bytes)
            if turn % 3 == 1:
                line = {
                    **common,
                    "type": "user",
                    "timestamp": _ts(moment),
                    "uuid": f"u{session}-{turn}",
                    "message": {"role": "user", "content": text},
                }
                out.append(json.dumps(line, separators=(",", ":")))
                continue
            usage = {
                "input_tokens": rng.randint(1, 4000),
                "output_tokens": rng.randint(1, 3000),
                "cache_creation_input_tokens": rng.choice((0, rng.randint(0, 20000))),
                "cache_read_input_tokens": rng.randint(0, 90000),
                "service_tier": "standard",
            }
            message = {
                "id": f"msg_{session:06d}{turn:05d}{rng.getrandbits(32):08x}",
                "type": "message",
                "role": "assistant",
                "model": rng.choice(CLAUDE_MODELS),
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "usage": usage,
            }
            line = {
                **common,
                "type": "assistant",
                "timestamp": _ts(moment),
                "uuid": f"a{session}-{turn}",
                "requestId": f"req_{session:06d}{turn:05d}",
                "message": message,
            }
            encoded = json.dumps(line, separators=(",", ":"))
            out.append(encoded)
            if rng.random() < spec.repeat_share and len(out) < size:
                out.append(encoded)  # a streamed chunk: the same message and request again
        with (folder / f"{session_id}.jsonl").open("w") as handle:
            handle.write("\n".join(out[:size]) + "\n")
        written += min(size, len(out))
    return written


def _text(rng: random.Random, bounds: tuple[int, int]) -> str:
    length = rng.randint(*bounds)
    parts: list[str] = []
    total = 0
    while total < length:
        part = rng.choice(_WORDS)
        parts.append(part)
        total += len(part) + 1
    return " ".join(parts)[:length]


@dataclass(frozen=True)
class CodexSpec:
    sessions: int = 3
    events: int = 20
    start: datetime = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    cwd: str = "/work/alpha"
    seed: int = 11


def write_codex_rollouts(codex_home: Path, spec: CodexSpec = CodexSpec()) -> list[Path]:
    """Rollouts with cumulative token totals and rate-limit readings; duplicates included."""
    rng = random.Random(spec.seed)
    paths = []
    moment = spec.start
    used = 3.0
    for number in range(spec.sessions):
        folder = codex_home / "sessions" / f"{moment:%Y/%m/%d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"rollout-{moment:%Y-%m-%dT%H-%M-%S}-{number:04d}.jsonl"
        totals = {
            "input_tokens": 0,
            "cached_input_tokens": 0,
            "output_tokens": 0,
            "reasoning_output_tokens": 0,
            "total_tokens": 0,
        }
        lines = [
            json.dumps(
                {
                    "timestamp": _ts(moment),
                    "type": "session_meta",
                    "payload": {
                        "id": f"sess-{number}",
                        "cwd": spec.cwd,
                        "cli_version": "0.46.0",
                        "git": {"commit_hash": "0" * 40, "branch": "main"},
                    },
                }
            )
        ]
        for _ in range(spec.events):
            moment += timedelta(seconds=rng.randint(20, 400))
            last = {"input_tokens": rng.randint(500, 9000), "output_tokens": rng.randint(50, 2000)}
            last["cached_input_tokens"] = rng.randint(0, last["input_tokens"])
            last["reasoning_output_tokens"] = rng.randint(0, last["output_tokens"])
            last["total_tokens"] = last["input_tokens"] + last["output_tokens"]
            for key in totals:
                totals[key] += last[key]
            used = min(100.0, used + rng.uniform(0.0, 1.5))
            limits = {
                "primary": {
                    "used_percent": round(used, 1),
                    "window_minutes": 300,
                    "resets_at": int((spec.start + timedelta(hours=5)).timestamp()),
                },
                "secondary": {
                    "used_percent": round(used / 6, 1),
                    "window_minutes": 10080,
                    "resets_at": int((spec.start + timedelta(days=7)).timestamp()),
                },
            }
            event = {
                "timestamp": _ts(moment),
                "type": "event_msg",
                "payload": {
                    "type": "token_count",
                    "info": {
                        "total_token_usage": dict(totals),
                        "last_token_usage": last,
                        "model_context_window": 272000,
                    },
                    "rate_limits": limits,
                },
            }
            lines.append(json.dumps(event))
            if rng.random() < 0.2:
                lines.append(json.dumps(event))  # identical duplicate lines occur
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
        moment += timedelta(minutes=rng.randint(5, 60))
    return paths


LEDGER_START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
FIVE_HOURS = timedelta(hours=5)
Records = list[Any]  # records.Record, imported when used: the transcript writers above need none of it


def window_ledger(windows: int, seed: int = 7, start: datetime = LEDGER_START) -> list[Records]:
    """``windows`` closed, completed windows, in turn claude, codex and glm, each provider's one after another.

    Per window: the before and after snapshots, open, close, completion and (claude and codex) the window's
    tokens as ``ingest`` records them. Claude's and Codex's 5-hour meters climb through each 5-hour block and
    start again at its reset; GLM counts prompts. About a year of windows per 10,000.
    """
    rng = random.Random(seed)
    lanes = {name: _Lane(start) for name in ("claude", "codex", "glm")}
    providers = ("claude", "codex", "glm")
    return [_window(rng, providers[number % 3], lanes[providers[number % 3]]) for number in range(windows)]


@dataclass
class _Lane:
    """One provider's timeline: where its next window opens, and its meters' state."""

    moment: datetime
    block: datetime | None = None  # start of the current 5-hour block
    used: float = 0.0
    weekly: float = 0.0
    week: tuple[int, int] = (0, 0)
    prompts: int = 0


def _window(rng: random.Random, provider: str, lane: _Lane) -> Records:
    from gittracker import clock
    from gittracker.capacity import Reading
    from gittracker.records import Record

    opened = lane.moment
    closed = opened + timedelta(minutes=rng.randint(20, 120))
    lane.moment = closed + timedelta(minutes=rng.randint(10, 240))
    if lane.block is None or opened >= lane.block + FIVE_HOURS:
        lane.block, lane.used = opened, 0.0
    if opened.isocalendar()[:2] != lane.week:  # the weekly meter starts again each ISO week
        lane.week, lane.weekly = opened.isocalendar()[:2], 0.0
    window_id = clock.new_id(opened)
    sha = rng.randbytes(20).hex(), rng.randbytes(20).hex()

    def new(kind: str, moment: datetime, **body: Any) -> Record:
        return Record.new(
            kind, source="cli", agent_id="main", machine="synthmachine", ts=clock.format_ts(moment), **body
        )

    def snapshot(moment: datetime, phase: str) -> Record:
        if provider == "glm":
            reading = Reading(prompts=lane.prompts)
        else:
            resets = clock.format_ts((lane.block or opened) + FIVE_HOURS)
            reading = Reading.of(
                five_hour_used=round(lane.used, 1), weekly_used=round(lane.weekly, 1), resets_at=resets
            )
        fields = reading.snapshot_fields()
        return new("snapshot", moment, provider=provider, phase=phase, window_id=window_id, **fields)

    before = snapshot(opened, "before")
    delta: float = rng.randint(5, 90) if provider == "glm" else round(rng.uniform(2.0, 25.0), 1)
    if provider == "glm":
        lane.prompts += int(delta)
    else:
        delta = min(delta, round(100.0 - lane.used, 1)) or 0.1
        lane.used, lane.weekly = lane.used + delta, min(100.0, lane.weekly + delta * 0.1)
    after = snapshot(closed, "after")
    feature = f"F-{rng.randrange(1, 400):03d}"
    common = {"window_id": window_id, "provider": provider, "feature_id": feature, "methodology": None, "note": None}
    opening = new("window-open", opened, commit_start=sha[0], snapshot_id=before.id, **common)
    unit = "prompts" if provider == "glm" else "percent"
    closing = new(
        "window-close",
        closed,
        commit_start=sha[0],
        commit_end=sha[1],
        snapshot_id=after.id,
        opened_ts=opening.ts,
        delta=float(delta),
        unit=unit,
        meter="prompts" if unit == "prompts" else "five_hour",
        other_deltas={},
        errors=[],
        notes=[],
        **common,
    )
    outcome = rng.choices(("shipped", "partial", "failed"), (0.7, 0.2, 0.1))[0]
    quality = 0.0 if outcome == "failed" else round(rng.uniform(0.5, 1.0), 2)
    judged = new("completion", closed, window_id=window_id, outcome=outcome, quality_score=quality, feature_id=feature)
    records = [before, opening, after, closing, judged]
    if provider != "glm":
        records.append(_window_usage(new, rng, provider, closing, closed))
    return records


def _window_usage(new: Any, rng: random.Random, provider: str, close: Any, moment: datetime) -> Any:
    parts = [rng.randint(10_000, 400_000), rng.randint(2_000, 60_000), rng.randint(0, 80_000), rng.randint(0, 10**6)]
    return new(
        "usage",
        moment,
        provider=provider,
        origin="claude-logs" if provider == "claude" else "codex-sessions",
        granularity="window",
        period=close["opened_ts"],
        input_tokens=parts[0],
        output_tokens=parts[1],
        cache_creation_tokens=parts[2],
        cache_read_tokens=parts[3],
        total_tokens=sum(parts),
        cost_usd=None,
        models=[],
        scope="place:" + rng.randbytes(8).hex(),
        project=None,
        branch=None,
        this_repo=None,
        window_id=close["window_id"],
    )
