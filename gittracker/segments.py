"""A window's capacity across resets of its meter: the sum of the segments between them (STATS.md, "Windows that
span a reset"; issue 13).

With readings taken while a window is open (``snapshot``'s mid readings, one per turn from the agents' hooks), a
reset of the meter is seen between two consecutive readings: a reset time shown by the earlier one had passed by
the later one, or the used value fell. The window's consumption is then the sum of its segments, the meter counting
from zero after each reset::

    (last reading before the first reset - the window's first reading)
    + (last reading before the next reset - 0) + … + (the after - 0)

What was used between the last reading before a reset and the reset itself is never seen: that **uncovered** time is
kept for each reset (from the reading to the reset instant; to the next reading when only a fall showed the reset),
and the sum is only trusted when every uncovered time is short (``auto.reset_gap_minutes``). It is a lower bound, by
at most the consumption in those gaps.

An open window keeps, for each meter of its before reading, a ``Track``: its first reading, its latest one, how many
mid readings it had, and for each reset seen the last reading before it and the first after it. Its size grows with
the resets seen, never with the readings. Pure functions over plain data; ``windows.py`` keeps the tracks in the
agent's state under ``KEY`` and rebuilds them from the ledger's mid snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from gittracker import clock
from gittracker.capacity import FIVE_HOUR, PROMPTS, Reading, meter_minutes, valid_meter_name
from gittracker.errors import BadInput

KEY = "segments"  # the open window's entry in the agent's state (optional: states written before it have none)
# Two readings whose reset times differ by more than this saw different windows of the meter (as windows.py judges).
ROLLOVER_TOLERANCE = timedelta(seconds=90)


@dataclass(frozen=True)
class Point:
    """One reading of one meter: when, the value, and the meter's reset time as last shown (by this reading, or by
    an earlier one of the window when this one showed none)."""

    ts: datetime
    used: float
    resets_at: datetime | None

    def to_state(self) -> dict[str, Any]:
        resets = None if self.resets_at is None else clock.format_ts(self.resets_at)
        return {"ts": clock.format_ts(self.ts), "used": self.used, "resets_at": resets}

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> Point:
        used = data["used"]
        if isinstance(used, bool) or not isinstance(used, int | float):
            raise TypeError("used")
        resets = data["resets_at"]
        return cls(clock.parse_ts(data["ts"]), float(used), None if resets is None else clock.parse_ts(resets))


@dataclass(frozen=True)
class Reset:
    """A reset of the meter seen between two consecutive readings: the last before it, the first after it, and when
    it happened when a reset time says so (None when only the fall of the value showed it)."""

    before: Point
    after: Point
    at: datetime | None

    @property
    def uncovered(self) -> timedelta:
        """The time whose consumption no reading saw: from the last reading before the reset to the reset."""
        return max(timedelta(0), (self.at or self.after.ts) - self.before.ts)

    def uncovered_minutes(self) -> float:
        return round(self.uncovered.total_seconds() / 60, 3)

    def to_state(self) -> dict[str, Any]:
        at = None if self.at is None else clock.format_ts(self.at)
        return {"before": self.before.to_state(), "after": self.after.to_state(), "at": at}

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> Reset:
        at = data["at"]
        return cls(Point.from_state(data["before"]), Point.from_state(data["after"]), None if at is None else parse(at))

    def to_dict(self) -> dict[str, Any]:
        """As ``end --json`` reports it."""
        return {
            "at": None if self.at is None else clock.format_ts(self.at),
            "last_before_ts": clock.format_ts(self.before.ts),
            "first_after_ts": clock.format_ts(self.after.ts),
            "uncovered_minutes": self.uncovered_minutes(),
        }


def parse(text: Any) -> datetime:
    if not isinstance(text, str):
        raise TypeError("time")
    return clock.parse_ts(text)


@dataclass(frozen=True)
class Track:
    """One meter's readings in one window, at a size that does not grow per reading."""

    first: Point
    last: Point
    mids: int
    resets: tuple[Reset, ...] = ()

    def add(self, point: Point, period: timedelta, *, mid: bool) -> Track:
        """The track with one more reading of a meter whose window lasts ``period``; a mid reading taken before the
        latest is left out (readings arrive in time order: a late one cannot be put back between two readings the
        track no longer holds)."""
        if point.ts < self.last.ts and mid:
            return self
        seen = reset_between(self.last, point, period)
        return Track(
            self.first,
            point,
            self.mids + (1 if mid else 0),
            self.resets if seen is None else (*self.resets, seen),
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "first": self.first.to_state(),
            "last": self.last.to_state(),
            "mids": self.mids,
            "resets": [reset.to_state() for reset in self.resets],
        }

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> Track:
        mids = data["mids"]
        if isinstance(mids, bool) or not isinstance(mids, int) or mids < 0:
            raise TypeError("mids")
        resets = tuple(Reset.from_state(item) for item in data["resets"])
        return cls(Point.from_state(data["first"]), Point.from_state(data["last"]), mids, resets)


