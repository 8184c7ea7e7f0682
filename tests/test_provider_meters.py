"""Issue 10, the providers' own data: every meter Codex rollouts and the Claude status line show.

The rollouts are written here from the documented shapes (DESIGN §4, codex_logs' docstring): one
``token_count`` line per limit, the account's (``limit_id`` ``codex``) or a model bucket's
(``codex_bengalfox``, ``limit_name`` ``GPT-5.3-Codex-Spark``), windows told apart by ``window_minutes``.
One test reads the real capture of a weekly-only plan in ``../shared/real-data/`` (copied only into a
temporary directory).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gittracker.capacity import Meter, Reading, binding_meter, meter_model
from gittracker.errors import BadInput
from gittracker.sources import codex_logs
from gittracker.sources.codex_logs import latest_rate_limits
from gittracker.sources.statusline import parse_statusline
from tests.conftest import Sandbox, real_data, tracker_command

NOW = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
REAL_ROLLOUT = "codex_rollout_0.146.0_exec_weekly_only_margin.jsonl"
SPARK: dict[str, Any] = {"limit_id": "codex_bengalfox", "limit_name": "GPT-5.3-Codex-Spark"}


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def window(used: float, minutes: int, resets: datetime | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {"used_percent": used, "window_minutes": minutes}
    if resets is not None:
        shown["resets_at"] = epoch(resets)
    return shown


def limits_line(
    moment: datetime,
    primary: dict[str, Any] | None,
    secondary: dict[str, Any] | None = None,
    *,
    limit_id: str | None = "codex",
    limit_name: str | None = None,
    info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A token_count line as Codex 0.146 writes it (credits and plan fields included, and ignored)."""
    limits = {
        "limit_id": limit_id,
        "limit_name": limit_name,
        "primary": primary,
        "secondary": secondary,
        "credits": {"has_credits": False, "unlimited": False, "balance": "0"},
        "plan_type": "pro",
    }
    return {
        "timestamp": stamp(moment),
        "type": "event_msg",
        "payload": {"type": "token_count", "info": info, "rate_limits": limits},
    }


def spark_line(moment: datetime, five: float, week: float, resets: datetime, week_resets: datetime) -> dict[str, Any]:
    return limits_line(moment, window(five, 300, resets), window(week, 10080, week_resets), **SPARK)


def meta_line(moment: datetime, cwd: str = "/work/alpha") -> dict[str, Any]:
    return {"timestamp": stamp(moment), "type": "session_meta", "payload": {"id": "s", "cwd": cwd}}


def write_rollout(home: Path, name: str, lines: list[dict[str, Any]], *, append: bool = False) -> Path:
    """A rollout under sessions/YYYY/MM/DD of its first line's day, its mtime the last line's time (as Codex
    leaves it)."""
    day = str(lines[0]["timestamp"])[:10].replace("-", "/")
    folder = home / "sessions" / day
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"rollout-{name}.jsonl"
    with path.open("a" if append else "w") as handle:
        handle.write("".join(json.dumps(line) + "\n" for line in lines))
    last = datetime.fromisoformat(lines[-1]["timestamp"].replace("Z", "+00:00"))
    os.utime(path, (last.timestamp(), last.timestamp()))
    return path


def at_now(moment: datetime) -> dict[str, str]:
    return {"GIT_TRACKER_NOW": stamp(moment)}


# --- Codex rollouts: the meters of one reading ------------------------------------------------------------


