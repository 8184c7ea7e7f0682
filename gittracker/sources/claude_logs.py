"""Claude Code transcripts (``<config>/projects/**/*.jsonl``) as token events.

Where the transcripts are follows Claude Code and ccusage: ``--dir`` when given, else the comma-separated
``CLAUDE_CONFIG_DIR``, else ``~/.config/claude`` and ``~/.claude``; a directory counts when it has a
``projects`` folder. A line counts when its ``message.usage`` has whole-number ``input_tokens`` and
``output_tokens``; streamed responses repeat a line, so events are keyed by (``message.id``,
``requestId``) and the largest usage of a key wins (``usage.EventTable``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gittracker.errors import BadInput
from gittracker.sources.jsonl import BadLine, check_whole, decode_object, epoch_ms
from gittracker.usage import TokenEvent

EXPECTED = (
    "a Claude Code transcript line: a JSON object with timestamp (ISO-8601) and message.usage "
    "{input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens} as whole numbers >= 0"
)
SYNTHETIC_MODEL = "<synthetic>"  # Claude Code's placeholder: its tokens count, but it is not a model


def config_dirs(explicit: Sequence[str] = ()) -> list[Path]:
    if explicit:
        found = [Path(item).expanduser() for item in explicit]
        for folder in found:
            if not (folder / "projects").is_dir():
                raise BadInput(f"--dir {folder}: expected a Claude config directory with a projects/ folder")
        return found
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        candidates = [Path(item.strip()).expanduser() for item in env.split(",") if item.strip()]
        where = "CLAUDE_CONFIG_DIR"
    else:
        home = Path(os.path.expanduser("~"))
        xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        candidates = [xdg / "claude", home / ".claude"]
        where = "~/.config/claude or ~/.claude"
    found = [folder for folder in candidates if (folder / "projects").is_dir()]
    if not found:
        raise BadInput(f"no Claude Code transcripts: expected a projects/ folder in {where} (or pass --dir)")
    return found


def transcript_files(config_dir: Path) -> list[Path]:
    """Every ``*.jsonl`` under ``projects``, in a stable order."""
    files: list[Path] = []
    for root, dirs, names in os.walk(config_dir / "projects"):
        dirs.sort()
        files.extend(Path(root) / name for name in sorted(names) if name.endswith(".jsonl"))
    return files


def parse_line(line: str, fallback_key: str) -> TokenEvent | None:
    """The event one transcript line records, or None for lines that record no usage.

    Raises BadLine for a line that is not a JSON object, or whose usage is malformed. Follows ccusage 20:
    ``usage.cache_creation`` (5-minute plus 1-hour writes), when present, is the cache-creation figure.
    """
    if '"usage"' not in line:
        check_whole(line)  # most lines are prompts, tool output and summaries: never decoded
        return None
    data = decode_object(line)
    message = data.get("message")
    if type(message) is not dict:
        return None
    usage = message.get("usage")
    if usage is None:
        return None  # "usage" was only text inside a prompt or tool output
    if type(usage) is not dict:
        raise BadLine("message.usage to be an object")
    model = message.get("model")
    if model is not None and type(model) is not str:
        raise BadLine("message.model to be a string")
    message_id = message.get("id")
    request_id = data.get("requestId")
    key = f"{message_id}:{request_id}" if type(message_id) is str and type(request_id) is str else fallback_key
    writes = usage.get("cache_creation")
    if type(writes) is dict:
        cache_creation = _tokens(writes, "ephemeral_5m_input_tokens") + _tokens(writes, "ephemeral_1h_input_tokens")
    else:
        cache_creation = _tokens(usage, "cache_creation_input_tokens")
    return TokenEvent(
        key,
        epoch_ms(data.get("timestamp")),
        _tokens(usage, "input_tokens", required=True),
        _tokens(usage, "output_tokens", required=True),
        cache_creation,
        _tokens(usage, "cache_read_input_tokens"),
        _text(data.get("cwd")),
        _text(data.get("gitBranch")),
        model if model != SYNTHETIC_MODEL else None,  # counted, but no model produced it
        _cost(data.get("costUSD")),
    )


def _tokens(usage: dict[str, Any], name: str, *, required: bool = False) -> int:
    value = usage.get(name)
    if value is None and not required:
        return 0
    if type(value) is not int or value < 0:
        raise BadLine(f"message.usage.{name} to be a whole number >= 0, got {json.dumps(value)[:40]}")
    return value


def _cost(value: Any) -> float | None:
    if type(value) in (int, float) and 0 <= value < 1e12:  # 1e999 parses as inf: not a cost
        return float(value)
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value and "\n" not in value and len(value) <= 4096 else None


def parse_counted(number: int, line: str, extra: dict[str, Any], file_key: str) -> tuple[TokenEvent, ...]:
    """``ingest``'s per-line parser: the line's event, if it records one (keyless lines by place)."""
    event = parse_line(line, f"{file_key}#{number}")
    return (event,) if event is not None else ()
