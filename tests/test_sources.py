"""Capacity sources: pasted screens, Codex session logs, Claude Code status-line JSON.

All test data is written here from the documented shapes (DESIGN §4); none comes from a real user.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gittracker import clock
from gittracker.capacity import Meter, Reading
from gittracker.errors import BadInput
from gittracker.sources import codex_logs, screens, statusline
from gittracker.sources.codex_logs import latest_rate_limits
from gittracker.sources.screens import parse_screen, resolve_reset
from gittracker.sources.statusline import parse_statusline

NOW = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)  # a Wednesday
BERLIN = ZoneInfo("Europe/Berlin")  # UTC+2 in June
ASSUMED_UTC = "reset-zone-assumed:UTC"  # a screen that names no zone, read without a local zone

# --- rendering the documented shapes -----------------------------------------------------------------


def bar(filled_percent: float, segments: int = 20) -> str:
    filled = min(segments, round(filled_percent / 100 * segments))
    return "[" + "█" * filled + "░" * (segments - filled) + "]"


def codex_row(label: str, percent: float, kind: str = "left", reset: str | None = None) -> str:
    value = f"{bar(percent)} {percent:.0f}% {kind}"
    if reset:
        value += f" (resets {reset})"
    return f"{label + ':':<18}{value}"


def codex_card(*rows: str, stale: bool = False, width: int = 76) -> str:
    body = [
        ">_ OpenAI Codex (v0.98.0)",
        "",
        "Visit https://chatgpt.com/codex/settings/usage for up-to-date",
        "information on rate limits and credits",
        "",
        "Model:            gpt-5-codex (reasoning none, summaries auto)",
        "Directory:        ~/work/repo",
        "",
        "Context window:   99% left (2.25K used / 272K)",
        *rows,
    ]
    if stale:
        body.append("Warning:          limits may be stale - start new turn to refresh.")
    top = "╭" + "─" * width + "╮"
    bottom = "╰" + "─" * width + "╯"
    return "\n".join(["/status", "", top, *(f"│  {line:<{width - 3}} │" for line in body), bottom, ""])


def claude_panel(*sections: tuple[str, float, str | None], ansi: bool = False) -> str:
    lines = [" Settings:  Status   Config   Usage  (←/→ or tab to cycle)", ""]
    for title, used, reset in sections:
        head = f"\x1b[1m{title}\x1b[22m" if ansi else title
        fill = "█" * int(used // 2) + ("▌" if used % 2 >= 1 else "")
        colour = "\x1b[38;5;75m" if ansi else ""
        lines += [f" {head}", f" {colour}{fill:<50}{'' if not ansi else chr(27) + '[39m'} {used:g}% used"]
        if reset:
            lines.append(f" Resets {reset}")
        lines.append("")
    lines.append(" Esc to cancel")
    return "\n".join(lines) + "\n"


# --- Codex /status ------------------------------------------------------------------------------------


def test_codex_current_form_left_percent_bars_and_box() -> None:
    screen = codex_card(
        codex_row("5h limit", 64, "left", "16:12"),
        codex_row("Weekly limit", 20, "left", "08:00 on 7 Jun"),
    )
    provider, reading = parse_screen(screen, NOW)
    assert provider == "codex"
    assert reading == Reading.of(
        five_hour_used=36.0,
        weekly_used=80.0,
        resets_at="2026-06-03T16:12:00.000Z",
        weekly_resets_at="2026-06-07T08:00:00.000Z",
        parse_errors=(ASSUMED_UTC,),
    )


def test_codex_older_used_form_and_stale_warning() -> None:
    screen = codex_card(
        codex_row("5h limit", 72, "used", "03:14"),
        codex_row("Weekly limit", 40, "used", "03:34"),
        stale=True,
    )
    provider, reading = parse_screen(screen, NOW)
    assert provider == "codex"
    assert (reading.five_hour_used, reading.weekly_used) == (72.0, 40.0)
    # a bare time is the next one after now: 03:14 has passed today, so tomorrow
    assert reading.resets_at == "2026-06-04T03:14:00.000Z"
    assert reading.weekly_resets_at == "2026-06-04T03:34:00.000Z"
    assert reading.parse_errors == ("limits-may-be-stale", ASSUMED_UTC)


def test_codex_refresh_variant_of_the_stale_warning() -> None:
    text = "5h limit: [███░] 10% left (resets 11:00)\nWarning: limits may be stale - run /status again shortly.\n"
    assert parse_screen(text, NOW)[1].parse_errors == ("limits-may-be-stale", ASSUMED_UTC)


def test_codex_reset_times_use_the_given_zone() -> None:
    screen = codex_card(
        codex_row("5h limit", 64, "left", "16:12"), codex_row("Weekly limit", 20, "left", "08:00 on 7 Jun")
    )
    _, reading = parse_screen(screen, NOW, BERLIN)
    assert reading.resets_at == "2026-06-03T14:12:00.000Z"
    assert reading.weekly_resets_at == "2026-06-07T06:00:00.000Z"


def test_codex_narrow_terminal_wraps_the_reset_onto_its_own_line() -> None:
    screen = codex_card(
        codex_row("5h limit", 28, "left"),
        "                  (resets 03:14 on 5 Jun)",
        codex_row("Weekly limit", 90, "left"),
        "                  (resets 16:22 on 10 Jun)",
        width=46,
    )
    _, reading = parse_screen(screen, NOW)
    assert (reading.five_hour_used, reading.weekly_used) == (72.0, 10.0)
    assert reading.resets_at == "2026-06-05T03:14:00.000Z"
    assert reading.weekly_resets_at == "2026-06-10T16:22:00.000Z"


def test_codex_per_model_buckets_are_meters_of_their_own() -> None:
    screen = codex_card(
        codex_row("5h limit", 93, "left", "22:35"),
        codex_row("Weekly limit", 97, "left", "12:12 on 4 Jun"),
        "GPT-5.3-Codex-Spark limit:",
        codex_row("5h limit", 100, "left", "00:46 on 4 Jun"),
        codex_row("Weekly limit", 100, "left", "19:46 on 9 Jun"),
        codex_row("GPT-5.1-Codex-Mini 5h limit", 50, "left", "11:00"),
        stale=True,
    )
    _, reading = parse_screen(screen, NOW)
    assert (reading.five_hour_used, reading.weekly_used) == (7.0, 3.0)
    assert reading.resets_at == "2026-06-03T22:35:00.000Z"
    assert reading.weekly_resets_at == "2026-06-04T12:12:00.000Z"
    assert reading.meters[2:] == (
        Meter("five_hour_gpt_5_3_codex_spark", 0.0, "2026-06-04T00:46:00.000Z"),
        Meter("weekly_gpt_5_3_codex_spark", 0.0, "2026-06-09T19:46:00.000Z"),
        Meter("five_hour_gpt_5_1_codex_mini", 50.0, "2026-06-03T11:00:00.000Z"),
    )
    assert reading.parse_errors == ("limits-may-be-stale", ASSUMED_UTC)  # one pane, not two


def test_codex_long_window_labels() -> None:
    only_weekly = codex_card(codex_row("Weekly limit", 98, "left", "09:00 on 9 Jun"))
    _, reading = parse_screen(only_weekly, NOW)
    assert (reading.five_hour_used, reading.weekly_used, reading.resets_at) == (None, 2.0, None)
    with_monthly = codex_card(codex_row("5h limit", 50, "used", "12:00"), codex_row("Monthly limit", 12, "used"))
    assert parse_screen(with_monthly, NOW)[1].five_hour_used == 50.0
    only_monthly = codex_card(codex_row("Monthly limit", 12, "used", "07:08 on 7 Jul"))
    assert parse_screen(only_monthly, NOW)[1].meters == (Meter("monthly", 12.0, "2026-07-07T07:08:00.000Z"),)


def test_codex_screen_without_limits_says_so() -> None:
    screen = codex_card("Limits:           data not available yet")
    with pytest.raises(
        BadInput, match=r"^line \d+: Codex /status shows no limits \('Limits: data not available yet'\)"
    ):
        parse_screen(screen, NOW)


def test_codex_screen_pasted_twice_keeps_the_last_pane() -> None:
    first = codex_card(
        codex_row("5h limit", 80, "left", "11:00"), codex_row("Weekly limit", 60, "left", "10:00 on 8 Jun")
    )
    second = codex_card(
        codex_row("5h limit", 64, "left", "16:12"), codex_row("Weekly limit", 20, "left", "08:00 on 7 Jun")
    )
    _, reading = parse_screen(first + "\n" + second, NOW)
    assert (reading.five_hour_used, reading.weekly_used) == (36.0, 80.0)
    assert reading.resets_at == "2026-06-03T16:12:00.000Z"
    assert reading.parse_errors == ("multi-pane-trimmed", ASSUMED_UTC)


def test_each_card_header_starts_a_pane() -> None:
    first = codex_card(codex_row("5h limit", 80, "left", "11:00")).replace("/status", "")
    second = codex_card(codex_row("Weekly limit", 60, "left", "10:00 on 8 Jun")).replace("/status", "")
    _, reading = parse_screen(first + second, NOW)
    assert (reading.five_hour_used, reading.weekly_used) == (None, 40.0)
    assert reading.parse_errors == ("multi-pane-trimmed", ASSUMED_UTC)


def test_two_bare_row_pastes_split_on_the_repeated_row() -> None:
    text = "\n".join(
        [
            codex_row("5h limit", 90, "left", "11:00"),
            codex_row("Weekly limit", 90, "left", "09:00 on 9 Jun"),
            codex_row("5h limit", 40, "left", "12:00"),
        ]
    )
    _, reading = parse_screen(text, NOW)
    assert (reading.five_hour_used, reading.weekly_used) == (60.0, None)
    assert reading.parse_errors == ("multi-pane-trimmed", ASSUMED_UTC)


def test_stale_warning_counts_only_inside_the_kept_pane() -> None:
    stale = codex_card(codex_row("5h limit", 80, "left", "11:00"), stale=True)
    fresh = codex_card(codex_row("5h limit", 70, "left", "11:30"))
    assert parse_screen(stale + fresh, NOW)[1].parse_errors == ("multi-pane-trimmed", ASSUMED_UTC)
    assert parse_screen(fresh + stale, NOW)[1].parse_errors == (
        "multi-pane-trimmed",
        "limits-may-be-stale",
        ASSUMED_UTC,
    )


# --- Claude /usage ------------------------------------------------------------------------------------


def test_claude_panel_with_ansi_codes_and_a_per_model_week() -> None:
    panel = claude_panel(
        ("Current session", 77, "2pm (Europe/Berlin)"),
        ("Current week (all models)", 12, "Jun 5, 4pm (Europe/Berlin)"),
        ("Current week (Opus)", 99, "Jun 5, 4pm (Europe/Berlin)"),
        ansi=True,
    )
    assert "\x1b[" in panel
    provider, reading = parse_screen(panel, NOW)
    assert provider == "claude"
    assert reading == Reading(
        (
            Meter("five_hour", 77.0, "2026-06-03T12:00:00.000Z"),
            Meter("weekly", 12.0, "2026-06-05T14:00:00.000Z"),
            Meter("weekly_opus", 99.0, "2026-06-05T14:00:00.000Z"),
        )
    )


def test_claude_per_model_week_before_the_all_models_week() -> None:
    panel = claude_panel(
        ("Current session", 5, "7:59pm (America/New_York)"),
        ("Current week (Sonnet only)", 88, "Sep 19 at 5am (America/New_York)"),
        ("Current week (all models)", 33, "Jun 9 at 5am (America/New_York)"),
    )
    _, reading = parse_screen(panel, NOW)
    assert (reading.five_hour_used, reading.weekly_used) == (5.0, 33.0)
    assert reading.resets_at == "2026-06-03T23:59:00.000Z"
    assert reading.weekly_resets_at == "2026-06-09T09:00:00.000Z"


def test_claude_panel_inside_a_box_with_tree_marks() -> None:
    text = (
        "> /usage\n"
        "  ⎿  ╭──────────────────────────────────────────────╮\n"
        "     │ Current session                              │\n"
        "     │ ██████████▌                       21% used   │\n"
        "     │ Resets in 2h 15m                             │\n"
        "     │ Current week (all models)                    │\n"
        "     │ ███                               6% used    │\n"
        "     │ Resets Thu 12:00 PM                          │\n"
        "     ╰──────────────────────────────────────────────╯\n"
    )
    _, reading = parse_screen(text, NOW)
    assert (reading.five_hour_used, reading.weekly_used) == (21.0, 6.0)
    assert reading.resets_at == "2026-06-03T12:15:00.000Z"
    assert reading.weekly_resets_at == "2026-06-04T12:00:00.000Z"


def test_claude_headless_one_line_form() -> None:
    text = (
        "You are currently using your subscription to power your Claude Code usage\n"
        "Current session: 22% used · resets Jun 28, 10:40am (UTC)\n"
        "Current week (all models): 45% used · resets Jul 1, 8pm (UTC)\n"
        "Current week (Opus): 3% used · resets Jul 1, 8pm (UTC)\n"
    )
    provider, reading = parse_screen(text, NOW)
    assert provider == "claude"
    assert reading == Reading(
        (
            Meter("five_hour", 22.0, "2026-06-28T10:40:00.000Z"),
            Meter("weekly", 45.0, "2026-07-01T20:00:00.000Z"),
            Meter("weekly_opus", 3.0, "2026-07-01T20:00:00.000Z"),
        )
    )


def test_claude_reset_without_a_zone_uses_tz_else_utc() -> None:
    panel = claude_panel(("Current session", 50, "2pm"))
    assert parse_screen(panel, NOW)[1].resets_at == "2026-06-03T14:00:00.000Z"
    assert parse_screen(panel, NOW, BERLIN)[1].resets_at == "2026-06-03T12:00:00.000Z"


def test_claude_extra_usage_percent_is_not_a_window() -> None:
    panel = claude_panel(("Current session", 10, "2pm (UTC)")) + (
        " Extra usage\n ██████ 60% used\n $30.00 / $50.00 spent · Resets Jul 1 (UTC)\n"
    )
    _, reading = parse_screen(panel, NOW)
    assert (reading.five_hour_used, reading.weekly_used) == (10.0, None)


def test_claude_panel_repainted_keeps_the_last_frame() -> None:
    old = claude_panel(("Current session", 40, "2pm (UTC)"), ("Current week (all models)", 20, "Jun 5, 4pm (UTC)"))
    new = claude_panel(("Current session", 41, "2pm (UTC)"), ("Current week (all models)", 21, "Jun 5, 4pm (UTC)"))
    _, reading = parse_screen(old + new, NOW)
    assert (reading.five_hour_used, reading.weekly_used) == (41.0, 21.0)
    assert reading.parse_errors == ("multi-pane-trimmed",)


def test_codex_then_claude_keeps_the_claude_pane() -> None:
    text = codex_card(codex_row("5h limit", 64, "left", "16:12")) + "Current session: 22% used · resets 3pm (UTC)\n"
    provider, reading = parse_screen(text, NOW)
    assert (provider, reading.five_hour_used, reading.parse_errors) == ("claude", 22.0, ("multi-pane-trimmed",))


# --- failures -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["commit 1234abcd\nAuthor: someone\n\n    fix things", "Context window: 99% left (2K used / 272K)", "   \n"],
)
def test_screen_without_rate_limit_lines_names_what_was_expected(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_screen(text, NOW)
    message = str(caught.value)
    assert message.startswith(
        "expected a Codex /status screen (`5h limit: [bar] 64% left (resets 16:12)`) "
        "or a Claude /usage screen (`Current session … 77% used`)"
    )
    assert "\n" not in message
    if text.strip():
        assert "(line 1: " in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5h limit: [██] 140% left (resets 16:12)", "line 1: expected a percent from 0 to 100, got 140%"),
        ("\nCurrent session\n██ -5% used", "line 3: expected a percent from 0 to 100, got -5%"),
        (
            "Current session: 1e3% used",
            "read no meter from this Claude /usage screen: line 1: 'Current session: 1e3% used' (the 5h meter) "
            "has no `NN% used` after it; expected rows like `Current session … 77% used",
        ),
        (
            "Weekly limit: [██] 64%",
            "read no meter from this Codex /status screen: line 1: 'Weekly limit: [██] 64%' (the weekly meter) "
            "shows '64%': expected `NN% left` or `NN% used`; expected rows like `5h limit: [bar] 64% left",
        ),
        (
            "Current session\nResets 2pm",
            "read no meter from this Claude /usage screen: line 1: 'Current session' (the 5h meter) has no `NN% used`",
        ),
    ],
)
def test_bad_values_name_the_line(text: str, expected: str) -> None:
    with pytest.raises(BadInput, match="^" + re.escape(expected)):
        parse_screen(text, NOW)


def test_unreadable_reset_and_unknown_zone_are_flagged_not_fatal() -> None:
    _, reading = parse_screen("Current session: 50% used · resets whenever\n", NOW)
    assert (reading.five_hour_used, reading.resets_at) == (50.0, None)
    assert reading.parse_errors == ("reset-unparsed:five_hour",)
    _, reading = parse_screen("Current session: 50% used · resets 2pm (Mars/Olympus)\n", NOW, BERLIN)
    assert reading.resets_at == "2026-06-03T12:00:00.000Z"
    assert reading.parse_errors == ("reset-zone-unknown", "reset-zone-assumed:Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        ("16:12", NOW, "2026-06-03T16:12:00.000Z"),
        ("09:58", NOW, "2026-06-03T09:58:00.000Z"),  # drawn a moment ago: inside the grace
        ("09:50", NOW, "2026-06-04T09:50:00.000Z"),
        ("00:30 on 1 Jan", datetime(2026, 12, 31, 22, 0, tzinfo=UTC), "2027-01-01T00:30:00.000Z"),
        ("23:50 on 31 Dec", datetime(2027, 1, 1, 0, 10, tzinfo=UTC), "2026-12-31T23:50:00.000Z"),
        ("Jun 28, 10:40am (UTC)", NOW, "2026-06-28T10:40:00.000Z"),
        ("Sep 19 at 5am (Europe/Berlin)", NOW, "2026-09-19T03:00:00.000Z"),
        ("12am", NOW, "2026-06-04T00:00:00.000Z"),
        ("12pm (UTC)", NOW, "2026-06-03T12:00:00.000Z"),
        ("7pm (GMT+2)", NOW, "2026-06-03T17:00:00.000Z"),
        ("in 4 hr 48 min", NOW, "2026-06-03T14:48:00.000Z"),
        ("in 1 day 2 hr", NOW, "2026-06-04T12:00:00.000Z"),
        ("tomorrow at 5am", NOW, "2026-06-04T05:00:00.000Z"),
        ("Mon 9:00 AM", NOW, "2026-06-08T09:00:00.000Z"),
        ("2:30 AM (America/New_York)", datetime(2026, 3, 8, 5, 0, tzinfo=UTC), "2026-03-08T07:30:00.000Z"),
    ],
)
def test_resolve_reset(text: str, now: datetime, expected: str) -> None:
    moment, codes = resolve_reset(text, now)
    assert moment is not None and codes == ()
    assert moment.isoformat().replace("+00:00", ".000Z") == expected


@pytest.mark.parametrize("text", ["", "soon", "25:00", "13pm", "31 Feb 10:00", "in 3 months", "Jun 5, 4pm 1999"])
def test_resolve_reset_refuses_nonsense(text: str) -> None:
    assert resolve_reset(text, NOW) == (None, ("reset-unparsed",))


# --- screen properties --------------------------------------------------------------------------------

FRAGMENTS = [
    "5h limit:",
    "Weekly limit:",
    "Monthly limit:",
    "GPT-5 limit:",
    "[████░░]",
    "64% left",
    "12.5% used",
    "101% used",
    "-3% left",
    "% used",
    "(resets 16:12)",
    "(resets 08:00 on 7 Jun)",
    "(resets 25:99 on 31 Feb)",
    "(resets",
    "Current session",
    "Current week (all models)",
    "Current week (Opus)",
    "Current week (",
    "Resets 2pm (Europe/Berlin)",
    "Resets Jun 28, 10:40am (UTC)",
    "Resets in 99999 d",
    "resets 9999:99",
    "(Not/AZone)",
    "(../../etc/passwd)",
    "·",
    "│",
    "╭──╮",
    "\x1b[1m",
    "\x1b]8;;http://x\x07",
    "\x1b",
    "\r",
    "/status",
    "Warning: limits may be stale",
    "Limits: data not available yet",
    "Extra usage",
    "in 2h",
    ":",
    "%",
    "٣",
    "\u00a0",
]


@given(st.text(max_size=300))
def test_any_text_is_a_reading_or_bad_input(text: str) -> None:
    try:
        provider, reading = parse_screen(text, NOW)
    except BadInput as error:
        assert "\n" not in str(error)
        return
    assert provider in ("codex", "claude")
    assert not reading.is_empty()


@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=30), st.sampled_from([" ", "\n"]))
def test_screen_like_noise_is_a_reading_or_bad_input(parts: list[str], glue: str) -> None:
    try:
        _, reading = parse_screen(glue.join(parts), NOW, BERLIN)
    except BadInput as error:
        assert "\n" not in str(error)
        return
    for value in (reading.five_hour_used, reading.weekly_used):
        assert value is None or 0 <= value <= 100
    for stamp in (reading.resets_at, reading.weekly_resets_at):
        assert stamp is None or (len(stamp) == 24 and stamp.endswith("Z"))


zones = st.integers(min_value=-12 * 4, max_value=14 * 4).map(
    lambda quarters: timezone(timedelta(minutes=15 * quarters))
)
ahead = st.integers(min_value=6 * 60, max_value=7 * 24 * 3600)  # seconds after NOW


def codex_reset_text(moment: datetime, now: datetime, zone: tzinfo) -> str:
    """As Codex formats it: the time alone on the screen's own day, else with the day and month."""
    local, today = moment.astimezone(zone), now.astimezone(zone)
    text = f"{local:%H:%M}"
    return text if local.date() == today.date() else f"{text} on {local.day} {local:%b}"


