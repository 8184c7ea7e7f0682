"""The screens people really paste (issue 10): every meter a screen shows, the damaged forms, nothing lost
silently, local times, and what start/end/snapshot echo about a reading.

The screens are written here from the documented shapes (DESIGN §4, the issue's examples, and what the Zed
adapter claude-agent-acp renders: ``**<label>** — **<utilization>%** · Resets <Intl "en" short date>``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import TZPATH, ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gittracker import clock
from gittracker.capacity import Meter
from gittracker.errors import BadInput
from gittracker.sources import screens
from tests.conftest import Sandbox, tracker_command

NOW = datetime(2026, 9, 30, 10, 0, tzinfo=UTC)  # a Wednesday; Central Europe is on summer time (UTC+2)
BERLIN = ZoneInfo("Europe/Berlin")


def z(text: str) -> str:
    """An expected stored time."""
    return text.replace("Z", ".000Z") if text.endswith("Z") else text


# --- every meter the screen shows ----------------------------------------------------------------------


def test_a_codex_screen_gives_every_meter_it_shows() -> None:
    screen = "\n".join(
        [
            "│  5h limit:         [███████████░░░░░░░░░] 55% left (resets 16:25)          │",
            "│  Weekly limit:     [██████████████░░░░░░] 70% left (resets 09:55 on 3 Oct) │",
            "│  Daily limit:      [██████████████████░░] 90% left (resets 00:00 on 1 Oct) │",
            "│  Monthly limit:    [██░░░░░░░░░░░░░░░░░░] 12% used (resets 07:08 on 7 Oct) │",
            "│  Annual limit:     [█░░░░░░░░░░░░░░░░░░░] 3% used                          │",
            "│  GPT-5.3-Codex-Spark limit:                                                │",
            "│  5h limit:         [████████████████████] 100% left (resets 00:46 on 1 Oct)│",
            "│  Weekly limit:     [████████████████░░░░] 80% left (resets 19:46 on 6 Oct) │",
            "│                                                                            │",
            "│  GPT-5.1-Codex-Mini 5h limit: [██████████░░░░░░░░░░] 50% left (resets 11:00)│",
        ]
    )
    provider, reading = screens.parse_screen(screen, NOW)
    assert provider == "codex"
    assert reading.meters == (
        Meter("five_hour", 45.0, z("2026-09-30T16:25:00Z")),
        Meter("weekly", 30.0, z("2026-10-03T09:55:00Z")),
        Meter("daily", 10.0, z("2026-10-01T00:00:00Z")),
        Meter("monthly", 12.0, z("2026-10-07T07:08:00Z")),
        Meter("annual", 3.0),
        Meter("five_hour_gpt_5_3_codex_spark", 0.0, z("2026-10-01T00:46:00Z")),
        Meter("weekly_gpt_5_3_codex_spark", 20.0, z("2026-10-06T19:46:00Z")),
        Meter("five_hour_gpt_5_1_codex_mini", 50.0, z("2026-09-30T11:00:00Z")),
    )
    assert reading.parse_errors == ("reset-zone-assumed:UTC",)


def test_a_claude_panel_gives_the_session_the_week_and_each_model_week() -> None:
    panel = (
        " Current session\n ███████▌                 15% used\n Resets 2pm (Europe/Berlin)\n\n"
        " Current week (all models)\n ███                      6% used\n Resets Oct 2, 9am (Europe/Berlin)\n\n"
        " Current week (Opus)\n █████                    10% used\n Resets Oct 2, 9am (Europe/Berlin)\n\n"
        " Current week (Sonnet only)\n ██                       4% used\n Resets Oct 3, 9am (Europe/Berlin)\n"
    )
    _, reading = screens.parse_screen(panel, NOW)
    assert reading.meters == (
        Meter("five_hour", 15.0, z("2026-09-30T12:00:00Z")),
        Meter("weekly", 6.0, z("2026-10-02T07:00:00Z")),
        Meter("weekly_opus", 10.0, z("2026-10-02T07:00:00Z")),
        Meter("weekly_sonnet", 4.0, z("2026-10-03T07:00:00Z")),
    )
    assert reading.parse_errors == ()  # every reset named its zone


@pytest.mark.parametrize("version", ["0.148.0", "0.159.0"])
def test_a_weekly_only_codex_screen_is_a_reading_of_the_week_alone(version: str) -> None:
    screen = (
        f"  >_ OpenAI Codex (v{version})\n\n"
        "  Model:               GPT-5.5 (reasoning medium, summaries auto)\n"
        "  Weekly limit:        [███████░░░░░░░░░░░░░] 37% left (resets 12:58 AM on 4 Oct)\n"
    )
    _, reading = screens.parse_screen(screen, NOW, BERLIN)
    # 00:58 on 4 Oct in Berlin (UTC+2) is 22:58 on 3 Oct in UTC
    assert reading.meters == (Meter("weekly", 63.0, z("2026-10-03T22:58:00Z")),)
    assert reading.parse_errors == ("reset-zone-assumed:Europe/Berlin",)


# --- the forms people paste -----------------------------------------------------------------------------

FORMS: dict[str, tuple[str, tzinfo | None, list[Meter], tuple[str, ...]]] = {
    "left columns clipped": (
        "rrent session\n█████████▌          21% used\nResets 2pm (Europe/Berlin)\n\n"
        "rrent week (all models)\n███              6% used\nResets Oct 2, 9am (Europe/Berlin)\n",
        None,
        [Meter("five_hour", 21.0, z("2026-09-30T12:00:00Z")), Meter("weekly", 6.0, z("2026-10-02T07:00:00Z"))],
        (),
    ),
    "PTY capture without spaces": (
        "Curretsession\n█████████████25%used\nResets1:40am(Europe/Berlin)\n"
        "Currentweek(allmodels)\n██9%used\nResetsOct3,9am(Europe/Berlin)\n",
        None,
        [Meter("five_hour", 25.0, z("2026-09-30T23:40:00Z")), Meter("weekly", 9.0, z("2026-10-03T07:00:00Z"))],
        (),
    ),
    "cursor moves instead of spaces": (
        "Current\x1b[1Csession\x1b[3C█\x1b[10C1%\x1b[1Cused\nResets\x1b[1C5am\x1b[1C(Europe/Vienna)\n",
        None,
        [Meter("five_hour", 1.0, z("2026-10-01T03:00:00Z"))],
        (),
    ),
    "inline reset in parentheses": (
        "Current session\n█                                1% used  (Resets 5am (Europe/Vienna))\n"
        "Current week (all models)\n██                               4% used  (Resets Oct 6, 5am (Europe/Vienna))\n",
        None,
        [Meter("five_hour", 1.0, z("2026-10-01T03:00:00Z")), Meter("weekly", 4.0, z("2026-10-06T03:00:00Z"))],
        (),
    ),
    "Zed adapter Markdown": (
        "## Usage\n\n> Claude max subscription usage\n\n### Limits\n\n"
        "**5-hour limit** — **14%** · Resets Oct 1, 5:39\u202fPM GMT+1\n\n`███░░░░░░░░░░░░░░░░░`\n\n"
        "**Weekly · all models** — **38%** · Resets Oct 6, 9:00\u202fAM GMT+1\n\n`████████░░░░░░░░░░░░`\n\n"
        "**Weekly · Sonnet** — **2%** · Resets Oct 6, 9:00\u202fAM EDT\n\n`█░░░░░░░░░░░░░░░░░░░`\n\n"
        "**Extra usage · 12 / 50 USD** — **24%**\n\n---\n\n### This session\n",
        None,
        [
            Meter("five_hour", 14.0, z("2026-10-01T16:39:00Z")),  # the percent is utilization: used
            Meter("weekly", 38.0, z("2026-10-06T08:00:00Z")),
            Meter("weekly_sonnet", 2.0, z("2026-10-06T13:00:00Z")),
        ],
        (),
    ),
    "Codex rows quoted after a label": (
        "Today: 5h limit: [███████░░░░░░░] 60% left (resets 14:10)\n"
        "Today: Weekly limit: [████░░░░░░░░░░] 37% left (resets 12:58 AM on 4 Oct)\n",
        BERLIN,
        [Meter("five_hour", 40.0, z("2026-09-30T12:10:00Z")), Meter("weekly", 63.0, z("2026-10-03T22:58:00Z"))],
        ("reset-zone-assumed:Europe/Berlin",),
    ),
    "Codex 0.159 borderless, 12-hour clock": (
        "  >_ OpenAI Codex (v0.159.0)\n\n  5h limit:            [██████░░░░░░░░░░░░░░] 30% left (resets 1:05 PM)\n"
        "  Weekly limit:        [███████░░░░░░░░░░░░░] 37% left (resets 12:58 AM on 4 Oct)\n",
        BERLIN,
        [Meter("five_hour", 70.0, z("2026-09-30T11:05:00Z")), Meter("weekly", 63.0, z("2026-10-03T22:58:00Z"))],
        ("reset-zone-assumed:Europe/Berlin",),
    ),
}


@pytest.mark.parametrize("form", list(FORMS))
def test_each_pasted_form_is_read_whole(form: str) -> None:
    text, zone, meters, errors = FORMS[form]
    _, reading = screens.parse_screen(text, NOW, zone)
    assert list(reading.meters) == meters
    assert reading.parse_errors == errors


def test_the_markdown_percent_is_used_not_left() -> None:
    # claude-agent-acp prints the API's `utilization` (the share consumed) with no "used"/"left" word.
    _, reading = screens.parse_screen("**5-hour limit** — **90%** · Resets Oct 1, 5:39 PM UTC\n", NOW)
    assert reading.five_hour_used == 90.0


# --- nothing vanishes silently --------------------------------------------------------------------------


def test_a_meter_on_the_screen_that_cannot_be_read_is_reported() -> None:
    text = (
        "Current session\n██ 12% used\nResets whenever\n"  # reset shown, unreadable
        "Current week (all models)\n░░░░░░░░░░\n"  # no percent at all
        "12:30 Monthly limit: soon\n"  # a label in no row form
    )
    screen = screens.read_screen(text, NOW)
    assert screen.reading.meters == (Meter("five_hour", 12.0),)
    assert screen.reading.parse_errors == ("reset-unparsed:five_hour", "meter-unread:weekly", "meter-unread:monthly")
    assert screen.notes["meter-unread:weekly"].startswith("line 4: 'Current week (all models)' (the weekly meter)")
    assert "'Resets whenever'" not in screen.notes["reset-unparsed:five_hour"]
    assert "'whenever'" in screen.notes["reset-unparsed:five_hour"]


CODEX_LABELS = [
    ("5h limit", "five_hour"),
    ("Weekly limit", "weekly"),
    ("Daily limit", "daily"),
    ("Monthly limit", "monthly"),
    ("Annual limit", "annual"),
    ("GPT-5.1-Codex-Mini 5h limit", "five_hour_gpt_5_1_codex_mini"),
]
CLAUDE_LABELS = [
    ("Current session", "five_hour"),
    ("Current week (all models)", "weekly"),
    ("Current week (Opus)", "weekly_opus"),
    ("Current week (Sonnet only)", "weekly_sonnet"),
]
MARKDOWN_LABELS = [("5-hour limit", "five_hour"), ("Weekly · all models", "weekly"), ("Weekly · Opus", "weekly_opus")]
GARBLED_VALUES = ["%", "x% used", "12", "--% left", "1e3% used", "NaN%", "∞%"]
RESETS = {
    "codex": (["16:12", "12:58 AM on 4 Oct", "08:00 on 7 Jun"], ["25:99", "soon", "31 Feb 10:00"]),
    "claude": (
        ["2pm (Europe/Berlin)", "Oct 6, 9am (America/New_York)", "in 2h 15m", "Thu 12:00 PM"],
        ["whenever", "13pm", "Jun 5, 4pm 1999"],
    ),
    "markdown": (
        ["Oct 1, 5:39 PM GMT+1", "Oct 6, 9:00 AM EDT", "Oct 6, 9:00 AM UTC"],
        ["soon", "2026-13-45T99:99:00Z"],
    ),
}


@dataclass(frozen=True)
class Placed:
    meter: str
    used: int | None  # the percent used the screen shows, None when missing or garbled
    reset: str | None  # "good", "garbled" or None (no reset shown)


def bar20(used: int | None) -> str:
    filled = (used or 0) // 5
    return "█" * filled + "░" * (20 - filled)


@st.composite
def pasted_screens(draw: st.DrawFn) -> tuple[str, list[Placed], bool, bool]:
    """A screen of recognised labels with random, missing or garbled values and resets, then damaged."""
    form = draw(st.sampled_from(["codex", "claude-panel", "claude-line", "markdown"]))
    labels = {"codex": CODEX_LABELS, "markdown": MARKDOWN_LABELS}.get(form, CLAUDE_LABELS)
    chosen = draw(st.lists(st.sampled_from(labels), min_size=1, max_size=len(labels), unique=True))
    good, garbled = RESETS["claude" if form.startswith("claude") else form]
    clip = draw(st.integers(0, 2)) if form.startswith("claude") else 0
    squeeze = draw(st.booleans())
    blocks: list[list[str]] = []
    placed: list[Placed] = []
    for label, meter in chosen:
        used = draw(st.one_of(st.integers(0, 100), st.none()))
        value = str(used) if used is not None else draw(st.sampled_from([None, *GARBLED_VALUES]))
        reset_kind = draw(st.sampled_from([None, "good", "garbled"]))
        reset = None if reset_kind is None else draw(st.sampled_from(good if reset_kind == "good" else garbled))
        placed.append(Placed(meter, used, reset_kind))
        blocks.append(render(form, label, used, value, reset))
    noise = draw(st.lists(st.text(max_size=30), max_size=3))
    lines: list[str] = []
    for number, block in enumerate(blocks):
        lines += [line[clip:] for line in block]  # the paste lost its left columns
        if number < len(noise):
            lines.append(noise[number])  # between blocks, never inside one
    if squeeze:
        lines = [line.replace(" ", "") for line in lines]
    return "\n".join(lines) + "\n", placed, bool(noise), clip == 0


def render(form: str, label: str, used: int | None, value: str | None, reset: str | None) -> list[str]:
    if form == "codex":
        text = f"[{bar20(used)}]"
        if used is not None:
            text += f" {100 - used}% left"
        elif value is not None:
            text += f" {value}"
        return [f"  {label}: {text}" + (f" (resets {reset})" if reset else "")]
    if form == "markdown":
        shown = f"**{used}%**" if used is not None else f"**{value}**" if value is not None else ""
        return [f"**{label}** — {shown}" + (f" · Resets {reset}" if reset else ""), "", f"`{bar20(used)}`", ""]
    if form == "claude-line":
        shown = f"{used}% used" if used is not None else value or ""
        return [f"{label}: {shown}" + (f" · resets {reset}" if reset else "")]
    lines = [label]
    if used is not None:
        lines.append(f"{bar20(used)} {used}% used")
    elif value is not None:
        lines.append(f"{bar20(None)} {value}")
    if reset:
        lines.append(f"Resets {reset}")
    return [*lines, ""]


@given(pasted_screens(), st.sampled_from([None, BERLIN, timezone(timedelta(hours=-7))]))
def test_every_meter_label_on_a_screen_is_read_or_reported(
    drawn: tuple[str, list[Placed], bool, bool], zone: tzinfo | None
) -> None:
    text, placed, noisy, unclipped = drawn
    try:
        _, reading = screens.parse_screen(text, NOW, zone)
    except BadInput as error:
        assert "\n" not in str(error)
        # refused only when nothing on the screen was readable (or noise added a bad row)
        assert noisy or all(item.used is None for item in placed), str(error)
        return
    errors = reading.parse_errors
    for item in placed:
        reported = any(code.endswith(f":{item.meter}") for code in errors) or "multi-pane-trimmed" in errors
        assert item.meter in reading.names() or reported, (item, reading)
        if noisy or item.meter not in reading.names():
            continue
        if item.used is not None:
            assert reading.used(item.meter) == item.used
        if item.reset == "good":
            assert reading.resets_of(item.meter) is not None, (item, reading)
        elif item.reset == "garbled" and unclipped:
            assert f"reset-unparsed:{item.meter}" in errors, (item, reading)


FRAGMENTS = [
    "**5-hour limit** — **14%** · Resets Oct 1, 5:39 PM GMT+1",
    "**Weekly · all models** — **",
    "Weekly · Opus —",
    "rrent session",
    "Curretsession",
    "Currentweek(allmodels)",
    "Resets1:40am",
    "25%used",
    "1% used  (Resets 5am (Europe/Vienna))",
    "Today: Weekly limit:",
    "12:58 AM on 4 Oct",
    "5h limit: [████████]",
    "GPT-5.3-Codex-Spark limit:",
    "(resets 03:14)",
    "sets 2pm",
    "## Usage",
    "\x1b[3C",
    "GMT+25",
    "(resets 2026-99-99T00:00Z)",
    "\u2212",  # a minus sign, not a hyphen
    "—",
    "·",
    "\u202f",
    "\\*",
]


@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=30), st.sampled_from([" ", "\n"]))
def test_parse_screen_raises_nothing_but_bad_input(parts: list[str], glue: str) -> None:
    try:
        screen = screens.read_screen(glue.join(parts), NOW, BERLIN)
    except BadInput as error:
        assert "\n" not in str(error)
        return
    for meter in screen.reading.meters:
        assert 0 <= meter.used <= 100
        assert meter.resets_at is None or re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", meter.resets_at)
    assert set(screen.notes) == set(screen.reading.parse_errors)


# --- a narrow terminal ------------------------------------------------------------------------------------

NARROW = (
    "/status\n\n╭────────────────────────────────────────────╮\n"
    "│  >_ OpenAI Codex (v0.0.0)                  │\n"
    "│                                            │\n"
    "│  Token usage:      1.9K total  (1K input + │\n"
    "│  Context window:   99% left (2.25K used /  │\n"
    "│  5h limit:         [███████████████░░░░░]  │\n"
    "│                    (resets 03:14)          │\n"
    "╰────────────────────────────────────────────╯\n"
)


def test_a_narrow_screen_says_what_it_found_and_what_is_missing() -> None:
    with pytest.raises(BadInput) as caught:
        screens.parse_screen(NARROW, NOW)
    message = str(caught.value)
    assert "found no rate-limit line" not in message
    assert message.startswith(
        "read no meter from this Codex /status screen: line 8: '5h limit: [███████████████░░░░░]' (the 5h meter) "
        "has its percent cut off after the bar (a terminal too narrow for the row?); "
        "expected rows like `5h limit: [bar] 64% left (resets 16:12)`; paste it from a wider terminal"
    )


def test_a_narrow_screen_with_one_whole_row_reads_it_and_reports_the_other() -> None:
    text = NARROW.replace(
        "╰", "│  Weekly limit: [███] 63% used (resets 09:00 on 2 Oct) │\n╰", 1
    )  # the weekly row fit, the 5h row did not
    screen = screens.read_screen(text, NOW)
    assert screen.reading.meters == (Meter("weekly", 63.0, z("2026-10-02T09:00:00Z")),)
    assert screen.reading.parse_errors == ("meter-unread:five_hour", "reset-zone-assumed:UTC")
    assert "percent cut off" in screen.notes["meter-unread:five_hour"]


# --- local times ------------------------------------------------------------------------------------------


@pytest.fixture
def restore_tz() -> Any:
    yield
    time.tzset()  # the C library's zone follows TZ again once monkeypatch has restored it


def test_local_zone_prefers_the_setting_then_tz(monkeypatch: pytest.MonkeyPatch, restore_tz: Any) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    assert clock.local_zone("Asia/Kolkata") == ZoneInfo("Asia/Kolkata")
    assert clock.local_zone(None) == ZoneInfo("America/New_York")
    monkeypatch.setenv("TZ", ":Europe/Berlin")
    assert clock.local_zone(None) == BERLIN
    monkeypatch.setenv("TZ", "")
    assert clock.local_zone(None) is UTC
    with pytest.raises(BadInput, match=r"^tracker.timezone: expected an IANA zone .* got 'Mars/Olympus'$"):
        clock.local_zone("Mars/Olympus")


@pytest.mark.parametrize(("moment", "hours"), [("2026-07-01T12:00:00Z", 2), ("2026-01-15T12:00:00Z", 1)])
def test_a_posix_tz_rule_falls_back_to_the_c_library_offset(
    monkeypatch: pytest.MonkeyPatch, restore_tz: Any, moment: str, hours: int
) -> None:
    monkeypatch.setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3")
    monkeypatch.setenv("GIT_TRACKER_NOW", moment)
    zone = clock.local_zone(None)
    assert zone.utcoffset(None) == timedelta(hours=hours)
    assert clock.zone_label(zone) == f"UTC+0{hours}:00"


def test_the_system_zone_keeps_its_daylight_saving_rules(
    monkeypatch: pytest.MonkeyPatch, restore_tz: Any, tmp_path: Path
) -> None:
    source = next(Path(root) / "America/New_York" for root in TZPATH if (Path(root) / "America/New_York").is_file())
    monkeypatch.delenv("TZ", raising=False)
    copied = tmp_path / "localtime"  # a copy, as some systems install it: no symlink naming the zone
    shutil.copyfile(source, copied)
    monkeypatch.setattr(clock, "SYSTEM_ZONE_FILE", str(copied))
    zone = clock.local_zone(None)
    assert datetime(2026, 1, 15, 12, tzinfo=zone).utcoffset() == timedelta(hours=-5)
    assert datetime(2026, 7, 15, 12, tzinfo=zone).utcoffset() == timedelta(hours=-4)
    linked = tmp_path / "linked"
    linked.symlink_to(source)
    monkeypatch.setattr(clock, "SYSTEM_ZONE_FILE", str(linked))
    assert clock.local_zone(None) == ZoneInfo("America/New_York")
    assert clock.zone_label(clock.local_zone(None)) == "America/New_York"


# --- through the installed command ------------------------------------------------------------------------

BORDERLESS = (
    "  >_ OpenAI Codex (v0.159.0)\n\n  Model:               GPT-5.5 (reasoning medium, summaries auto)\n"
    "  Directory:           ~/work/repo\n\n"
    "  5h limit:            [██████░░░░░░░░░░░░░░] 30% left (resets 1:05 PM)\n"
    "  Weekly limit:        [███████░░░░░░░░░░░░░] 37% left (resets 12:58 AM on 4 Oct)\n"
)
PINNED = {"GIT_TRACKER_NOW": "2026-09-30T10:00:00Z"}


def snapshot(box: Sandbox, *args: str, env: dict[str, str]) -> dict[str, Any]:
    """``snapshot … --json`` through the installed command, and the record it wrote."""
    done = run(box, "snapshot", *args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    written = json.loads(done.stdout)["snapshot_id"]  # stdout is the JSON alone, warnings go to stderr
    (record,) = [record for record in box.records("snapshot") if record["id"] == written]
    return record


def test_the_same_codex_paste_under_three_zones(tracked: Sandbox, tmp_path: Path) -> None:
    paste = tmp_path / "status.txt"
    paste.write_text(BORDERLESS)
    stored: dict[str, tuple[datetime, datetime]] = {}
    for zone in ("Europe/Berlin", "America/New_York", "UTC"):
        snap = snapshot(tracked, "codex", "--from", str(paste), env={**PINNED, "TZ": zone})
        assert snap["parse_errors"] == [f"reset-zone-assumed:{zone}"]
        stored[zone] = (clock.parse_ts(snap["resets_at"]), clock.parse_ts(snap["weekly_resets_at"]))
    for zone, (five, week) in stored.items():  # the times the screen showed, in that zone, as UTC
        assert five == datetime(2026, 9, 30, 13, 5, tzinfo=ZoneInfo(zone))
        assert week == datetime(2026, 10, 4, 0, 58, tzinfo=ZoneInfo(zone))
    assert stored["UTC"][0] - stored["Europe/Berlin"][0] == timedelta(hours=2)
    assert stored["America/New_York"][0] - stored["UTC"][0] == timedelta(hours=4)
    assert stored["America/New_York"][1] - stored["Europe/Berlin"][1] == timedelta(hours=6)


def set_screen_timezone(box: Sandbox, zone: str) -> None:
    toml = box.path / ".git-tracker.toml"
    toml.write_text(toml.read_text().replace("[tracker]\n", f'[tracker]\ntimezone = "{zone}"\n', 1))


def test_the_timezone_setting_overrides_tz(tracked: Sandbox, tmp_path: Path) -> None:
    paste = tmp_path / "status.txt"
    paste.write_text(BORDERLESS)
    set_screen_timezone(tracked, "Asia/Kolkata")
    snap = snapshot(tracked, "codex", "--from", str(paste), env={**PINNED, "TZ": "America/New_York"})
    kolkata = ZoneInfo("Asia/Kolkata")  # at NOW it is 15:30 there: the next 1:05 PM is tomorrow's
    assert clock.parse_ts(snap["resets_at"]) == datetime(2026, 10, 1, 13, 5, tzinfo=kolkata)
    assert clock.parse_ts(snap["weekly_resets_at"]) == datetime(2026, 10, 4, 0, 58, tzinfo=kolkata)
    assert snap["parse_errors"] == ["reset-zone-assumed:Asia/Kolkata"]


def test_a_zone_the_screen_names_wins_over_the_local_one(tracked: Sandbox, tmp_path: Path) -> None:
    paste = tmp_path / "usage.txt"
    paste.write_text("Current session: 22% used · resets 2pm (Europe/Berlin)\n")
    snap = snapshot(tracked, "claude", "--from", str(paste), env={**PINNED, "TZ": "America/New_York"})
    assert (snap["resets_at"], snap["parse_errors"]) == ("2026-09-30T12:00:00.000Z", [])


def run(box: Sandbox, *args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*tracker_command(), *args],
        cwd=box.path,
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
    )


def test_start_and_end_echo_what_the_paste_said(tracked: Sandbox, tmp_path: Path) -> None:
    env = {**PINNED, "TZ": "Europe/Berlin"}
    narrow_five = (
        BORDERLESS.replace("30% left (resets 1:05 PM)", "") + "  Warning:  limits may be stale - run /status again\n"
    )
    started = run(tracked, "start", "codex", "--json", "--from", "-", env=env, stdin=narrow_five)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["provider"] == "codex"  # --json keeps stdout pure
    assert started.stderr.splitlines() == [
        "git-tracker: read from paste: weekly 63% used (resets 00:58 CEST on 4 Oct)",
        "git-tracker: warning: the screen says its limits may be stale; refresh it for current figures",
        "git-tracker: warning: line 6: '5h limit: [██████░░░░░░░░░░░░░░]' (the 5h meter) has its percent cut off "
        "after the bar (a terminal too narrow for the row?); not recorded",
        "git-tracker: warning: the screen's reset times name no zone; read as Europe/Berlin time "
        "(`[tracker] timezone` in .git-tracker.toml, else TZ, else the system zone)",
    ]
    tracked.commit()
    later = {**env, "GIT_TRACKER_NOW": "2026-09-30T10:30:00Z"}
    after = BORDERLESS.replace("37% left", "31% left")
    ended = run(tracked, "end", "codex", "--from", "-", env=later, stdin=after)
    assert ended.returncode == 0, ended.stderr
    assert ended.stderr.splitlines()[0] == (
        "git-tracker: read from paste: 5h 70% used (resets 13:05 CEST), weekly 69% (resets 00:58 CEST on 4 Oct)"
    )
    (close,) = tracked.records("window-close")
    assert (close["meter"], close["delta"]) == ("weekly", 6)  # the weekly-only start binds the window to the week
    refused = run(tracked, "end", "codex", "--from", "-", env=later, stdin=after)
    assert refused.returncode == 1 and len(refused.stderr.splitlines()) == 1  # a refusal stays one line, no echo
    assert "no open codex window" in refused.stderr


def test_auto_echoes_the_codex_logs_and_the_status_line(tracked: Sandbox, tmp_path: Path) -> None:
    home = tmp_path / "codex-home"
    folder = home / "sessions" / "2026" / "09" / "30"
    folder.mkdir(parents=True)
    resets = int(datetime(2026, 10, 4, 3, 0, tzinfo=UTC).timestamp())
    limits = {"primary": {"used_percent": 4.0, "window_minutes": 10080, "resets_at": resets}, "secondary": None}
    line = {
        "timestamp": "2026-09-30T09:58:00.000Z",
        "type": "event_msg",
        "payload": {"type": "token_count", "info": None, "rate_limits": limits},
    }
    (folder / "rollout-2026-09-30T09-00-00-x.jsonl").write_text(json.dumps(line) + "\n")
    env = {**PINNED, "TZ": "America/New_York", "CODEX_HOME": str(home)}
    done = run(tracked, "snapshot", "codex", "--auto", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["git-tracker: read from Codex logs: weekly 4% used (resets 23:00 EDT on 3 Oct)"]
    payload = {"rate_limits": {"five_hour": {"used_percentage": 42, "resets_at": int(NOW.timestamp()) + 3600}}}
    run(tracked, "statusline", env=env, stdin=json.dumps(payload))
    done = run(tracked, "snapshot", "claude", "--auto", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["git-tracker: read from the status line: 5h 42% used (resets 07:00 EDT)"]
    typed = run(tracked, "snapshot", "claude", "--used", "5", env=env)
    assert (typed.returncode, typed.stderr) == (0, "")  # typed values are echoed by nobody


def test_a_screen_meter_left_unread_is_recorded_and_warned_about(tracked: Sandbox, tmp_path: Path) -> None:
    paste = tmp_path / "usage.txt"
    paste.write_text(
        "Current session: 22% used · resets 2pm (UTC)\nCurrent week (all models)\n██████████ (percent scrolled off)\n"
    )
    done = run(tracked, "snapshot", "claude", "--from", str(paste), env=PINNED)
    assert done.returncode == 0, done.stderr
    assert "warning: line 2: 'Current week (all models)' (the weekly meter) has no `NN% used`" in done.stderr
    assert tracked.records("snapshot")[0]["parse_errors"] == ["meter-unread:weekly"]


# --- the documentation ------------------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_screen_code_and_the_timezone_setting_are_documented() -> None:
    capacity = (DOCS / "capacity.md").read_text()
    codes = [value for name, value in vars(screens).items() if name.isupper() and isinstance(value, str)]
    for code in ("multi-pane-trimmed", "limits-may-be-stale", "reset-zone-assumed", "meter-unread"):
        assert code in codes
    for code in codes:
        if re.fullmatch(r"[a-z]+(?:-[a-z]+)+", code):
            assert f"`{code}" in capacity, code
    for form in ("rrent week (all models)", "Curretsession", "(Resets 5am (Europe/Vienna))", "**5-hour limit**"):
        assert form in capacity, form
    assert "`tracker.timezone`" in (DOCS / "configuration.md").read_text()
    assert "read from paste:" in capacity


def test_ingest_codex_status_reads_the_paste_in_the_local_zone_too(tracked: Sandbox, tmp_path: Path) -> None:
    paste = tmp_path / "status.txt"
    paste.write_text(BORDERLESS)
    done = run(tracked, "ingest", "codex-status", str(paste), env={**PINNED, "TZ": "America/New_York"})
    assert done.returncode == 0, done.stderr
    (snap,) = tracked.records("snapshot")
    assert clock.parse_ts(snap["resets_at"]) == datetime(2026, 9, 30, 13, 5, tzinfo=ZoneInfo("America/New_York"))
    assert snap["parse_errors"] == ["reset-zone-assumed:America/New_York"]
