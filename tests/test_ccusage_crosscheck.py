"""`ingest claude-logs` against the real ccusage (npm) on the same generated transcripts, to the token."""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gittracker.synth import ClaudeSpec, write_claude_transcripts
from tests import ccusage_tool
from tests.conftest import Sandbox
from tests.test_ingest import assistant_line, current, usage

FIELDS = {
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "cacheCreationTokens": "cache_creation_tokens",
    "cacheReadTokens": "cache_read_tokens",
}


@pytest.fixture(scope="module")
def ccusage() -> list[str]:
    try:
        return ccusage_tool.native()
    except ccusage_tool.Unavailable as why:
        pytest.skip(f"real ccusage unavailable: {why}")


def run_ccusage(command: list[str], config: Path, *args: str) -> Any:
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(config), "TZ": "UTC"}
    done = subprocess.run(
        [*command, "claude", *args, "--json", "--offline"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def transcripts(tmp_path: Path) -> Path:
    config = tmp_path / "claude"
    write_claude_transcripts(
        config, ClaudeSpec(lines=6000, days=6, start=datetime(2026, 5, 30, 20, tzinfo=UTC), repeat_share=0.25)
    )
    odd = config / "projects" / "-w-odd" / "edge.jsonl"
    odd.parent.mkdir(parents=True)
    midnight = datetime(2026, 6, 1, 23, 59, 59, 999000, tzinfo=UTC)
    lines = [
        assistant_line(midnight, "msg_edge", "req_edge", usage(5, 6, 7, 8)),  # last millisecond of a day
        assistant_line(midnight, "msg_edge", "req_edge", usage(5, 60, 7, 8)),  # the same request, larger
        assistant_line(midnight, "msg_nokey", None, usage(1, 2)),  # no requestId: counted once
    ]
    synthetic = json.loads(assistant_line(midnight, "msg_syn", "req_syn", usage(3, 0)))
    synthetic["message"]["model"] = "<synthetic>"
    lines.append(json.dumps(synthetic, separators=(",", ":")) + "\n")
    odd.write_text("".join(lines))
    return config


def test_daily_totals_agree_with_ccusage_to_the_token(tracked: Sandbox, tmp_path: Path, ccusage: list[str]) -> None:
    config = transcripts(tmp_path)
    tracked.ok("ingest", "claude-logs", "--dir", str(config))
    report = run_ccusage(ccusage, config, "daily", "--timezone", "UTC")
    theirs = {row["date"]: {ours: row[key] for key, ours in FIELDS.items()} for row in report["daily"]}
    mine: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS.values(), 0))
    for record in current(tracked.records("usage")):
        if record["granularity"] == "day":
            for name in FIELDS.values():
                mine[record["period"]][name] += record[name]
    assert len(theirs) >= 6
    assert dict(mine) == theirs
    # Their grand total too, so a day we both missed could not hide.
    assert sum(sum(day.values()) for day in mine.values()) == report["totals"]["totalTokens"]


def test_five_hour_blocks_agree_with_ccusage(tracked: Sandbox, tmp_path: Path, ccusage: list[str]) -> None:
    config = transcripts(tmp_path)
    tracked.ok("ingest", "claude-logs", "--dir", str(config))
    report = run_ccusage(ccusage, config, "blocks")
    theirs = {block["startTime"]: block["totalTokens"] for block in report["blocks"] if not block["isGap"]}
    mine: dict[str, int] = defaultdict(int)
    for record in current(tracked.records("usage")):
        if record["granularity"] == "block":
            mine[record["period"]] += record["total_tokens"]
    assert len(theirs) > 3
    assert dict(mine) == theirs


def test_ingesting_ccusage_own_report_gives_the_same_days(tracked: Sandbox, tmp_path: Path, ccusage: list[str]) -> None:
    config = transcripts(tmp_path)
    report = tmp_path / "daily.json"
    report.write_text(json.dumps(run_ccusage(ccusage, config, "daily", "--timezone", "UTC")))
    tracked.ok("ingest", "ccusage", str(report))
    tracked.ok("ingest", "claude-logs", "--dir", str(config))
    by_origin: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for record in current(tracked.records("usage")):
        if record["granularity"] == "day":
            by_origin[record["origin"]][record["period"]] += record["total_tokens"]
    assert by_origin["ccusage"] == by_origin["claude-logs"] and by_origin["ccusage"]
