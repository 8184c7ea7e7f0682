"""The demo's provider logs: Claude Code transcripts and Codex rollouts for its windows, in the shapes the providers
write them (docs/ingest.md), so that ``git tracker demo`` gives its windows tokens the way a user's ledger gets them,
through ``ingest claude-logs`` and ``ingest codex-sessions``.

Each window is one session: a handful of assistant turns spread over the window's span, in this repository's work
tree. A window's tokens follow the capacity it used (tokens per 1 % of the 5-hour meter, a few percent of noise drawn
from the demo's seed), so the "tokens per 1 % of capacity" chart has something true to say and no window strays far
enough from its provider's median to be marked divergent. No prompt or answer text is written: only what ``ingest``
reads (times, token counts, models, the folder and branch).
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

# Tokens per 1 % of the 5-hour meter, before noise: most of them cache reads, as agentic sessions go.
TOKENS_PER_PERCENT = {"claude": 800_000, "codex": 350_000}
# Each window's tokens are its capacity times the rate above times 1 ± NOISE. With deltas rounded to 0.1 % on
# windows of 6 % or more, no window then differs from its provider's median by more than 10 % (ingest's default
# divergence threshold), whatever the seed.
NOISE = 0.03
MODELS = {"claude": "claude-sonnet-4-5-20250929", "codex": "gpt-5-codex"}
TURNS = (4, 12)  # assistant turns per window


@dataclass(frozen=True)
class Session:
    """The agent's work in one window: its provider, its span, and the capacity percent it used."""

    provider: str
    opened: datetime
    closed: datetime
    percent: float


def write_logs(folder: Path, repo_dir: Path, sessions: list[Session], seed: int) -> tuple[Path, Path]:
    """Write every session's log under ``folder``; returns the Claude config directory and the Codex home, as
    ``ingest claude-logs --dir`` and ``ingest codex-sessions --dir`` take them."""
    rng = random.Random(f"demo-tokens-{seed}")  # apart from the demo's own draws, which it leaves unchanged
    claude, codex = folder / "claude", folder / "codex"
    (claude / "projects").mkdir(parents=True)
    (codex / "sessions").mkdir(parents=True)
    for session in sessions:
        if session.provider not in TOKENS_PER_PERCENT:
            continue  # glm counts prompts, and no log of it is read
        turns = _turns(session, rng)
        ident = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if session.provider == "claude":
            _write_transcript(claude, repo_dir, ident, turns, rng)
        else:
            _write_rollout(codex, repo_dir, ident, session.opened, turns)
    return claude, codex


def _turns(session: Session, rng: random.Random) -> list[tuple[datetime, int]]:
    """The session's turns: times spread evenly inside the window, and the tokens of each."""
    total = session.percent * TOKENS_PER_PERCENT[session.provider] * rng.uniform(1 - NOISE, 1 + NOISE)
    count = rng.randint(*TURNS)
    weights = [rng.uniform(0.5, 1.5) for _ in range(count)]
    span = (session.closed - session.opened) - timedelta(minutes=1)
    times = [session.opened + timedelta(seconds=30) + span * (i + 0.5) / count for i in range(count)]
    return [(moment, round(total * weight / sum(weights))) for moment, weight in zip(times, weights, strict=True)]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _write_transcript(
    config: Path, repo_dir: Path, session_id: str, turns: list[tuple[datetime, int]], rng: random.Random
) -> None:
    """A Claude Code transcript: ``projects/<the folder, slashes as dashes>/<session id>.jsonl``, one assistant line
    per turn, its ``message.usage`` split as a cached agentic turn's is."""
    project = config / "projects" / str(repo_dir).replace("/", "-")
    project.mkdir(exist_ok=True)
    lines = []
    for number, (moment, tokens) in enumerate(turns):
        output, fresh, writes = round(tokens * 0.02), round(tokens * 0.005), round(tokens * 0.06)
        line: dict[str, Any] = {
            "type": "assistant",
            "timestamp": _stamp(moment),
            "sessionId": session_id,
            "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "cwd": str(repo_dir),
            "gitBranch": "main",
            "version": "2.0.14",
            "requestId": f"req_{session_id[:8]}{number:04d}",
            "message": {
                "id": f"msg_{session_id[-12:]}{number:04d}",
                "type": "message",
                "role": "assistant",
                "model": MODELS["claude"],
                "content": [],
                "usage": {
                    "input_tokens": fresh,
                    "output_tokens": output,
                    "cache_creation_input_tokens": writes,
                    "cache_read_input_tokens": tokens - output - fresh - writes,
                },
            },
        }
        lines.append(json.dumps(line))
    (project / f"{session_id}.jsonl").write_text("\n".join(lines) + "\n")


def _write_rollout(
    home: Path, repo_dir: Path, session_id: str, opened: datetime, turns: list[tuple[datetime, int]]
) -> None:
    """A Codex rollout: ``sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`` with its ``session_meta`` and
    ``turn_context`` lines, then a ``token_count`` event per turn carrying the session's running total and the
    turn's own usage (Codex's input tokens include the cached ones). No rate limits: the demo's readings are typed."""
    folder = home / "sessions" / opened.strftime("%Y/%m/%d")
    folder.mkdir(parents=True, exist_ok=True)
    lines: list[dict[str, Any]] = [
        {
            "timestamp": _stamp(opened),
            "type": "session_meta",
            "payload": {
                "id": session_id,
                "timestamp": _stamp(opened),
                "cwd": str(repo_dir),
                "originator": "codex_cli_rs",
                "cli_version": "0.46.0",
                "git": {"branch": "main"},
            },
        },
        {
            "timestamp": _stamp(opened),
            "type": "turn_context",
            "payload": {"cwd": str(repo_dir), "model": MODELS["codex"]},
        },
    ]
    running = dict.fromkeys(("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens"), 0)
    for moment, tokens in turns:
        output = round(tokens * 0.025)
        turn = {
            "input_tokens": tokens - output,
            "cached_input_tokens": round((tokens - output) * 0.9),
            "output_tokens": output,
            "reasoning_output_tokens": round(output * 0.4),
        }
        running = {name: running[name] + value for name, value in turn.items()}
        info = {
            "total_token_usage": {**running, "total_tokens": running["input_tokens"] + running["output_tokens"]},
            "last_token_usage": {**turn, "total_tokens": tokens},
            "model_context_window": 272_000,
        }
        payload = {"type": "token_count", "info": info, "rate_limits": None}
        lines.append({"timestamp": _stamp(moment), "type": "event_msg", "payload": payload})
    name = f"rollout-{opened.strftime('%Y-%m-%dT%H-%M-%S')}-{session_id}.jsonl"
    (folder / name).write_text("".join(json.dumps(line) + "\n" for line in lines))