@given(
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=100),
    st.sampled_from(["left", "used"]),
    ahead,
    ahead,
    zones,
    st.booleans(),
)
def test_codex_screen_round_trip(
    five: int, week: int, kind: str, five_in: int, week_in: int, zone: tzinfo, stale: bool
) -> None:
    five_reset = NOW + timedelta(seconds=five_in)
    week_reset = NOW + timedelta(seconds=week_in)
    screen = codex_card(
        codex_row("5h limit", five, kind, codex_reset_text(five_reset, NOW, zone)),
        codex_row("Weekly limit", week, kind, codex_reset_text(week_reset, NOW, zone)),
        stale=stale,
    )
    provider, reading = parse_screen(screen, NOW, zone)

    def used(shown: int) -> float:
        return float(shown if kind == "used" else 100 - shown)

    assert provider == "codex"
    assert (reading.five_hour_used, reading.weekly_used) == (used(five), used(week))
    assert reading.resets_at == five_reset.replace(second=0).strftime("%Y-%m-%dT%H:%M:00.000Z")
    assert reading.weekly_resets_at == week_reset.replace(second=0).strftime("%Y-%m-%dT%H:%M:00.000Z")
    assumed = f"reset-zone-assumed:{clock.zone_label(zone)}"
    assert reading.parse_errors == (("limits-may-be-stale", assumed) if stale else (assumed,))


