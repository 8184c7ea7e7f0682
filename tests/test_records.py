"""Parsers and records: property tests (never an unexpected exception; round-trips) and exact checks."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gittracker import clock
from gittracker.capacity import from_options, parse_count, parse_percent
from gittracker.errors import BadInput
from gittracker.hookrun import read_mapping, read_queue
from gittracker.noteline import note_line
from gittracker.records import KINDS, SCHEMAS, Record, iter_note_lines, record_path

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def sample(kind: str) -> Record:
    bodies: dict[str, dict[str, Any]] = {
        "snapshot": {
            "provider": "codex",
            "phase": "mid",
            "five_hour_used": 12.5,
            "weekly_used": None,
            "resets_at": "2026-06-01T12:00:00.000Z",
            "weekly_resets_at": None,
            "prompts": None,
            "tokens": 1200,
            "parse_errors": ["multi-pane-trimmed"],
            "window_id": None,
            "meters": {
                "five_hour": {"used": 12.5, "resets_at": "2026-06-01T12:00:00.000Z", "limit_id": "codex"},
                "weekly_sonnet": {"used": 3, "resets_at": None, "limit_id": None},
            },
        },
        "window-open": {
            "window_id": clock.new_id(),
            "provider": "glm",
            "commit_start": None,
            "snapshot_id": clock.new_id(),
            "feature_id": "F-01",
            "methodology": None,
            "note": None,
        },
        "window-close": {
            "window_id": clock.new_id(),
            "provider": "claude",
            "commit_start": "a" * 40,
            "commit_end": "b" * 40,
            "snapshot_id": clock.new_id(),
            "opened_ts": "2026-06-01T10:00:00Z",
            "delta": 15.0,
            "unit": "percent",
            "meter": "five_hour",
            "other_deltas": {"weekly": 2.5, "weekly_opus": None},
            "errors": [],
            "notes": ["late-after"],
            "feature_id": None,
            "methodology": "tdd",
            "note": None,
        },
        "completion": {"window_id": clock.new_id(), "outcome": "partial", "quality_score": 0.5, "feature_id": None},
        "void": {"target_id": clock.new_id(), "reason": "undo-before"},
        "anomaly": {"code": "negative-delta", "window_id": None, "detail": "went down"},
        "resume": {"provider": "codex", "reason": "parser fixed"},
        "usage": {
            "provider": "claude",
            "origin": "claude-logs",
            "granularity": "day",
            "period": "2026-06-01",
            "input_tokens": 1,
            "output_tokens": 2,
            "cache_creation_tokens": 3,
            "cache_read_tokens": 4,
            "total_tokens": 10,
            "cost_usd": None,
            "models": ["claude-sonnet-4-5"],
            "scope": "host:/home/me/.claude",
            "project": "/work/p",
            "branch": "main",
            "this_repo": False,
            "window_id": None,
        },
        "checkpoint": {
            "window_id": clock.new_id(),
            "provider": "codex",
            "phase": "mid",
            "commit": "c" * 40,
            "tokens": None,
            "added": 3,
            "deleted": 1,
            "files": 2,
            "commits": 1,
        },
        "proxy-batch": {
            "window_id": clock.new_id(),
            "count": 2,
            "first_ts": "2026-06-01T10:00:00.000Z",
            "last_ts": "2026-06-01T10:00:01.500Z",
            "events": {
                "trace_id": ["req_1", "gt_2"],
                "timestamp": ["2026-06-01T10:00:00.000Z", "2026-06-01T10:00:01.500Z"],
                "session_id": ["b073cf51-8c58-45e2-a750-1e781923afe4", None],
                "subagent_id": [None, "a86f8120a62981bc9"],
                "backend_provider": ["haiku", "glm"],
                "model": ["claude-haiku-4-5", None],
                "prompt_tokens": [120, 0],
                "completion_tokens": [15, 0],
                "cache_creation_tokens": [30, 0],
                "cache_read_tokens": [400, 0],
                "latency_ms": [411.8, 3.0],
                "status": [200, 529],
                "cut_off": [False, False],
            },
        },
        "feature": {
            "feature_id": "F-01",
            "title": "Export the churn ledger as CSV",
            "size": 3.0,
            "spec": "# F-01\n\nExport the churn ledger.\n",
            "spec_sha256": "0" * 64,
        },
        "feature-status": {"feature_id": "F-01", "status": "blocked-capacity", "note": None},
        "assignment": {
            "seed": 7,
            "providers": ["codex", "glm"],
            "orders": {"F-01": "AB", "F-02": "BA", "F-03": "AB"},
            "odd_one_out": "F-03",
            "replaces": None,
            "reason": None,
        },
        "proxy-rollup": {
            "window_id": clock.new_id(),
            "total_prompts": 2,
            "total_tokens": 565,
            "glm_prompts": 1,
            "routed_to_glm": 0.5,
            "errors": 1,
            "error_rate": 0.5,
            "latency_mean_ms": 207.4,
            "latency_p50_ms": 3.0,
            "latency_p95_ms": 411.8,
        },
    }
    return Record.new(kind, source="cli", agent_id="main", machine="testmachinea", **bodies[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_round_trips(kind: str) -> None:
    record = sample(kind)
    again = Record.from_json(record.to_json())
    assert again == record
    assert again.to_json() == record.to_json()
    assert set(SCHEMAS[kind]) <= set(json.loads(record.to_json()))


@given(st.text(max_size=300))
def test_from_json_on_any_text_raises_only_bad_input(text: str) -> None:
    try:
        Record.from_json(text)
    except BadInput as error:
        assert "\n" not in str(error)


@example({"source": []}, "snapshot")  # found by hypothesis: an unhashable stamp value
@example({"kind": {"a": 1}}, "void")
@given(st.dictionaries(st.text(max_size=15), json_values, max_size=12), st.sampled_from(KINDS))
def test_from_dict_on_any_object_raises_only_bad_input(data: dict[str, Any], kind: str) -> None:
    base = sample(kind).to_dict()
    mixed = {**base, **data}
    try:
        record = Record.from_dict(mixed)
    except BadInput:
        return
    assert Record.from_json(record.to_json()) == record


@given(
    st.sampled_from(KINDS),
    st.sampled_from(["delta", "five_hour_used", "quality_score", "prompts", "ts", "id"]),
    st.sampled_from([math.nan, math.inf, -1, "x", True, 101, 1.5, None, [], {}]),
)
def test_wrong_types_are_refused_with_the_field_named(kind: str, field: str, value: Any) -> None:
    data = sample(kind).to_dict()
    if field not in data:
        return
    data[field] = value
    try:
        Record.from_dict(data)
    except BadInput as error:
        assert field in str(error)


def test_nan_in_json_text_is_refused() -> None:
    text = sample("window-close").to_json().replace('"delta":15.0', '"delta":NaN')
    with pytest.raises(BadInput, match="expected one JSON object"):
        Record.from_json(text)


def test_truncated_json_line_names_where() -> None:
    with pytest.raises(BadInput, match=r"^ledger line 3: expected one JSON object"):
        Record.from_json(sample("void").to_json()[:-5], where="ledger line 3")


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
@example(datetime(2107, 1, 1, 0, 0, 0, 900000, tzinfo=UTC))  # float milliseconds made this 899 (found by hypothesis)
def test_ids_encode_their_time_and_paths_shard_by_day(moment: datetime) -> None:
    record_id = clock.new_id(moment)
    assert abs(clock.id_time(record_id) - moment) < timedelta(milliseconds=1)
    assert record_path(record_id, "snapshot") == f"snapshot/{moment:%Y/%m/%d}/{record_id}.json"


def test_ids_sort_in_creation_order_within_one_millisecond() -> None:
    moment = datetime(2026, 6, 1, tzinfo=UTC)
    ids = [clock.new_id(moment) for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000


@given(st.text(max_size=12))
def test_percent_parser_accepts_exactly_0_to_100(text: str) -> None:
    try:
        value = parse_percent(text, "--used")
    except BadInput as error:
        assert str(error).startswith("--used: expected a percent from 0 to 100")
        return
    assert 0 <= value <= 100 and math.isfinite(value)


@given(st.floats(min_value=0, max_value=100))
def test_left_and_used_agree(value: float) -> None:
    left = from_options(left=repr(value))
    assert left.five_hour_used == pytest.approx(100 - value, abs=1e-6)


@given(st.text(max_size=12))
def test_count_parser(text: str) -> None:
    try:
        value = parse_count(text, "--prompts")
    except BadInput as error:
        assert "--prompts: expected a whole number" in str(error)
        return
    assert value >= 0


@given(st.text(max_size=40))
def test_timestamps_parse_or_fail_clearly(text: str) -> None:
    try:
        moment = clock.parse_ts(text, "--resets-at")
    except BadInput as error:
        assert str(error).startswith("--resets-at: expected an ISO-8601 time")
        return
    assert moment.tzinfo is not None
    assert clock.parse_ts(clock.format_ts(moment)) == moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def test_note_line_is_identical_per_window_and_parses() -> None:
    line = note_line("01J0000000000000000000000A", "codex", "main", "2026-06-01T10:00:00.000Z")
    assert line == note_line("01J0000000000000000000000A", "codex", "main", "2026-06-01T10:00:00.000Z")
    (parsed,) = iter_note_lines(line + "\n\n")
    assert parsed["id"] == "01J0000000000000000000000A" and parsed["v"] == 1


@given(st.text(max_size=200))
def test_note_parser_raises_only_bad_input(text: str) -> None:
    try:
        for data in iter_note_lines(text):
            assert {"v", "id", "ts"} <= set(data)
    except BadInput as error:
        assert "expected a JSON object with v, id, ts" in str(error)


@settings(max_examples=60)
@given(st.lists(st.binary(max_size=80).filter(lambda line: b"\n" not in line), max_size=8))
def test_queue_parser_never_raises_and_keeps_only_well_formed_lines(lines: list[bytes]) -> None:
    import tempfile

    sha = "a" * 40
    good = [
        f"{sha} " + '{"id":"x","ts":"t","v":1}',
        f"copy {sha} {'b' * 40}",
        f"rewrite {'c' * 40} {'d' * 40} amend",
        f"rewrite {'e' * 64} {'f' * 64} rebase",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "queue"
        path.write_bytes(b"\n".join([*lines, *(line.encode() for line in good)]) + b"\n")
        queue = read_queue([path])
    assert '{"id":"x","ts":"t","v":1}' in queue.stamps[sha]
    assert (sha, "b" * 40, "cherry-pick") in queue.rewrites
    assert ("c" * 40, "d" * 40, "amend") in queue.rewrites and ("e" * 64, "f" * 64, "rebase") in queue.rewrites
    assert len(queue.bad) <= len(lines)
    undecodable = sum(1 for line in lines if not _utf8(line))
    assert sum(1 for bad in queue.bad if bad.endswith("not UTF-8")) == undecodable


@settings(max_examples=80)
@given(st.lists(st.binary(max_size=60) | json_values.map(lambda v: json.dumps(v).encode()), max_size=6))
def test_note_reader_never_raises_and_takes_only_our_lines(noise: list[bytes]) -> None:
    from gittracker.churn import parse_note
    from gittracker.records import replaces_line

    window = clock.new_id()
    ours = [note_line(window, "codex", "main", "2026-06-01T10:00:00.000Z"), replaces_line("c" * 40, "amend", "t")]
    # Our lines among noise, repeated and separated by blank lines, as git's concatenate mode leaves them.
    body = b"\n".join([*noise, ours[0].encode(), b"", *noise, ours[1].encode(), ours[0].encode()])
    facts = parse_note(body)
    assert window in facts.windows and "c" * 40 in facts.replaces
    assert all(len(commit) in (40, 64) for commit in facts.replaces)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@given(st.text(max_size=200))
def test_rewrite_mapping_parser(text: str) -> None:
    for old, new in read_mapping(text):
        assert len(old) == len(new) and len(old) in (40, 64)


def test_an_integer_too_big_for_a_float_is_bad_input_not_a_crash() -> None:
    text = sample("window-close").to_json().replace('"delta":15.0', '"delta":1' + "0" * 400)
    with pytest.raises(BadInput, match=r"window-close\.delta: expected a number or null"):
        Record.from_json(text)


@pytest.mark.parametrize(("kind", "added"), [("snapshot", ["meters"]), ("window-close", ["meter", "other_deltas"])])
def test_a_first_schema_record_is_read_without_the_fields_schema_2_added(kind: str, added: list[str]) -> None:
    stored = sample(kind).to_dict()
    for name in added:
        del stored[name]
    with pytest.raises(BadInput, match=f"{kind}.{added[0]}: expected .* missing"):
        Record.from_dict(dict(stored))
    del stored["machine"]  # schema 3's
    old = Record.from_dict({**stored, "schema_version": 1})
    assert old.get(added[0]) is None
    whole = {key: value for key, value in sample(kind).to_dict().items() if key != "machine"}
    with pytest.raises(BadInput, match=f"{kind}.{added[0]}: unexpected in a schema 1 record"):
        Record.from_dict({**whole, "schema_version": 1})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("meters", {"hourly": {"used": 1, "resets_at": None, "limit_id": None}}),
        ("meters", {"weekly": {"used": 101, "resets_at": None, "limit_id": None}}),
        ("meters", {"weekly": {"used": 1, "resets_at": None}}),
        ("meters", {"prompts": {"used": 1, "resets_at": None, "limit_id": None}}),
        ("meters", [1]),
    ],
)
def test_a_snapshot_meter_that_is_not_a_percent_meter_is_refused(field: str, value: Any) -> None:
    stored = {**sample("snapshot").to_dict(), field: value}
    with pytest.raises(BadInput, match=r"snapshot\.meters: expected an object of meter name"):
        Record.from_dict(stored)