def test_meters_are_told_apart_by_window_minutes_with_their_limit_id(tmp_path: Path) -> None:
    resets = {minutes: NOW + timedelta(minutes=minutes // 2) for minutes in (300, 1440, 10080, 43200, 44640)}
    cases = [
        # (primary, secondary) -> meters, whatever the slot
        ((window(30, 10080, resets[10080]), window(5, 300, resets[300])), {"five_hour": 5.0, "weekly": 30.0}),
        ((window(7, 1440, resets[1440]), None), {"daily": 7.0}),
        ((window(61, 43200, resets[43200]), window(2, 302, resets[300])), {"five_hour": 2.0, "monthly": 61.0}),
        ((None, window(62, 44640, resets[44640])), {"monthly": 62.0}),
    ]
    for number, ((primary, secondary), expected) in enumerate(cases):
        home = tmp_path / f"home{number}"
        write_rollout(home, "a", [meta_line(NOW - HOUR), limits_line(NOW - MINUTE, primary, secondary)])
        reading = latest_rate_limits(home, NOW, HOUR)
        assert {meter.name: meter.used for meter in reading.meters} == expected, number
        assert {meter.limit_id for meter in reading.meters} == {"codex"}
        assert reading.parse_errors == ()
    home = tmp_path / "odd"
    write_rollout(home, "a", [limits_line(NOW - MINUTE, window(9, 60), window(33, 10080, resets[10080]))])
    reading = latest_rate_limits(home, NOW, HOUR)
    assert reading.meters == (Meter("weekly", 33.0, stamp(resets[10080]), "codex"),)
    assert reading.parse_errors == ("unknown-window-minutes:60",)  # on the line, not read: said, not dropped


def test_weekly_only_plan_reads_the_weekly_meter_alone(tmp_path: Path) -> None:
    resets = NOW + 3 * 24 * HOUR
    write_rollout(tmp_path, "w", [meta_line(NOW - HOUR), limits_line(NOW - 2 * MINUTE, window(37, 10080, resets))])
    reading = latest_rate_limits(tmp_path, NOW, HOUR)
    assert reading.meters == (Meter("weekly", 37.0, stamp(resets), "codex"),)
    assert reading.five_hour_used is None and binding_meter("codex", reading, reading) == "weekly"


def real_capture_home(root: Path) -> Path:
    source = real_data(REAL_ROLLOUT)
    folder = root / "codex-real" / "sessions" / "2026" / "08" / "20"
    folder.mkdir(parents=True)
    shutil.copyfile(source, folder / "rollout-2026-08-20T11-16-42-real.jsonl")
    home: Path = root / "codex-real"
    return home


def test_the_real_weekly_only_capture(tmp_path: Path) -> None:
    """Codex 0.146.0, a weekly-only plan: 4 % of the week used, resetting 2026-08-27 05:55 UTC (its README)."""
    home = real_capture_home(tmp_path)
    reading = latest_rate_limits(home, datetime(2026, 8, 20, 11, 20, tzinfo=UTC), HOUR)
    assert reading.meters == (Meter("weekly", 4.0, "2026-08-27T05:55:10.000Z", "codex"),)
    assert reading.parse_errors == ()
    readings = [item.reading for item in codex_logs.iter_readings(next(home.rglob("*.jsonl")))]
    assert len(readings) == 2 and {reading.names()[0] for reading in readings} == {"weekly"}


# --- Codex rollouts: model buckets ----------------------------------------------------------------------


def test_a_bucket_joins_the_account_readings_of_its_session_only(tmp_path: Path) -> None:
    five_resets, week_resets = NOW + 2 * HOUR, NOW + 3 * 24 * HOUR
    spark_resets = NOW + 4 * HOUR

    def account(moment: datetime, five: float, week: float) -> dict[str, Any]:
        return limits_line(moment, window(five, 300, five_resets), window(week, 10080, week_resets))

    path = write_rollout(
        tmp_path,
        "spark",
        [
            meta_line(NOW - HOUR),
            spark_line(NOW - 50 * MINUTE, 3, 1, spark_resets, week_resets),  # before any account line
            account(NOW - 40 * MINUTE, 10, 20),
            spark_line(NOW - 30 * MINUTE, 9, 2, spark_resets, week_resets),
            account(NOW - 20 * MINUTE, 12, 21),
        ],
    )
    readings = list(codex_logs.iter_readings(path))
    shown = [{meter.name: meter.used for meter in item.reading.meters} for item in readings]
    assert shown == [
        {"five_hour": 10, "weekly": 20, "five_hour_gpt_5_3_codex_spark": 3, "weekly_gpt_5_3_codex_spark": 1},
        {"five_hour": 10, "weekly": 20, "five_hour_gpt_5_3_codex_spark": 9, "weekly_gpt_5_3_codex_spark": 2},
        {"five_hour": 12, "weekly": 21, "five_hour_gpt_5_3_codex_spark": 9, "weekly_gpt_5_3_codex_spark": 2},
    ]
    last = readings[-1].reading
    assert {meter.limit_id for meter in last.meters if meter_model(meter.name)} == {"codex_bengalfox"}
    assert {meter.limit_id for meter in last.meters if not meter_model(meter.name)} == {"codex"}
    # A bucket is never the account's meter: the binding meter of two such readings is the account's 5-hour one.
    assert binding_meter("codex", readings[0].reading, last) == "five_hour"
    # --auto reads the same: the newest account line, with the bucket its session reported before it...
    assert latest_rate_limits(tmp_path, NOW, HOUR) == last
    # ...and a bucket reported after it, the newer figure; the age is still the account line's.
    write_rollout(tmp_path, "spark", [spark_line(NOW - 5 * MINUTE, 15, 4, spark_resets, week_resets)], append=True)
    newer = latest_rate_limits(tmp_path, NOW, HOUR)
    assert (newer.used("five_hour"), newer.used("five_hour_gpt_5_3_codex_spark")) == (12, 15)
    with pytest.raises(BadInput, match=r"from 2026-06-03T09:40:00\.000Z, older than 15m"):
        latest_rate_limits(tmp_path, NOW, 15 * MINUTE)


def test_a_bucket_alone_or_in_another_session_is_no_account_reading(tmp_path: Path) -> None:
    resets = NOW + 4 * HOUR
    write_rollout(tmp_path, "only", [spark_line(NOW - 2 * MINUTE, 50, 60, resets, resets + 24 * HOUR)])
    with pytest.raises(BadInput, match="no Codex rate-limit reading"):
        latest_rate_limits(tmp_path, NOW, HOUR)
    write_rollout(tmp_path, "other", [limits_line(NOW - 3 * MINUTE, window(10, 300, resets))])
    reading = latest_rate_limits(tmp_path, NOW, HOUR)
    assert reading.names() == ["five_hour"]  # the bucket of the other session is not carried across


def test_a_bucket_is_carried_only_while_it_can_be_current(tmp_path: Path) -> None:
    week_resets = NOW + 3 * 24 * HOUR
    named_by_id: dict[str, Any] = {"limit_id": "codex_other", "limit_name": None}
    path = write_rollout(
        tmp_path,
        "fresh",
        [
            # its 5-hour reset passes before the account line; its week does not
            spark_line(NOW - 7 * HOUR, 30, 5, NOW - 6 * HOUR, week_resets),
            # no reset times: the 5-hour figure lasts five hours from when it was reported, the week's a week
            limits_line(NOW - 6 * HOUR, window(1, 300), window(2, 10080), **named_by_id),
            limits_line(NOW - 10 * MINUTE, window(11, 300, NOW + HOUR), window(22, 10080, week_resets)),
        ],
    )
    last = list(codex_logs.iter_readings(path))[-1].reading
    assert {meter.name: meter.used for meter in last.meters} == {
        "five_hour": 11,
        "weekly": 22,
        "weekly_gpt_5_3_codex_spark": 5,
        "weekly_codex_other": 2,  # limit_name null: the limit_id names the meter
    }


account_or_bucket = st.tuples(
    st.sampled_from([None, "codex", "codex_bengalfox", "premium"]),
    st.lists(st.tuples(st.sampled_from([300, 1440, 10080, 43200]), st.floats(0, 100)), min_size=1, max_size=2),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(account_or_bucket, min_size=1, max_size=8))
def test_any_session_keeps_the_account_meters_to_the_account_lines(lines: list[tuple[Any, Any]]) -> None:
    """For any sequence of account and bucket lines in one rollout, every reading's account meters are exactly
    the latest account line's, and every other meter is named for a model."""
    rows = []
    for number, (limit_id, windows) in enumerate(lines):
        shown = [window(used, minutes, NOW + 30 * 24 * HOUR) for minutes, used in windows]
        rows.append(limits_line(NOW + number * MINUTE, *shown, limit_id=limit_id))
    with tempfile.TemporaryDirectory() as folder:
        path = write_rollout(Path(folder), "p", rows)
        readings = list(codex_logs.iter_readings(path))
    latest_account: dict[str, float] | None = None
    expected_count = 0
    for limit_id, windows in lines:
        if limit_id in (None, "codex"):
            latest_account = {}
            for minutes, used in windows:
                name = {300: "five_hour", 1440: "daily", 10080: "weekly", 43200: "monthly"}[minutes]
                latest_account.setdefault(name, used)
        if latest_account is not None:
            expected_count += 1
    assert len(readings) == expected_count
    for item in readings:
        account = {meter.name: meter.used for meter in item.reading.meters if meter_model(meter.name) is None}
        assert all(meter.limit_id not in (None, "codex") for meter in item.reading.meters if meter_model(meter.name))
        assert account  # a reading always has the account's meters
    if readings:
        final = readings[-1].reading
        assert {m.name: m.used for m in final.meters if meter_model(m.name) is None} == latest_account


# --- Acceptance: windows through the installed CLI ---------------------------------------------------------


def test_weekly_only_codex_auto_window(tracked: Sandbox, tmp_path: Path) -> None:
    home = tmp_path / "codex"
    resets = NOW + 3 * 24 * HOUR
    write_rollout(
        home, "w", [meta_line(NOW - HOUR, str(tracked.path)), limits_line(NOW - 3 * MINUTE, window(37, 10080, resets))]
    )
    env = {"CODEX_HOME": str(home), **at_now(NOW)}
    started = tracked.tracker("start", "codex", "--auto", env=env)
    assert started.returncode == 0, started.stderr
    tracked.commit()
    later = NOW + 40 * MINUTE
    write_rollout(home, "w", [limits_line(later, window(41.5, 10080, resets + timedelta(seconds=1)))], append=True)
    tracked.ok("end", "codex", "--auto", env={**env, **at_now(later + MINUTE)})
    before, after = tracked.records("snapshot")
    assert before["meters"] == {"weekly": {"used": 37.0, "resets_at": stamp(resets), "limit_id": "codex"}}
    assert (before["five_hour_used"], before["weekly_used"]) == (None, 37.0)
    assert after["meters"]["weekly"]["used"] == 41.5
    (close,) = tracked.records("window-close")
    assert (close["meter"], close["delta"], close["other_deltas"], close["errors"]) == ("weekly", 4.5, {}, [])


def test_weekly_only_typed_weekly_window(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--weekly", "37", env=at_now(NOW))
    tracked.commit()
    tracked.ok("end", "codex", "--weekly", "39.25", env=at_now(NOW + HOUR))
    (close,) = tracked.records("window-close")
    assert (close["meter"], close["delta"], close["other_deltas"]) == ("weekly", 2.25, {})


def test_five_hour_and_weekly_account_with_a_bucket(tracked: Sandbox, tmp_path: Path) -> None:
    home = tmp_path / "codex"
    five_resets, week_resets, spark_resets = NOW + 2 * HOUR, NOW + 3 * 24 * HOUR, NOW + 4 * HOUR

    def account(moment: datetime, five: float, week: float) -> dict[str, Any]:
        return limits_line(moment, window(week, 10080, week_resets), window(five, 300, five_resets))

    write_rollout(
        home,
        "b",
        [
            meta_line(NOW - HOUR),
            spark_line(NOW - 9 * MINUTE, 2, 1, spark_resets, week_resets),
            account(NOW - 3 * MINUTE, 12, 30),
        ],
    )
    env = {"CODEX_HOME": str(home), **at_now(NOW)}
    tracked.ok("start", "codex", "--auto", env=env)
    tracked.commit()
    later = NOW + 40 * MINUTE
    write_rollout(
        home,
        "b",
        [spark_line(later - 5 * MINUTE, 6, 1.5, spark_resets, week_resets), account(later, 19.5, 31)],
        append=True,
    )
    tracked.ok("end", "codex", "--auto", env={**env, **at_now(later + MINUTE)})
    (close,) = tracked.records("window-close")
    assert (close["meter"], close["delta"]) == ("five_hour", 7.5)
    assert close["other_deltas"] == {
        "weekly": 1.0,
        "five_hour_gpt_5_3_codex_spark": 4.0,
        "weekly_gpt_5_3_codex_spark": 0.5,
    }


def test_real_capture_through_the_cli(tracked: Sandbox, tmp_path: Path) -> None:
    home = real_capture_home(tmp_path)
    env = {"CODEX_HOME": str(home), "GIT_TRACKER_NOW": "2026-08-20T11:20:00.000Z"}
    tracked.ok("start", "codex", "--auto", env=env)
    (before,) = tracked.records("snapshot")
    assert before["meters"] == {"weekly": {"used": 4.0, "resets_at": "2026-08-27T05:55:10.000Z", "limit_id": "codex"}}
    tracked.ok("undo", "codex", env=env)
    out = json.loads(tracked.ok("ingest", "codex-sessions", "--dir", str(home), "--json", env=env))
    assert out["snapshots_added"] == 1  # two readings one second apart: one snapshot
    (mid,) = [r for r in tracked.records("snapshot") if r["phase"] == "mid"]
    assert mid["ts"] == "2026-08-20T11:16:51.257Z"  # the first of the two; the second's reset is a second earlier
    assert mid["meters"] == {"weekly": {"used": 4.0, "resets_at": "2026-08-27T05:55:11.000Z", "limit_id": "codex"}}
    days = [r for r in tracked.records("usage") if r["granularity"] == "day"]
    totals = [sum(d[name] for d in days) for name in ("input_tokens", "cache_read_tokens", "output_tokens")]
    assert totals == [17045, 15104, 126]


# --- ingest codex-sessions: one snapshot per change ---------------------------------------------------------


def reading_rows(moment: datetime, five: float, week: float, jitter: int = 0) -> dict[str, Any]:
    """An account reading whose reset times Codex recomputed (``jitter`` seconds off)."""
    base = datetime(2026, 6, 1, 13, 0, tzinfo=UTC) + timedelta(seconds=jitter)
    return limits_line(moment, window(five, 300, base), window(week, 10080, base + 6 * 24 * HOUR))


def changes(readings: Sequence[tuple[datetime, float, float, int]]) -> list[tuple[str, float, float]]:
    """Independent: in time order, a reading is kept unless its percents equal the last kept one's and its reset
    times are within a minute of that one's."""
    kept: list[tuple[datetime, float, float, int]] = []
    for item in sorted(readings, key=lambda row: row[0]):
        if kept and (kept[-1][1], kept[-1][2]) == (item[1], item[2]) and abs(kept[-1][3] - item[3]) <= 60:
            continue
        kept.append(item)
    return [(stamp(moment), five, week) for moment, five, week, _ in kept]


def mids(box: Sandbox) -> list[tuple[str, float, float]]:
    found = [r for r in box.records("snapshot") if r["phase"] == "mid"]
    return sorted((r["ts"], r["five_hour_used"], r["weekly_used"]) for r in found)


DAY = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def test_ingest_writes_a_snapshot_per_change(tracked: Sandbox, tmp_path: Path) -> None:
    home = tmp_path / "codex"
    series = [(0, 10, 20, 0), (1, 10, 20, 1), (2, 10, 20, -1), (3, 10, 20, 30), (4, 11, 20, 30), (5, 11, 20, 31),
              (6, 11, 20, 200), (7, 11, 21, 200), (8, 10, 20, 0)]  # fmt: skip
    readings = [(DAY + i * MINUTE, five, week, jitter) for i, five, week, jitter in series]
    lines = [meta_line(DAY - MINUTE), *(reading_rows(*item) for item in readings)]
    lines.insert(3, lines[3])  # an identical repeated line
    write_rollout(home, "a", lines)
    out = json.loads(tracked.ok("ingest", "codex-sessions", "--dir", str(home), "--json"))
    expected = changes(readings)
    assert len(expected) == 5 and mids(tracked) == expected
    assert out["snapshots_added"] == 5
    again = json.loads(tracked.ok("ingest", "codex-sessions", "--dir", str(home), "--json"))
    assert again["snapshots_added"] == 0


def test_a_snapshot_per_change_across_runs_and_files(tracked: Sandbox, tmp_path: Path) -> None:
    home = tmp_path / "codex"
    first = [(DAY + i * MINUTE, 10, 20, i) for i in range(3)]
    write_rollout(home, "b-first", [meta_line(DAY), *(reading_rows(*item) for item in first)])
    tracked.ok("ingest", "codex-sessions", "--dir", str(home))
    assert mids(tracked) == changes(first)
    # A later run whose first reading equals the last one kept adds nothing for it.
    more = [(DAY + (3 + i) * MINUTE, 10, 20, 5) for i in range(2)] + [(DAY + 5 * MINUTE, 12, 20, 5)]
    write_rollout(home, "b-first", [reading_rows(*item) for item in more], append=True)
    out = json.loads(tracked.ok("ingest", "codex-sessions", "--dir", str(home), "--json"))
    assert out["snapshots_added"] == 1 and mids(tracked) == changes(first + more)
    # Files of the same Codex home are read in time order, whatever their names: a second session whose
    # readings interleave with a third's.
    other = [(DAY + 6 * MINUTE, 12, 20, 0), (DAY + 8 * MINUTE, 13, 20, 0), (DAY + 10 * MINUTE, 13, 20, 10)]
    third = [(DAY + 7 * MINUTE, 12, 20, 20), (DAY + 9 * MINUTE, 13, 20, 40), (DAY + 11 * MINUTE, 14, 20, 0)]
    write_rollout(home, "z-second", [meta_line(DAY), *(reading_rows(*item) for item in other)])
    write_rollout(home, "a-third", [meta_line(DAY), *(reading_rows(*item) for item in third)])
    out = json.loads(tracked.ok("ingest", "codex-sessions", "--dir", str(home), "--json"))
    assert mids(tracked) == changes(first + more + other + third)
    assert out["snapshots_added"] == 2


def test_ingest_keeps_the_ids_the_previous_version_wrote(tracked: Sandbox, tmp_path: Path) -> None:
    """git-tracker 7d090b3 (schema 1, before meters) wrote these two snapshots with these ids for these lines;
    a reading of the 5-hour and weekly meters alone keeps its id, so ingesting it again adds nothing."""
    home = tmp_path / "codex"
    meta = {
        "timestamp": "2026-06-01T08:00:00.000Z",
        "type": "session_meta",
        "payload": {"id": "g", "cwd": "/work/golden"},
    }
    both = limits_line(
        datetime(2026, 6, 1, 8, 1, 2, 345000, tzinfo=UTC),
        {"used_percent": 12.5, "window_minutes": 300, "resets_at": 1780316400},
        {"used_percent": 40, "window_minutes": 10080, "resets_at": 1780830000},
    )
    weekly = limits_line(
        datetime(2026, 6, 1, 9, 0, tzinfo=UTC), {"used_percent": 41, "window_minutes": 10080, "resets_at": 1780830000}
    )
    path = write_rollout(home, "2026-06-01T08-00-00-golden", [meta, both, weekly])
    tracked.ok("ingest", "codex-sessions", "--dir", str(home))
    ids = sorted(r["id"] for r in tracked.records("snapshot"))
    assert ids == ["01KT136MW9TA8466RK8HVM8W82", "01KT16JKM0R4VVQDJHHAMHXKF9"]
    # A reading with a bucket is data no earlier version wrote: its id comes from all of it, the same every time.
    write_rollout(
        home,
        "2026-06-01T08-00-00-golden",
        [spark_line(datetime(2026, 6, 1, 9, 5, tzinfo=UTC), 1, 2, NOW, NOW)],
        append=True,
    )
    tracked.ok("ingest", "codex-sessions", "--dir", str(home))
    with_bucket = [r for r in tracked.records("snapshot") if "weekly_gpt_5_3_codex_spark" in r["meters"]]
    assert len(with_bucket) == 1
    state = Path(tracked.git("rev-parse", "--git-dir").strip())
    shutil.rmtree((state if state.is_absolute() else tracked.path / state) / "tracker" / "ingest")
    again = json.loads(tracked.ok("ingest", "codex-sessions", "--dir", str(home), "--json"))
    assert again["files_read"] == 1 and again["snapshots_added"] == 0
    assert path.exists()


def test_a_half_written_reading_waits_for_the_next_run(tracked: Sandbox, tmp_path: Path) -> None:
    home = tmp_path / "codex"
    path = write_rollout(home, "h", [meta_line(DAY), reading_rows(DAY + MINUTE, 10, 20)])
    cut = json.dumps(reading_rows(DAY + 2 * MINUTE, 15, 20))
    with path.open("a") as handle:
        handle.write(cut[:40])
    tracked.ok("ingest", "codex-sessions", "--dir", str(home))
    assert mids(tracked) == [(stamp(DAY + MINUTE), 10, 20)]
    with path.open("a") as handle:
        handle.write(cut[40:] + "\n")
    tracked.ok("ingest", "codex-sessions", "--dir", str(home))
    assert mids(tracked) == [(stamp(DAY + MINUTE), 10, 20), (stamp(DAY + 2 * MINUTE), 15, 20)]


def test_a_bad_rate_limit_line_writes_nothing(tracked: Sandbox, tmp_path: Path) -> None:
    home = tmp_path / "codex"
    bad = limits_line(DAY + 2 * MINUTE, {"used_percent": "lots", "window_minutes": 10080}, **SPARK)
    write_rollout(home, "x", [meta_line(DAY), reading_rows(DAY + MINUTE, 10, 20), bad])
    done = tracked.tracker("ingest", "codex-sessions", "--dir", str(home))
    assert done.returncode == 2
    assert (
        done.stderr.count("\n") == 1 and "rollout-x.jsonl:3: expected rate_limits.primary.used_percent" in done.stderr
    )
    assert tracked.records() == []


# --- Claude status line: every meter in rate_limits -----------------------------------------------------------


def status_payload(cwd: str, **rate_limits: Any) -> dict[str, Any]:
    return {
        "session_id": "s1",
        "model": {"id": "claude-opus-4-1", "display_name": "Opus"},
        "workspace": {"current_dir": cwd, "project_dir": cwd},
        "version": "2.1.90",
        "rate_limits": rate_limits,
    }


def statusline(box: Sandbox, payload: dict[str, Any], env: dict[str, str]) -> str:
    done = subprocess.run(
        [*tracker_command(), "statusline"],
        cwd=box.path,
        env={**os.environ, **env},
        input=json.dumps(payload),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_statusline_model_meters_reach_the_window(tracked: Sandbox) -> None:
    five_resets, week_resets = epoch(NOW + 2 * HOUR), epoch(NOW + 4 * 24 * HOUR)

    def limits(five: float, week: float, sonnet: float) -> dict[str, Any]:
        return {
            "five_hour": {"used_percentage": five, "resets_at": five_resets},
            "seven_day": {"used_percentage": week, "resets_at": week_resets},
            "seven_day_sonnet": {"used_percentage": sonnet, "resets_at": week_resets},
            "seven_day_opus": None,
            "extra_usage": {"is_enabled": False, "monthly_limit": None, "used_credits": None, "utilization": None},
        }

    line = statusline(tracked, status_payload(str(tracked.path), **limits(20, 40, 55)), at_now(NOW))
    assert line.startswith("Opus · 5h 20% · wk 40%")
    tracked.ok("start", "claude", "--auto", env=at_now(NOW))
    (before,) = tracked.records("snapshot")
    assert before["meters"] == {
        "five_hour": {"used": 20.0, "resets_at": stamp(NOW + 2 * HOUR), "limit_id": None},
        "weekly": {"used": 40.0, "resets_at": stamp(NOW + 4 * 24 * HOUR), "limit_id": None},
        "weekly_sonnet": {"used": 55.0, "resets_at": stamp(NOW + 4 * 24 * HOUR), "limit_id": None},
    }
    tracked.commit()
    statusline(tracked, status_payload(str(tracked.path), **limits(26, 41, 58.5)), at_now(NOW + HOUR))
    tracked.ok("end", "claude", "--auto", env=at_now(NOW + HOUR))
    (close,) = tracked.records("window-close")
    assert (close["meter"], close["delta"], close["other_deltas"]) == (
        "five_hour",
        6.0,
        {"weekly": 1.0, "weekly_sonnet": 3.5},
    )


window_payload = st.fixed_dictionaries(
    {"used_percentage": st.floats(min_value=0, max_value=100)},
    optional={"resets_at": st.integers(min_value=0, max_value=4_000_000_000)},
)
STATUS_KEYS = {
    "five_hour": "five_hour",
    "seven_day": "weekly",
    "seven_day_opus": "weekly_opus",
    "seven_day_sonnet": "weekly_sonnet",
    "seven_day_oauth_apps": "weekly_oauth_apps",
    "five_hour_opus": "five_hour_opus",
}


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(st.sampled_from(sorted(STATUS_KEYS)), window_payload | st.none()),
    st.dictionaries(st.sampled_from(["extra_usage", "overage", "seven_day_", "model_scoped"]), st.just({"x": 1})),
)
def test_every_rate_limits_window_is_a_meter_and_the_cache_round_trips(
    windows: dict[str, Any], others: dict[str, Any]
) -> None:
    from gittracker import statuscache

    reading, display = parse_statusline(json.dumps({"rate_limits": {**windows, **others}}))
    expected = {STATUS_KEYS[key]: value["used_percentage"] for key, value in windows.items() if value is not None}
    assert {meter.name: meter.used for meter in reading.meters} == expected
    for key, value in windows.items():
        if value is not None and "resets_at" in value:
            shown = datetime.fromtimestamp(value["resets_at"], UTC)
            assert reading.resets_of(STATUS_KEYS[key]) == stamp(shown)
    with tempfile.TemporaryDirectory() as cache:
        previous = os.environ.get("XDG_CACHE_HOME")
        os.environ["XDG_CACHE_HOME"] = cache
        try:
            statuscache.remember_statusline(reading, display)
            stored = json.loads(statuscache.statusline_cache().read_text())
        finally:
            if previous is None:
                del os.environ["XDG_CACHE_HOME"]
            else:
                os.environ["XDG_CACHE_HOME"] = previous
    again = Reading.from_fields(stored["reading"])
    assert sorted(again.meters, key=lambda m: m.name) == sorted(reading.meters, key=lambda m: m.name)
    assert (again.prompts, again.parse_errors) == (reading.prompts, reading.parse_errors)


def fields_of(five: float, week: float, jitter: int) -> dict[str, Any]:
    resets = datetime(2026, 6, 1, 13, 0, tzinfo=UTC) + timedelta(seconds=jitter)
    return Reading.of(
        five_hour_used=five, weekly_used=week, resets_at=stamp(resets), weekly_resets_at=stamp(resets + 24 * HOUR)
    ).snapshot_fields()


reading_stream = st.lists(
    st.tuples(st.integers(0, 400), st.sampled_from([10.0, 11.0]), st.sampled_from([20.0, 21.0]), st.integers(0, 90)),
    max_size=25,
    unique_by=lambda row: row[0],
)


@settings(max_examples=150, deadline=None)
@given(reading_stream, st.data())
def test_the_changes_do_not_depend_on_how_runs_split_the_readings(rows: list[Any], data: st.DataObject) -> None:
    """Readings arriving in time order, in one run or split over several, give the same snapshots; arriving in any
    order over several runs, every reading ends up written or equal to the last one written before it in time."""
    from gittracker.midsnapshots import changed_readings, same_reading

    readings = sorted(
        ((stamp(DAY + timedelta(seconds=at)), fields_of(*rest)) for at, *rest in rows), key=lambda r: r[0]
    )
    whole, _ = changed_readings(readings, None)
    expected = changes([(DAY + timedelta(seconds=at), five, week, jitter) for at, five, week, jitter in rows])
    assert [(ts, f["five_hour_used"], f["weekly_used"]) for ts, f in whole] == expected
    cuts = sorted(data.draw(st.lists(st.integers(0, len(readings)), max_size=3)))
    remembered: Any = None
    split: list[tuple[str, dict[str, Any]]] = []
    for start, end in zip([0, *cuts], [*cuts, len(readings)], strict=True):
        kept, remembered = changed_readings(readings[start:end], remembered)
        split += kept
    assert split == whole
    shuffled = data.draw(st.permutations(readings))
    size = data.draw(st.integers(1, 5))
    remembered = None
    written: dict[str, dict[str, Any]] = {}
    for start in range(0, len(shuffled), size):
        kept, remembered = changed_readings(shuffled[start : start + size], remembered)
        assert not set(written) & {ts for ts, _ in kept}  # nothing written twice
        written.update(kept)
    last = None
    for ts, fields in readings:
        if ts in written:
            last = fields
        else:
            assert last is not None and same_reading(last, fields), ts