def claude_reset_text(moment: datetime, now: datetime) -> str:
    hour = moment.hour % 12 or 12
    clock_text = f"{hour}{f':{moment.minute:02d}' if moment.minute else ''}{'am' if moment.hour < 12 else 'pm'}"
    if moment.date() == now.date():
        return f"{clock_text} (UTC)"
    return f"{moment:%b} {moment.day}, {clock_text} (UTC)"


@given(
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=100),
    ahead,
    ahead,
    st.booleans(),
    st.integers(min_value=1, max_value=3),
)
def test_claude_screen_round_trip(
    five: int, week: int, five_in: int, week_in: int, headless: bool, copies: int
) -> None:
    five_reset = (NOW + timedelta(seconds=five_in)).replace(second=0)
    week_reset = (NOW + timedelta(seconds=week_in)).replace(second=0)
    if headless:
        screen = (
            f"Current session: {five}% used · resets {claude_reset_text(five_reset, NOW)}\n"
            f"Current week (all models): {week}% used · resets {claude_reset_text(week_reset, NOW)}\n"
        )
    else:
        screen = claude_panel(
            ("Current session", five, claude_reset_text(five_reset, NOW)),
            ("Current week (all models)", week, claude_reset_text(week_reset, NOW)),
            ("Current week (Opus)", 100 - week, None),
            ansi=True,
        )
    provider, reading = parse_screen(screen * copies, NOW)
    assert provider == "claude"
    opus = () if headless else (Meter("weekly_opus", float(100 - week)),)
    assert reading == Reading(
        (
            Meter("five_hour", float(five), five_reset.strftime("%Y-%m-%dT%H:%M:00.000Z")),
            Meter("weekly", float(week), week_reset.strftime("%Y-%m-%dT%H:%M:00.000Z")),
            *opus,
        ),
        parse_errors=("multi-pane-trimmed",) if copies > 1 else (),
    )


