"""Synthetic provider logs in the documented shapes (DESIGN §4), for the demo, the tests and the benches.

Claude Code transcripts: ``<config>/projects/<encoded cwd>/<session>.jsonl``, one JSON object per line
(``type`` user/assistant/summary, ``timestamp``, ``sessionId``, ``cwd``, ``gitBranch``, ``requestId`` and
``message.{id,model,usage}``). Streamed responses repeat an assistant line with the same message id and
request id, which is why readers deduplicate. Codex rollouts: ``<home>/sessions/YYYY/MM/DD/rollout-*.jsonl``
with ``session_meta`` and ``event_msg``/``token_count`` lines carrying cumulative ``total_token_usage``.

Generation is seeded, so two runs with the same arguments write byte-identical files.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
