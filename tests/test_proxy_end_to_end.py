"""The proxy from request to ledger: a real mitmdump with the addon in front of a fake upstream, the telemetry it
writes ingested by the installed command, and every stored figure checked against the requests sent."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gittracker import clock
from tests.conftest import Sandbox
from tests.proxytools import (
    Reply,
    Usage,
    capacity_headers,
    error_reply,
    files_under,
    json_reply,
    post,
    sse_events,
    stream_reply,
)
from tests.test_proxy_addon import KEY, PROMPT, SYSTEM, claude_headers, request_body, rig

FIRST = (("0.42", "1796037201"), ("0.17", "1796465601"))
LATER = (("0.45", "1796037201"), ("0.17", "1796465601"))  # the 5-hour meter moved: one more snapshot


def sent(tracked: Sandbox, tmp_path: Path) -> tuple[list[dict[str, Any]], Path]:
    """Five requests through the proxy: plain, streamed, cut off, an error, streamed with new capacity. Returns what
    each one should become as a stored event (less its time and latency) and the telemetry file."""
    haiku = Usage(input=321, output_steps=(54,), cache_creation=12, cache_read=7000)
    glm = Usage(input=1200, output_steps=(5, 11, 23, 40), cache_creation=300, cache_read=4000, start_output=2)
    cut = Usage(input=777, output_steps=(9, 18), cache_read=55)
    later = Usage(input=90, output_steps=(7,))
    cut_events = sse_events("glm-4.6", cut)
    cut_reply = Reply(
        headers=[("content-type", "text/event-stream"), ("request-id", "req_e2e_3")],
        parts=[cut_events[0], cut_events[1], b"".join(cut_events[2:])],
        framing="chunked",
        cut_after=2,
    )

    def ids(number: int, capacity: tuple[tuple[str, str], tuple[str, str]] = FIRST) -> list[tuple[str, str]]:
        return [*capacity_headers(*capacity, "allowed"), ("request-id", f"req_e2e_{number}")]

    agent = "a86f8120a62981bc9"
    plan: list[tuple[str, str, Reply, str | None, dict[str, Any]]] = [
        ("claude-haiku-4-5", "plain", json_reply("claude-haiku-4-5", haiku, headers=ids(1)), None,
         event("haiku", 321, 54, 12, 7000)),
        ("glm-4.6", "stream", stream_reply("glm-4.6", glm, headers=ids(2), seed=5), agent,
         event("glm", 1200, 40, 300, 4000)),
        ("glm-4.6", "cut", cut_reply, agent, event("glm", 777, 1, 0, 55, cut_off=True)),
        ("claude-haiku-4-5", "error", error_reply(529, headers=[("request-id", "req_e2e_4")]), None,
         event("haiku", 0, 0, 0, 0, status=529)),
        ("claude-haiku-4-5", "later", stream_reply("claude-haiku-4-5", later, headers=ids(5, LATER)), None,
         event("haiku", 90, 7, 0, 0)),
    ]  # fmt: skip
    expected = []
    with rig(tmp_path / "proxy") as run:
        for number, (model, key, reply, sub_agent, stored) in enumerate(plan, 1):
            run.upstream.expect(key, reply)
            stream = key != "plain"
            answer = post(run.proxy.port, request_body(model, stream=stream), claude_headers(key, agent=sub_agent))
            assert answer.status == stored["status"]
            expected.append({"trace_id": f"req_e2e_{number}", "subagent_id": sub_agent, "model": model, **stored})
        run.lines(len(plan))
        run.assert_private()
        return expected, run.telemetry


def event(
    provider: str, prompt: int, completion: int, written: int, read: int, *, status: int = 200, cut_off: bool = False
) -> dict[str, Any]:
    """What a request should be stored as (less its trace, agent and model, times and latency)."""
    return {
        "backend_provider": provider,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cache_creation_tokens": written,
        "cache_read_tokens": read,
        "status": status,
        "cut_off": cut_off,
    }


def nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def test_requests_through_a_real_mitmdump_reach_the_ledger_exactly(tracked: Sandbox, tmp_path: Path) -> None:
    tracked.ok("start", "claude", "--used", "10")
    (window,) = [record["window_id"] for record in tracked.records("window-open")]
    expected, telemetry = sent(tracked, tmp_path)
    lines = [json.loads(line) for line in telemetry.read_text().splitlines()]

    done = tracked.tracker("ingest", "proxy-telemetry", str(telemetry), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["windows"] == {window: len(expected)}  # attached by time to the open window

    (batch,) = tracked.records("proxy-batch")
    columns = batch["events"]
    stored = [{name: columns[name][row] for name in columns} for row in range(batch["count"])]
    assert [event["trace_id"] for event in stored] == [event["trace_id"] for event in expected]
    for event, want, line in zip(stored, expected, lines, strict=True):
        assert {name: event[name] for name in want} == want
        assert event["session_id"] == "b073cf51-8c58-45e2-a750-1e781923afe4"
        assert event["latency_ms"] == line["latency_ms"] and event["timestamp"] == line["timestamp"]

    (rollup,) = tracked.records("proxy-rollup")
    latencies = [line["latency_ms"] for line in lines]
    failed = [item for item in expected if item["status"] >= 400 or item["cut_off"]]
    tokens = sum(
        event["prompt_tokens"]
        + event["completion_tokens"]
        + event["cache_creation_tokens"]
        + event["cache_read_tokens"]
        for event in expected
    )
    assert {name: rollup[name] for name in rollup if name.startswith(("total", "glm", "routed", "error"))} == {
        "total_prompts": 5,
        "total_tokens": tokens,
        "glm_prompts": 2,
        "routed_to_glm": 0.4,
        "errors": len(failed),
        "error_rate": len(failed) / 5,
    }
    assert rollup["window_id"] == window and len(failed) == 2
    assert rollup["latency_p50_ms"] == nearest_rank(latencies, 0.5)
    assert rollup["latency_p95_ms"] == nearest_rank(latencies, 0.95)
    assert math.isclose(rollup["latency_mean_ms"], sum(latencies) / 5, abs_tol=0.051)

    snapshots = [record for record in tracked.records("snapshot") if record["phase"] == "mid"]
    readings = [(s["meters"]["five_hour"]["used"], s["meters"]["weekly"]["used"]) for s in snapshots]
    assert readings == [(42.0, 17.0), (45.0, 17.0)]  # the first reading, then the one change
    resets = {s["meters"]["five_hour"]["resets_at"] for s in snapshots}
    assert resets == {clock.format_ts(datetime.fromtimestamp(1796037201, UTC))}

    # The same file again changes nothing; a line cut off at its end is named, and nothing is written.
    tip = tracked.git("rev-parse", "refs/heads/tracker-ledger").strip()
    again = tracked.tracker("ingest", "proxy-telemetry", str(telemetry))
    assert again.returncode == 0 and tracked.git("rev-parse", "refs/heads/tracker-ledger").strip() == tip
    cut_copy = tmp_path / "cut.jsonl"
    cut_copy.write_text(telemetry.read_text() + telemetry.read_text().splitlines()[0][:60])
    refused = tracked.tracker("ingest", "proxy-telemetry", str(cut_copy))
    assert refused.returncode == 2
    assert refused.stderr.strip().startswith(f"git-tracker: {cut_copy}:6: expected a whole line"), refused.stderr
    assert tracked.git("rev-parse", "refs/heads/tracker-ledger").strip() == tip

    # No prompt, system prompt or key anywhere: not in the run's files, not in the ledger.
    ledger = tracked.ok("log", "--json")
    for secret in (PROMPT, SYSTEM, KEY):
        assert secret not in ledger
        for path in files_under(tmp_path):
            assert secret.encode() not in path.read_bytes(), path