def reset_between(earlier: Point, later: Point, period: timedelta) -> Reset | None:
    """The reset seen between two consecutive readings of a meter whose window lasts ``period``, if any: a reset
    time either shows that falls between them (the latest such; a later reading showing its meter's reset as already
    past was taken after it), a reset time that moved on (the earlier one's, or the later reading's time if that is
    sooner), or a fall of the value. When is unknown (None) after a fall alone, and when the meter may have reset
    more than once between the two (they are more than one window apart, or the reset time moved on by more): no
    reading says when the last reset was."""
    times = [moment for moment in (earlier.resets_at, later.resets_at) if moment is not None]
    old, new = earlier.resets_at, later.resets_at
    moved = old is not None and new is not None and new - old > ROLLOVER_TOLERANCE
    if old is not None and moved:
        times.append(min(old, later.ts))
    inside = [moment for moment in times if earlier.ts < moment <= later.ts]
    if not inside and later.used >= earlier.used:
        return None
    several = moved and new is not None and old is not None and new - old > period + ROLLOVER_TOLERANCE
    if not inside or several or not _one_reset_at_most(earlier, later, period):
        return Reset(earlier, later, None)
    return Reset(earlier, later, max(inside))


def _one_reset_at_most(earlier: Point, later: Point, period: timedelta) -> bool:
    """Resets of a meter are at least one window apart: two readings no further apart see at most one."""
    return later.ts - earlier.ts <= period


def period_of(meter: str) -> timedelta:
    """How long the meter's window lasts (prompts count per 5-hour window)."""
    return timedelta(minutes=meter_minutes(meter))


def point_of(reading: Reading, meter: str, moment: datetime, shown: datetime | None = None) -> Point | None:
    """``reading``'s value of ``meter`` at ``moment`` (None when it does not show the meter); its reset time, else
    ``shown``, the one an earlier reading showed. Prompts reset with the 5-hour window."""
    used = reading.used(meter)
    if used is None:
        return None
    own = reading.resets_of(FIVE_HOUR if meter == PROMPTS else meter)
    return Point(moment, used, clock.parse_ts(own) if own else shown)


def start(before: Reading, opened: datetime) -> dict[str, Track]:
    """The tracks of a window that has only its before reading: one per meter it shows."""
    tracks = {}
    for meter in before.names():
        point = point_of(before, meter, opened)
        if point is not None:
            tracks[meter] = Track(point, point, 0)
    return tracks


def with_reading(tracks: Mapping[str, Track], reading: Reading, moment: datetime) -> dict[str, Track]:
    """The tracks with a mid reading taken at ``moment`` (the meters it does not show keep their last reading)."""
    updated = dict(tracks)
    for meter, track in tracks.items():
        point = point_of(reading, meter, moment, track.last.resets_at)
        if point is not None:
            updated[meter] = track.add(point, period_of(meter), mid=True)
    return updated


