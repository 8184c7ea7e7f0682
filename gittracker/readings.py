"""Where a capacity reading comes from: typed options, a pasted screen (``--from``), or the provider's
own local data (``--auto``: Codex session logs; the last Claude status-line reading), and the lines
``start``/``end``/``snapshot`` echo about it (``read from paste: 5h 36% used (resets 13:57 CET), weekly 38%``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from gittracker import clock
from gittracker.capacity import Reading, from_options, meter_label
from gittracker.errors import BadInput
from gittracker.files import read_input
from gittracker.statuscache import last_statusline_reading

MAX_SCREEN_BYTES = 1 << 20
DEFAULT_MAX_AGE = timedelta(minutes=30)


def read_screen(source: str) -> str:
    """The text of ``--from FILE`` or ``--from -`` (stdin), refusing what cannot be a pasted screen."""
    return read_text(source, MAX_SCREEN_BYTES, "--from", "a pasted /status or /usage screen")


def read_text(source: str, limit: int, label: str, expected: str) -> str:
    """FILE or ``-`` (stdin) as text: at most ``limit`` bytes, no binary data; errors start with ``label``."""
    return read_input(source, limit, label, f"{expected} (text of at most {limit >> 20} MiB)").decode(
        "utf-8", "replace"
    )


# Where ``--auto`` reads each provider's meters, as the echo names it.
AUTO_ORIGIN = {"codex": "Codex logs", "claude": "the status line"}
# What a parse_errors code means for the user, where its source gave no sentence of its own.
_WARNINGS = {
    "limits-may-be-stale": "the screen says its limits may be stale; refresh it for current figures",
    "multi-pane-trimmed": "the paste holds several screens; read only the last",
    "reset-since-reading": "the 5h window has reset since this reading; run a Codex command for a fresh one",
    "weekly-reset-since-reading": "the weekly window has reset since this reading; run a Codex command for a fresh one",
    "used-over-100-clamped": "a meter read over 100% used; stored as 100%",
    "skipped-lines": "skipped log lines that could not be read",
    "unknown-window-minutes": "a Codex window of a length no meter has (its minutes); not recorded",
    "meter-unread": "a meter on the screen could not be read; not recorded",
    "reset-unparsed": "a reset time on the screen could not be read; recorded without it",
    "reset-zone-assumed": "the screen's reset times name no zone; read in the zone shown",
    "reset-zone-unknown": "the screen names a zone git-tracker does not know",
}


# The options that type each meter's reset time.
_TYPED_RESET_OPTIONS = {"five_hour": "--resets-at", "weekly": "--weekly-resets-at"}


@dataclass(frozen=True)
class Capture:
    """A reading, where it came from, and what the user should be told about it."""

    reading: Reading
    origin: str | None = None  # "paste", "Codex logs", "the status line"; None: typed on the command line
    zones: Mapping[str, tzinfo] = field(default_factory=dict)  # meter -> the zone its reset was read in
    zone: tzinfo = UTC  # the zone any other reset time is shown in (this machine's)
    notes: Mapping[str, str] = field(default_factory=dict)  # parse_errors code -> what it means here

    def echo(self) -> list[str]:
        """``read from paste: …`` and one ``warning: …`` per thing to know; typed values are not echoed, only a
        typed reset time already past is."""
        now = clock.now()
        if self.origin is None:
            return [f"warning: {line}" for line in self._typed_resets_past(now)]
        lines = [f"read from {self.origin}: {self.summary(now)}"]
        lines += [f"warning: {self.warning(code)}" for code in self.reading.parse_errors]
        return lines

    def _typed_resets_past(self, now: datetime) -> list[str]:
        """A typed reset time is the next reset; one already past is most often a local time typed without its
        zone. It is kept, as the reset that happened then (the reset guards count it)."""
        return [
            f"{option} {stamp} is already past: taken as a reset of the {meter_label(meter)} window that happened "
            "then (a time without a zone is UTC)"
            for meter, option in _TYPED_RESET_OPTIONS.items()
            if (stamp := self.reading.resets_of(meter)) is not None and clock.parse_ts(stamp) <= now
        ]

    def summary(self, now: datetime) -> str:
        """``5h 36% used (resets 13:57 CET), weekly 38% (resets 08:00 CEST on 7 Jun)``, shortest meter first."""

        def show(meter: str, stamp: str) -> str:
            return shown_time(stamp, self.zones.get(meter, self.zone), now)

        return self.reading.summary(show, used=" used")

    def warning(self, code: str) -> str:
        kind, _, detail = code.partition(":")
        if code in self.notes:
            return self.notes[code]
        general = _WARNINGS.get(kind)
        if general is None:
            return code
        return f"{general} ({detail})" if detail else general


def shown_time(stamp: str, zone: tzinfo, now: datetime) -> str:
    """A stored UTC time as the user reads clocks: ``13:57 CET``, or ``08:00 CEST on 7 Jun`` on another day."""
    moment = clock.parse_ts(stamp).astimezone(zone)
    text = f"{moment:%H:%M} {moment.tzname() or clock.zone_label(zone)}"
    if moment.date() != now.astimezone(zone).date():
        text += f" on {moment.day} {moment:%b}"
    return text


def capture_for(
    provider: str,
    options: dict[str, Any],
    *,
    repo_root: Path | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
    screen_timezone: str | None = None,
) -> Capture:
    """One reading from exactly one source (mixing sources is refused rather than silently merged), with where it
    came from and what to tell the user about it.

    ``screen_timezone`` is ``[tracker] timezone``: the zone a pasted screen's clock times are in when the
    screen names none (else TZ, else the system zone: ``clock.local_zone``).
    """
    source = options.pop("source", None)
    auto = options.pop("auto", False)
    typed = {key: value for key, value in options.items() if value is not None}
    chosen = [
        name for name, used in (("--from", source is not None), ("--auto", auto), ("typed values", typed)) if used
    ]
    if len(chosen) > 1:
        raise BadInput(f"capacity: expected one source, got {' and '.join(chosen)}")
    if source is not None:
        return _from_screen(provider, read_screen(source), clock.local_zone(screen_timezone))
    if auto:
        reading = auto_reading(provider, repo_root=repo_root, max_age=max_age)
        return Capture(reading, AUTO_ORIGIN[provider], zone=clock.local_zone(screen_timezone))
    return Capture(from_options(**options))


def _from_screen(provider: str, text: str, zone: tzinfo) -> Capture:
    from gittracker.sources import screens

    screen = screens.read_screen(text, clock.now(), zone)
    if screen.provider != provider:
        names = {"codex": "a Codex /status", "claude": "a Claude /usage"}
        raise BadInput(f"--from: expected a {provider} screen, but this is {names.get(screen.provider)} screen")
    return Capture(screen.reading, "paste", screen.zones, zone, screen.notes)


def auto_reading(provider: str, *, repo_root: Path | None, max_age: timedelta) -> Reading:
    now = clock.now()
    if provider == "codex":
        from gittracker.sources.codex_logs import latest_rate_limits

        home = Path(os.environ.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex"))
        return latest_rate_limits(home, now, max_age, prefer_cwd=repo_root)
    if provider == "claude":
        return last_statusline_reading(max_age)
    raise BadInput(
        f"--auto: {provider} keeps no local capacity data; expected --prompts N (the count GLM's usage page shows)"
    )