# --- Codex session logs -------------------------------------------------------------------------------

HOUR = timedelta(hours=1)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def window(
    used: Any, minutes: int, *, resets_at: datetime | None = None, resets_in: int | None = None
) -> dict[str, Any]:
    value: dict[str, Any] = {"used_percent": used, "window_minutes": minutes}
    if resets_at is not None:
        value["resets_at"] = int(resets_at.timestamp())
    if resets_in is not None:
        value["resets_in_seconds"] = resets_in
    return value


def token_count(
    moment: datetime, primary: Any, secondary: Any = None, *, info: Any = None, **extra: Any
) -> dict[str, Any]:
    limits: dict[str, Any] = {"primary": primary, "secondary": secondary, **extra}
    return {
        "timestamp": stamp(moment),
        "type": "event_msg",
        "payload": {"type": "token_count", "info": info, "rate_limits": limits},
    }


def session_meta(moment: datetime, cwd: str = "/somewhere", remote: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"id": "0199", "timestamp": stamp(moment), "cwd": cwd, "originator": "codex_cli_rs"}
    if remote:
        payload["git"] = {"commit_hash": "a" * 40, "branch": "main", "repository_url": remote}
    return {"timestamp": stamp(moment), "type": "session_meta", "payload": payload}


def write_rollout(
    home: Path, start: datetime, lines: list[Any], *, archived: bool = False, mtime: datetime | None = None
) -> Path:
    folder = home / "archived_sessions" if archived else home / "sessions" / f"{start:%Y/%m/%d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"rollout-{start:%Y-%m-%dT%H-%M-%S}-{abs(hash(str(lines))) % 10**8:08d}.jsonl"
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")
    if mtime is None:  # as Codex leaves it: written last when its last line was
        written = [
            datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
            for line in lines
            if isinstance(line, dict) and "timestamp" in line
        ]
        mtime = max(written, default=start)
    last = mtime
    os.utime(path, (last.timestamp(), last.timestamp()))
    return path