def to_state(tracks: Mapping[str, Track]) -> dict[str, Any]:
    return {meter: track.to_state() for meter, track in tracks.items()}


def tracks_of(stored: Any) -> dict[str, Track] | None:
    """The tracks kept in a window's state entry; None when there are none (a window with no mid reading yet, a
    state written before them) or they cannot be read (a damaged state: the window is then measured as before
    there were tracks, from its before and after alone)."""
    if not isinstance(stored, Mapping):
        return None
    if not all(valid_meter_name(meter) for meter in stored):
        return None
    try:
        return {str(meter): Track.from_state(data) for meter, data in stored.items()}
    except (KeyError, TypeError, ValueError, AttributeError, BadInput):
        return None


def replayed(before: Reading, opened: datetime, mids: Iterable[tuple[datetime, Reading]]) -> dict[str, Track]:
    """The tracks a window's mid readings make, in time order: what ``rebuild_state`` gets from the ledger."""
    tracks = start(before, opened)
    for moment, reading in sorted(mids, key=lambda item: item[0]):
        tracks = with_reading(tracks, reading, moment)
    return tracks


@dataclass(frozen=True)
class Segmented:
    """A window's consumption on one meter over the resets its readings saw."""

    meter: str
    resets: tuple[Reset, ...]
    delta: float
    unexplained: tuple[datetime, ...]  # resets known from elsewhere that no two of the window's readings bracket

    def kept(self, limit_minutes: float) -> bool:
        """The sum is trusted: every reset inside the window is bracketed by two readings, and in each the time no
        reading saw is under ``limit_minutes``."""
        limit = timedelta(minutes=limit_minutes)
        return bool(self.resets) and not self.unexplained and all(reset.uncovered < limit for reset in self.resets)


def measure(
    track: Track | None, after: Reading, meter: str, moment: datetime, known: Iterable[datetime] = ()
) -> Segmented | None:
    """The window's consumption on ``meter`` with its after reading taken at ``moment``, summed over the resets its
    readings saw; ``known``: reset instants inside the window known from other evidence (other readings on this
    machine), each placed between the two readings that bracket it. None without a mid reading of the meter: a
    window measured by its before and after alone stays as it always was."""
    if track is None or track.mids == 0:
        return None
    final = point_of(after, meter, moment, track.last.resets_at)
    if final is None:
        return None
    closed = track.add(final, period_of(meter), mid=False)
    resets, unexplained = _placed(list(closed.resets), known, Reset(track.last, final, None), period_of(meter))
    resets.sort(key=lambda reset: reset.before.ts)
    return Segmented(meter, tuple(resets), segmented_sum(closed.first.used, resets, final.used), tuple(unexplained))


def _placed(
    resets: list[Reset], known: Iterable[datetime], last_pair: Reset, period: timedelta
) -> tuple[list[Reset], list[datetime]]:
    """Each known reset instant placed in the reset it explains: one seen between the same two readings, or the
    last two readings of the window (the only other pair the track still holds); the rest is unexplained. It tells
    when the reset was, unless the two readings are far enough apart to hold another one."""
    unexplained = []
    for moment in sorted(set(known)):
        found = next((i for i, seen in enumerate(resets) if seen.before.ts < moment <= seen.after.ts), None)
        if found is None and last_pair.before.ts < moment <= last_pair.after.ts:
            resets.append(last_pair)
            found = len(resets) - 1
        if found is None:
            unexplained.append(moment)
            continue
        seen = resets[found]
        if _one_reset_at_most(seen.before, seen.after, period):
            resets[found] = replace(seen, at=moment if seen.at is None else max(seen.at, moment))
    return resets, unexplained


def segmented_sum(first: float, resets: Iterable[Reset], last: float) -> float:
    """(last before the first reset - first) + (last before each next reset - 0) + … + (last - 0)."""
    total, start_value = 0.0, first
    for reset in sorted(resets, key=lambda item: item.before.ts):
        total += reset.before.used - start_value
        start_value = 0.0
    return round(total + last - start_value, 6)