def normal_session(home: Path, at: datetime, five: float, week: float, **meta: Any) -> Path:
    return write_rollout(
        home,
        at - HOUR,
        [
            session_meta(at - HOUR, **meta),
            {"timestamp": stamp(at - HOUR), "type": "response_item", "payload": {"type": "message"}},
            token_count(at, window(five, 300, resets_at=at + 2 * HOUR), window(week, 10080, resets_at=at + 72 * HOUR)),
        ],
    )


def test_newest_reading_across_sessions_and_archived(tmp_path: Path) -> None:
    normal_session(tmp_path, NOW - 50 * timedelta(minutes=1), 10, 20)
    write_rollout(
        tmp_path,
        NOW - 3 * HOUR,
        [
            session_meta(NOW - 3 * HOUR),
            token_count(NOW - 2 * timedelta(minutes=1), window(30, 300, resets_at=NOW + HOUR), window(40, 10080)),
        ],
        archived=True,
    )
    reading = latest_rate_limits(tmp_path, NOW, HOUR)
    assert reading == Reading.of(five_hour_used=30.0, weekly_used=40.0, resets_at="2026-06-03T11:00:00.000Z")


def test_info_null_duplicates_swapped_slots_and_resets_in_seconds(tmp_path: Path) -> None:
    at = NOW - timedelta(minutes=5)
    line = token_count(at, window(12.5, 10080, resets_in=3600), window(40, 300, resets_in=600), info=None)
    write_rollout(tmp_path, NOW - HOUR, [session_meta(NOW - HOUR), line, line, line])
    reading = latest_rate_limits(tmp_path, NOW, HOUR)
    assert reading == Reading.of(
        five_hour_used=40.0,
        weekly_used=12.5,
        resets_at=stamp(at + timedelta(seconds=600)),
        weekly_resets_at=stamp(at + HOUR),
    )


def test_later_lines_without_rate_limits_and_per_model_buckets_are_passed_over(tmp_path: Path) -> None:
    account = token_count(NOW - timedelta(minutes=9), window(8, 300), window(26, 10080), limit_id="codex")
    spark = token_count(NOW - timedelta(minutes=8), window(0, 300), window(0, 10080), limit_id="codex_bengalfox")
    no_limits = {
        "timestamp": stamp(NOW - timedelta(minutes=7)),
        "type": "event_msg",
        "payload": {"type": "token_count", "info": {"total_token_usage": {"total_tokens": 5}}, "rate_limits": None},
    }
    write_rollout(tmp_path, NOW - HOUR, [session_meta(NOW - HOUR), account, spark, no_limits])
    reading = latest_rate_limits(tmp_path, NOW, HOUR)
    assert (reading.five_hour_used, reading.weekly_used) == (8.0, 26.0)


def test_only_weekly_window_and_over_100_clamped(tmp_path: Path) -> None:
    write_rollout(tmp_path, NOW - HOUR, [token_count(NOW - timedelta(minutes=1), window(100.4, 10080), None)])
    reading = latest_rate_limits(tmp_path, NOW, HOUR)
    assert (reading.five_hour_used, reading.weekly_used) == (None, 100.0)
    assert reading.parse_errors == ("used-over-100-clamped",)


def test_stale_reading_is_refused(tmp_path: Path) -> None:
    normal_session(tmp_path, NOW - 3 * HOUR, 10, 20)
    with pytest.raises(BadInput) as caught:
        latest_rate_limits(tmp_path, NOW, timedelta(minutes=90))
    assert str(caught.value) == (
        "newest Codex rate-limit reading is from 2026-06-03T07:00:00.000Z, older than 1h 30m; "
        "run a Codex command or pass --used"
    )


def test_no_reading_names_what_and_where(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"^no Codex session logs: expected rollout-\*\.jsonl files in .*sessions/YYYY"):
        latest_rate_limits(tmp_path, NOW, HOUR)
    write_rollout(tmp_path, NOW - HOUR, [session_meta(NOW - HOUR), {"timestamp": stamp(NOW), "type": "turn_context"}])
    with pytest.raises(
        BadInput, match=r"^no Codex rate-limit reading: expected token_count events .* \(1 files read\)"
    ):
        latest_rate_limits(tmp_path, NOW, HOUR)


def test_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    good = token_count(NOW - timedelta(minutes=3), window(15, 300), window(25, 10080))
    broken = json.dumps(token_count(NOW - timedelta(minutes=1), window(99, 300)))
    write_rollout(
        tmp_path,
        NOW - HOUR,
        [
            session_meta(NOW - HOUR),
            good,
            token_count(NOW - timedelta(minutes=2), window("x", 300)),
            token_count(NOW - timedelta(minutes=2), window(float("nan"), 300)),
            {"type": "event_msg", "payload": {"type": "token_count", "rate_limits": {"primary": window(1, 300)}}},
            broken[: len(broken) // 2],  # a line Codex was still writing
        ],
    )
    reading = latest_rate_limits(tmp_path, NOW, HOUR)
    assert (reading.five_hour_used, reading.weekly_used) == (15.0, 25.0)
    assert reading.parse_errors == ("skipped-lines:4",)


def test_prefers_the_session_of_this_repository(tmp_path: Path) -> None:
    home, repo = tmp_path / "codex", tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    normal_session(home, NOW - timedelta(minutes=20), 10, 11, cwd=str(repo / "sub"))
    normal_session(home, NOW - timedelta(minutes=2), 70, 71, cwd="/other/login/project")
    assert latest_rate_limits(home, NOW, HOUR).five_hour_used == 70.0
    assert latest_rate_limits(home, NOW, HOUR, prefer_cwd=repo).five_hour_used == 10.0
    assert latest_rate_limits(home, NOW, HOUR, prefer_cwd=tmp_path / "elsewhere").five_hour_used == 70.0
    # a matching session too old to count gives way to the newest one
    assert latest_rate_limits(home, NOW, timedelta(minutes=10), prefer_cwd=repo).five_hour_used == 70.0


def test_prefers_the_session_with_this_remote(tmp_path: Path) -> None:
    normal_session(tmp_path, NOW - timedelta(minutes=20), 10, 11, remote="git@github.com:acme/widget.git")
    normal_session(tmp_path, NOW - timedelta(minutes=2), 70, 71, remote="https://github.com/acme/other")
    reading = latest_rate_limits(tmp_path, NOW, HOUR, prefer_remote="https://github.com/Acme/widget")
    assert reading.five_hour_used == 10.0


def test_older_files_are_not_read_once_they_cannot_win(tmp_path: Path) -> None:
    normal_session(tmp_path, NOW - timedelta(minutes=2), 70, 71)
    garbage = [session_meta(NOW - 5 * HOUR), '{"type":"event_msg","payload":{"type":"token_count"']
    write_rollout(tmp_path, NOW - 5 * HOUR, garbage, mtime=NOW - 4 * HOUR)
    assert latest_rate_limits(tmp_path, NOW, HOUR).parse_errors == ()
    # ...but with a preference every recent file is a candidate
    write_rollout(tmp_path, NOW - 2 * HOUR, garbage, mtime=NOW - timedelta(minutes=30))
    assert latest_rate_limits(tmp_path, NOW, HOUR, prefer_cwd=tmp_path).parse_errors == ("skipped-lines:1",)


def test_reset_since_the_reading_is_flagged(tmp_path: Path) -> None:
    at = NOW - timedelta(minutes=30)
    write_rollout(
        tmp_path, at, [token_count(at, window(90, 300, resets_at=NOW - timedelta(minutes=1)), window(50, 10080))]
    )
    assert latest_rate_limits(tmp_path, NOW, HOUR).parse_errors == ("reset-since-reading",)


def test_large_lines_across_read_blocks(tmp_path: Path) -> None:
    big = {"timestamp": stamp(NOW), "type": "response_item", "payload": {"output": "x" * 300_000}}
    padded = token_count(NOW - timedelta(minutes=1), window(33, 300), window(44, 10080), info={"pad": "y" * 200_000})
    write_rollout(tmp_path, NOW - HOUR, [session_meta(NOW - HOUR), padded, big, big])
    reading = latest_rate_limits(tmp_path, NOW, HOUR)
    assert (reading.five_hour_used, reading.weekly_used, reading.parse_errors) == (33.0, 44.0, ())


def test_iter_readings_yields_every_reading_in_order(tmp_path: Path) -> None:
    lines = [session_meta(NOW - HOUR, cwd="/r")] + [
        token_count(NOW - timedelta(minutes=50 - i), window(i, 300), None) for i in range(5)
    ]
    path = write_rollout(tmp_path, NOW - HOUR, [*lines, "{not json"])
    found = list(codex_logs.iter_readings(path))
    assert [item.reading.five_hour_used for item in found] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert {item.cwd for item in found} == {"/r"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
window_like = st.fixed_dictionaries(
    {},
    optional={
        "used_percent": json_values | st.floats(min_value=-10, max_value=1e6),
        "window_minutes": st.sampled_from([300, 10080, 1440, 43200, 299]) | json_values,
        "resets_at": st.integers(min_value=-(10**20), max_value=10**20) | json_values,
        "resets_in_seconds": st.integers(min_value=-(10**20), max_value=10**20) | json_values,
    },
)
event_like = st.fixed_dictionaries(
    {
        "timestamp": st.sampled_from(["2026-06-03T09:59:00Z", "2026-06-03T09:59:00.5+02:00", "yesterday", ""])
        | json_values,
        "type": st.sampled_from(["event_msg", "session_meta"]) | json_values,
        "payload": st.fixed_dictionaries(
            {"type": st.just("token_count") | json_values},
            optional={
                "info": json_values,
                "rate_limits": st.fixed_dictionaries(
                    {},
                    optional={
                        "limit_id": st.sampled_from(["codex", "codex_other"]) | json_values,
                        "primary": window_like | json_values,
                        "secondary": window_like | json_values,
                    },
                )
                | json_values,
            },
        )
        | json_values,
    }
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event_like | json_values, max_size=8), st.binary(max_size=40), st.booleans())
def test_any_rollout_content_is_a_reading_or_bad_input(events: list[Any], noise: bytes, archived: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        path = write_rollout(home, NOW - HOUR, events, archived=archived, mtime=NOW)
        with path.open("ab") as handle:
            handle.write(noise + b'\n{"token_count"' + noise)
        try:
            reading = latest_rate_limits(home, NOW, timedelta(days=3650), prefer_cwd=home)
        except BadInput as error:
            assert "\n" not in str(error)
            return
        for value in (reading.five_hour_used, reading.weekly_used):
            assert value is None or 0 <= value <= 100
        assert not reading.is_empty()
        assert sum(1 for _ in codex_logs.iter_readings(path)) >= 1


@settings(max_examples=60, deadline=None)
@given(
    st.floats(min_value=0, max_value=100),
    st.floats(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=8 * 24 * 3600),
    st.booleans(),
)
def test_codex_log_round_trip(five: float, week: float, resets_in: int, swap: bool) -> None:
    at = NOW - timedelta(minutes=1)
    windows = [window(five, 300, resets_in=resets_in), window(week, 10080, resets_at=at + timedelta(seconds=resets_in))]
    if swap:
        windows.reverse()
    with tempfile.TemporaryDirectory() as folder:
        write_rollout(Path(folder), at, [token_count(at, *windows)])
        reading = latest_rate_limits(Path(folder), NOW, HOUR)
    assert (reading.five_hour_used, reading.weekly_used) == (five, week)
    expected = stamp(at + timedelta(seconds=resets_in))
    assert reading.resets_at == expected and reading.weekly_resets_at == expected


# --- Claude Code status line --------------------------------------------------------------------------


def status_payload(**rate_limits: Any) -> dict[str, Any]:
    return {
        "hook_event_name": "Status",
        "session_id": "abc123",
        "transcript_path": "/home/u/.claude/projects/x/abc123.jsonl",
        "cwd": "/home/u/repo",
        "model": {"id": "claude-opus-4-1", "display_name": "Opus"},
        "workspace": {"current_dir": "/home/u/repo/src", "project_dir": "/home/u/repo"},
        "version": "2.1.90",
        "output_style": {"name": "default"},
        "cost": {"total_cost_usd": 0.42, "total_duration_ms": 45000},
        "context_window": {"used_percentage": 18, "context_window_size": 200000},
        "exceeds_200k_tokens": False,
        "rate_limits": rate_limits,
    }


def test_statusline_reading_and_display_fields() -> None:
    payload = status_payload(
        five_hour={"used_percentage": 23.5, "resets_at": 1738425600},
        seven_day={"used_percentage": 41.2, "resets_at": 1738857600},
    )
    reading, info = parse_statusline(json.dumps(payload))
    assert reading == Reading.of(
        five_hour_used=23.5,
        weekly_used=41.2,
        resets_at="2025-02-01T16:00:00.000Z",
        weekly_resets_at="2025-02-06T16:00:00.000Z",
    )
    assert info == {
        "model": "Opus",
        "model_id": "claude-opus-4-1",
        "session_id": "abc123",
        "cwd": "/home/u/repo/src",
        "project_dir": "/home/u/repo",
        "version": "2.1.90",
        "transcript_path": "/home/u/.claude/projects/x/abc123.jsonl",
        "output_style": "default",
        "cost_usd": 0.42,
        "context_used_percentage": 18.0,
    }


def test_statusline_without_rate_limits_is_an_empty_reading() -> None:
    payload = status_payload()
    del payload["rate_limits"]
    reading, info = parse_statusline(json.dumps(payload))
    assert reading.is_empty() and info["model"] == "Opus"
    reading, _ = parse_statusline(json.dumps(status_payload(five_hour={"used_percentage": 5}, seven_day=None)))
    assert reading == Reading.of(five_hour_used=5.0)
    reading, info = parse_statusline('{"model": "odd", "cost": {"total_cost_usd": "free"}}')
    assert reading.is_empty() and info["model"] is None and info["cost_usd"] is None


def test_statusline_over_100_is_clamped_and_flagged() -> None:
    reading, _ = parse_statusline(json.dumps(status_payload(five_hour={"used_percentage": 103, "resets_at": 1})))
    assert (reading.five_hour_used, reading.parse_errors) == (100.0, ("used-over-100-clamped",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "expected one JSON object like"),
        ('{"rate_limits": ', "expected one JSON object like"),
        ("[1, 2]", "expected a JSON object like .*, got an array"),
        ('{"rate_limits": [1]}', "expected rate_limits like .*, got an array"),
        ('{"rate_limits": {"five_hour": 5}}', "expected rate_limits.five_hour like .*, got a number"),
        ('{"rate_limits": {"five_hour": {"used_percentage": NaN}}}', "NaN is not a number JSON allows"),
        (
            '{"rate_limits": {"five_hour": {"used_percentage": "12"}}}',
            "used_percentage to be a percent 0-100, got '12'",
        ),
        (
            '{"rate_limits": {"seven_day": {"used_percentage": true}}}',
            "used_percentage to be a percent 0-100, got True",
        ),
        ('{"rate_limits": {"seven_day": {"used_percentage": -1}}}', "used_percentage to be a percent 0-100, got -1"),
        ('{"rate_limits": {"seven_day": {"resets_at": "tomorrow"}}}', "resets_at in epoch seconds, got 'tomorrow'"),
        ('{"rate_limits": {"seven_day": {"resets_at": 1e300}}}', "resets_at in epoch seconds, got 1e\\+300"),
        ('{"rate_limits": {"seven_day": {"resets_at": 1' + "0" * 400 + "}}}", "resets_at in epoch seconds"),
    ],
)
def test_statusline_bad_input_names_the_expected_shape(text: str, expected: str) -> None:
    with pytest.raises(BadInput, match=expected) as caught:
        parse_statusline(text)
    assert str(caught.value).startswith("claude status line: expected ")
    assert "\n" not in str(caught.value)


@given(json_values | st.dictionaries(st.just("rate_limits"), json_values | st.dictionaries(
    st.sampled_from(["five_hour", "seven_day", "other"]),
    json_values | st.fixed_dictionaries({}, optional={"used_percentage": json_values, "resets_at": json_values}),
)))  # fmt: skip
def test_any_json_is_a_reading_or_bad_input(data: Any) -> None:
    try:
        reading, info = parse_statusline(json.dumps(data))
    except BadInput as error:
        assert "\n" not in str(error)
        return
    for value in (reading.five_hour_used, reading.weekly_used):
        assert value is None or 0 <= value <= 100
    assert set(info) >= {"model", "cwd"}


@given(st.text(max_size=200))
def test_any_text_is_a_status_reading_or_bad_input(text: str) -> None:
    try:
        reading, _ = parse_statusline(text)
    except BadInput as error:
        assert "\n" not in str(error)
        return
    assert reading.parse_errors in ((), ("used-over-100-clamped",))


@given(
    st.floats(min_value=0, max_value=100) | st.integers(min_value=0, max_value=100),
    st.floats(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=4_000_000_000),
    st.integers(min_value=0, max_value=4_000_000_000),
)
def test_statusline_round_trip(five: float, week: float, five_reset: int, week_reset: int) -> None:
    payload = status_payload(
        five_hour={"used_percentage": five, "resets_at": five_reset},
        seven_day={"used_percentage": week, "resets_at": week_reset},
    )
    reading, _ = parse_statusline(json.dumps(payload))
    assert (reading.five_hour_used, reading.weekly_used) == (five, week)
    assert reading.resets_at == stamp(datetime.fromtimestamp(five_reset, UTC))
    assert reading.weekly_resets_at == stamp(datetime.fromtimestamp(week_reset, UTC))


def test_statusline_path_imports_nothing_heavy() -> None:
    probe = (
        "import sys, gittracker.sources, gittracker.sources.statusline\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pygit2', 'scipy', 'click', 'numpy'}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_module_constants_are_the_documented_codes() -> None:
    assert screens.MULTI_PANE == "multi-pane-trimmed" and screens.STALE == "limits-may-be-stale"
    assert statusline.CLAMPED == codex_logs.CLAMPED == "used-over-100-clamped"
