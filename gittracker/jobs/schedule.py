"""The schedule file: planned windows and standing jobs, in TOML, checked against one schema.

A schedule arrives with ``git pull`` as easily as code does, so it names only git-tracker's own jobs (``JOBS``),
each with typed options: no name, key or value of it is ever run as a program or handed to a shell. Anything else
is refused whole, in one line naming the file, the line (or key) and what was expected, before anything runs.

When a job is due (docs/autocapture.md, "Standing jobs"): a job's *slots* are the instants its timing names, in the
schedule's zone: ``at = "09:00"`` one a day, ``every = "15m"`` at midnight and every 15 minutes after it (cron's
``*/15``), on the ``days`` given (default every day). A job is due from its latest slot until ``within`` after it
(default: the interval of an ``every`` job, one hour for an ``at`` job), and runs once per slot.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from gittracker.errors import BadInput
from gittracker.names import AGENT_ID_RULE, valid_agent_id
from gittracker.records import PROVIDERS

SCHEDULE_NAME = ".git-tracker-schedule.toml"  # at the top of the work tree: shared with the repository
LOCAL_SCHEDULE_NAME = "schedule.toml"  # under <common git dir>/tracker/: this clone's own, never committed
MAX_SCHEDULE_BYTES = 1 << 20

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = {"daily": frozenset(range(7)), "weekdays": frozenset(range(5)), "weekends": frozenset({5, 6})}
DAY = timedelta(days=1)
MIDNIGHT = time(0, 0)
AT_JOB_WITHIN = timedelta(hours=1)

CLOSE_IDLE = "close-idle"
JOB_NAMES = ("ingest-claude-logs", "ingest-codex-sessions", "checkpoint", CLOSE_IDLE)
DEFAULT_EVERY = {CLOSE_IDLE: timedelta(minutes=1)}  # close-idle runs at every tick unless the schedule says otherwise


# -- checks of single values: each returns the value as the schedule keeps it, or None when it is not acceptable --

Check = Callable[[Any], Any]

_DURATION = re.compile(r"^(?:(\d{1,4})d)?(?:(\d{1,5})h)?(?:(\d{1,6})m)?$")
_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_JOB_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# A directory to read logs from: the path is only ever opened, never run, but a value that looks like shell is a
# sign of a schedule written to do harm, and is refused rather than read.
_DIRECTORY = re.compile(r"^(?:/|~/|~$)[\w.~/+@,= -]{0,4095}$")
DIRECTORY_RULE = "an absolute path or ~/path of letters, digits and . _ - ~ / + @ , = or space (no shell characters)"


def duration(low: timedelta, high: timedelta) -> Check:
    def check(value: Any) -> timedelta | None:
        if not isinstance(value, str):
            return None
        match = _DURATION.match(value.strip())
        if match is None or not any(match.groups()):
            return None
        days, hours, minutes = (int(part or 0) for part in match.groups())
        span = timedelta(days=days, hours=hours, minutes=minutes)
        return span if low <= span <= high else None

    return check


def clock_times(value: Any) -> tuple[timedelta, ...] | None:
    """``"09:00"`` or a list of them: the offsets from midnight, in order."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not 1 <= len(items) <= 96:
        return None
    walls = []
    for item in items:
        match = _CLOCK_TIME.match(item) if isinstance(item, str) else None
        if match is None:
            return None
        walls.append(timedelta(hours=int(match[1]), minutes=int(match[2])))
    return tuple(sorted(set(walls))) if len(set(walls)) == len(walls) else None


def days(value: Any) -> frozenset[int] | None:
    if isinstance(value, str):
        return DAY_SETS.get(value)
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        return None
    if any(item not in DAY_NAMES for item in value) or len(set(value)) != len(value):
        return None
    return frozenset(DAY_NAMES.index(item) for item in value)


def flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def choice(*choices: str) -> Check:
    return lambda value: value if isinstance(value, str) and value in choices else None


def names_list(valid: Callable[[str], bool], most: int) -> Check:
    def check(value: Any) -> tuple[str, ...] | None:
        if not isinstance(value, list) or not 1 <= len(value) <= most or len(set(map(repr, value))) != len(value):
            return None
        return tuple(value) if all(isinstance(item, str) and valid(item) for item in value) else None

    return check


def job_id(value: Any) -> str | None:
    return value if isinstance(value, str) and _JOB_ID.match(value) else None


def zone_name(value: Any) -> tzinfo | None:
    from gittracker.config import zone_named

    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    try:
        return zone_named(value, "timezone")
    except BadInput:
        return None


DAYS_RULE = 'a list of mon, tue, wed, thu, fri, sat, sun (each once), or "daily", "weekdays" or "weekends"'
AT_RULE = 'a time "HH:MM" (24-hour) or a list of them, each once'
DIRS = (
    names_list(lambda item: _DIRECTORY.match(item) is not None, 16),
    f"a list of directories, each {DIRECTORY_RULE}",
)
SKIP_INVALID = (flag, "true or false (skip unreadable log lines instead of failing)")

# Each key a job or window may have: (check, what it must be).
Spec = dict[str, tuple[Check, str]]
TIMING_KEYS: Spec = {
    "every": (duration(timedelta(minutes=1), DAY), 'a span from "1m" to "24h", such as "15m", "2h" or "1h30m"'),
    "at": (clock_times, AT_RULE),
    "days": (days, DAYS_RULE),
    "within": (duration(timedelta(minutes=1), timedelta(days=7)), 'a span from "1m" to "7d", such as "1h"'),
}
JOB_KEYS: Spec = {
    "name": (choice(*JOB_NAMES), f"one of {', '.join(JOB_NAMES)} (git-tracker's own jobs; never a program)"),
    "id": (job_id, "a job id: lower-case letters, digits and '-', up to 40, starting with a letter or digit"),
    **TIMING_KEYS,
}
# Each job's own options; a key not listed for the job is refused, whatever it says.
JOB_OPTIONS: dict[str, Spec] = {
    "ingest-claude-logs": {
        "dirs": DIRS,
        "this_repo": (flag, "true or false (only this repository's projects)"),
        "skip_invalid": SKIP_INVALID,
    },
    "ingest-codex-sessions": {"dirs": DIRS, "skip_invalid": SKIP_INVALID},
    "checkpoint": {
        "phase": (choice("plan", "mid", "final"), '"plan", "mid" or "final"'),
        "agents": (names_list(valid_agent_id, 64), f"a list of agent ids, each {AGENT_ID_RULE}"),
        "providers": (names_list(lambda item: item in PROVIDERS, 3), f"a list of {', '.join(PROVIDERS)}"),
    },
    CLOSE_IDLE: {},
}
WINDOW_KEYS: Spec = {
    "provider": (choice(*PROVIDERS), f"one of {', '.join(PROVIDERS)}"),
    "at": (clock_times, AT_RULE),
    "days": (days, DAYS_RULE),
    "duration": (duration(timedelta(minutes=1), DAY), 'a span from "1m" to "24h", such as "2h" or "90m"'),
}
TOP_KEYS = ("version", "timezone", "job", "window")


# -- what a schedule holds --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """A job's slots: ``at`` times or ``every`` interval from midnight, on ``days``, in ``zone``."""

    every: timedelta | None
    at: tuple[timedelta, ...]
    days: frozenset[int]
    within: timedelta
    zone: tzinfo

    def walls_down(self, upto: timedelta) -> Iterator[timedelta]:
        """The day's slot starts (wall-clock offsets from midnight) not after ``upto``, latest first."""
        if self.every is not None:
            step = min(upto, DAY - timedelta(microseconds=1)) // self.every
            yield from (self.every * k for k in range(step, -1, -1))
        else:
            yield from (wall for wall in reversed(self.at) if wall <= upto)

    def walls_up(self, after: timedelta) -> Iterator[timedelta]:
        """The day's slot starts after ``after``, earliest first."""
        if self.every is not None:
            step = 0 if after < timedelta(0) else after // self.every + 1
            while self.every * step < DAY:
                yield self.every * step
                step += 1
        else:
            yield from (wall for wall in self.at if wall > after)

    def latest_slot(self, now: datetime) -> datetime | None:
        """The last slot that started at or before ``now`` (within the week before it)."""
        local = now.astimezone(self.zone).replace(tzinfo=None)
        for back in range(8):
            day = local.date() - timedelta(days=back)
            if day.weekday() not in self.days:
                continue
            for wall in self.walls_down(local - datetime.combine(day, MIDNIGHT)):
                start = on_day(day, wall, self.zone)
                if start <= now:  # on a day the clocks change a wall time may map past now: take an earlier one
                    return start
        return None

    def next_slot(self, now: datetime) -> datetime | None:
        local = now.astimezone(self.zone).replace(tzinfo=None)
        for ahead in range(9):
            day = local.date() + timedelta(days=ahead)
            if day.weekday() not in self.days:
                continue
            for wall in self.walls_up(local - datetime.combine(day, MIDNIGHT)):
                start = on_day(day, wall, self.zone)
                if start > now:
                    return start
        return None

    def due(self, now: datetime) -> datetime | None:
        """The slot a run at ``now`` is for, or None when no slot is due (the last one is over ``within`` ago)."""
        slot = self.latest_slot(now)
        return slot if slot is not None and now < slot + self.within else None

    def describe(self) -> str:
        when = (
            f"every {show_span(self.every)}" if self.every is not None else "at " + ", ".join(map(show_wall, self.at))
        )
        return when + show_days(self.days)


def on_day(day: date, wall: timedelta, zone: tzinfo) -> datetime:
    """The instant (UTC) the clocks of ``zone`` show ``wall`` after midnight on ``day``."""
    return (datetime.combine(day, MIDNIGHT, tzinfo=zone) + wall).astimezone(UTC)


def show_span(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    parts = [(minutes // 1440, "d"), (minutes // 60 % 24, "h"), (minutes % 60, "m")]
    return "".join(f"{value}{unit}" for value, unit in parts if value) or "0m"


def show_wall(wall: timedelta) -> str:
    minutes = int(wall.total_seconds() // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def show_days(chosen: frozenset[int]) -> str:
    if len(chosen) == 7:
        return ""
    return " on " + ",".join(DAY_NAMES[day] for day in sorted(chosen))


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    timing: Timing
    options: Mapping[str, Any]


@dataclass(frozen=True)
class PlannedWindow:
    """A window someone means to open at these times: its start and end are captures (the before and after)."""

    number: int  # its place among the [[window]] tables, from 1
    provider: str
    at: tuple[timedelta, ...]
    days: frozenset[int]
    duration: timedelta
    zone: tzinfo

    def starts_between(self, start: datetime, end: datetime) -> list[datetime]:
        found = []
        first = start.astimezone(self.zone).date() - DAY
        for offset in range((end - start).days + 3):
            day = first + timedelta(days=offset)
            if day.weekday() in self.days:
                found += [moment for wall in self.at if start <= (moment := on_day(day, wall, self.zone)) < end]
        return sorted(found)

    def label(self) -> str:
        times = ", ".join(map(show_wall, self.at))
        return f"window {self.number} ({self.provider} at {times} for {show_span(self.duration)}{show_days(self.days)})"


@dataclass(frozen=True)
class Schedule:
    path: Path
    zone: tzinfo
    jobs: tuple[Job, ...]
    windows: tuple[PlannedWindow, ...]

    def with_standing_jobs(self) -> tuple[Job, ...]:
        """The jobs ``timer`` runs: the schedule's, and ``close-idle`` at every tick when the schedule leaves it out."""
        if any(job.name == CLOSE_IDLE for job in self.jobs):
            return self.jobs
        return (*self.jobs, implicit_close_idle(self.zone))


def implicit_close_idle(zone: tzinfo) -> Job:
    every = DEFAULT_EVERY[CLOSE_IDLE]
    return Job(CLOSE_IDLE, CLOSE_IDLE, Timing(every, (), DAY_SETS["daily"], every, zone), {})


# -- reading a schedule -----------------------------------------------------------------------------------------


def default_schedule(tracker_dir: Path, toplevel: Path) -> Path | None:
    """This clone's own schedule (``<common git dir>/tracker/schedule.toml``) if there is one, else the
    repository's (``.git-tracker-schedule.toml`` at the top of the work tree), else none."""
    for path in (tracker_dir / LOCAL_SCHEDULE_NAME, toplevel / SCHEDULE_NAME):
        if os.path.lexists(path):  # whatever is there is read, or refused: never silently passed over
            return path
    return None


def load_schedule(path: Path, default_zone: tzinfo) -> Schedule:
    data = _read_regular_file(path)
    if len(data) > MAX_SCHEDULE_BYTES:
        raise BadInput(f"{path}: expected a schedule file (TOML) of at most 1 MB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: expected a schedule file in UTF-8 TOML") from None
    return parse_schedule(text, path, default_zone)


def _read_regular_file(path: Path) -> bytes:
    """The file's first bytes, past the limit by one. Opened without blocking and only when it is a regular file:
    a pulled symlink to a FIFO or a device must not hang a timer that cron starts every minute."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise BadInput(f"{path}: expected a schedule file (TOML), but there is no such file") from None
    except PermissionError:
        raise BadInput(f"{path}: expected a schedule file (TOML) this user can read") from None
    except OSError as error:
        raise BadInput(f"{path}: expected a schedule file (TOML) ({error.strerror or error})") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BadInput(f"{path}: expected a schedule file (TOML), but it is not a regular file")
        return handle.read(MAX_SCHEDULE_BYTES + 1)


def parse_schedule(text: str, path: Path, default_zone: tzinfo) -> Schedule:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BadInput(f"{path}: expected TOML ({one_line(str(error))})") from None
    reader = _Reader(text, path)
    for key in data:
        if key not in TOP_KEYS:
            expected = "expected one of the keys version and timezone, or tables [[job]] and [[window]]"
            raise reader.bad(None, 0, key, expected)
    if "version" in data and (type(data["version"]) is not int or data["version"] != 1):
        raise reader.bad(
            None, 0, "version", f"expected 1 (this version's schedule format), got {shown(data['version'])}"
        )
    zone = default_zone
    if "timezone" in data:
        zone = reader.value(None, 0, "timezone", data["timezone"], (zone_name, "an IANA zone such as Europe/Berlin"))
    jobs = [reader.job(number, table, zone) for number, table in reader.tables(data, "job")]
    windows = [reader.window(number, table, zone) for number, table in reader.tables(data, "window")]
    _refuse_twice_named(reader, jobs)
    return Schedule(path, zone, tuple(jobs), tuple(windows))


def _refuse_twice_named(reader: _Reader, jobs: list[Job]) -> None:
    seen: dict[str, int] = {}
    for number, job in enumerate(jobs, start=1):
        if job.id == CLOSE_IDLE and job.name != CLOSE_IDLE:  # the id of the close-idle job timer adds by itself
            raise reader.bad("job", number, "id", f"expected an id other than {CLOSE_IDLE!r} for a {job.name} job")
        if job.id in seen:
            raise reader.bad(
                "job",
                number,
                "id",
                f"expected an id of its own: job {seen[job.id]} is {job.id!r} too (give each an id)",
            )
        seen[job.id] = number


class _Reader:
    """Checks tables against their spec; errors name the file and the line (or, failing that, the key)."""

    def __init__(self, text: str, path: Path) -> None:
        self.lines = text.splitlines()
        self.path = path

    def tables(self, data: dict[str, Any], name: str) -> list[tuple[int, dict[str, Any]]]:
        value = data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.bad(None, 0, name, f"expected tables [[{name}]] (an array of tables, one per {name})")
        if len(value) > 200:
            raise self.bad(None, 0, name, f"expected at most 200 [[{name}]] tables")
        return list(enumerate(value, start=1))

    def job(self, number: int, table: dict[str, Any], zone: tzinfo) -> Job:
        if "name" not in table:
            raise self.bad("job", number, None, f"expected name = one of {', '.join(JOB_NAMES)}")
        name = self.value("job", number, "name", table["name"], JOB_KEYS["name"])
        spec = {**JOB_KEYS, **JOB_OPTIONS[name]}
        checked = self.checked("job", number, table, spec, f"the keys a {name} job takes")
        timing = self.timing(number, name, checked, zone)
        options = {key: value for key, value in checked.items() if key in JOB_OPTIONS[name]}
        return Job(checked.get("id", name), name, timing, options)

    def timing(self, number: int, name: str, checked: dict[str, Any], zone: tzinfo) -> Timing:
        every, at = checked.get("every"), checked.get("at", ())
        if every is not None and at:
            raise self.bad("job", number, "at", "expected either every or at, not both")
        if every is None and not at:
            every = DEFAULT_EVERY.get(name)
            if every is None:
                raise self.bad("job", number, None, 'expected a timing: every = "15m" or at = "09:00"')
        within = checked.get("within", every if every is not None else AT_JOB_WITHIN)
        return Timing(every, at, checked.get("days", DAY_SETS["daily"]), within, zone)

    def window(self, number: int, table: dict[str, Any], zone: tzinfo) -> PlannedWindow:
        checked = self.checked("window", number, table, WINDOW_KEYS, "the keys of a planned window")
        for key in ("provider", "at", "duration"):
            if key not in checked:
                raise self.bad("window", number, None, f"expected {key} = {WINDOW_KEYS[key][1]}")
        days_of = checked.get("days", DAY_SETS["daily"])
        return PlannedWindow(number, checked["provider"], checked["at"], days_of, checked["duration"], zone)

    def checked(self, table: str, number: int, values: dict[str, Any], spec: Spec, what: str) -> dict[str, Any]:
        out = {}
        for key, value in values.items():
            if key not in spec:
                listed = ", ".join(spec)
                raise self.bad(
                    table, number, key, f"expected one of {what}: {listed} (a schedule never names a command)"
                )
            out[key] = self.value(table, number, key, value, spec[key])
        return out

    def value(self, table: str | None, number: int, key: str, value: Any, rule: tuple[Check, str]) -> Any:
        check, expected = rule
        checked = check(value)
        if checked is None:
            raise self.bad(table, number, key, f"expected {expected}, got {shown(value)}")
        return checked

    def bad(self, table: str | None, number: int, key: str | None, message: str) -> BadInput:
        line = self.line_of(table, number, key)
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        place = f"[[{table}]] {number}" if table is not None else ""
        named = f"{place}, key {shown_key(key)}" if place and key is not None else place or shown_key(key or "")
        return BadInput(f"{where}: {named}: {message}")

    def line_of(self, table: str | None, number: int, key: str | None) -> int | None:
        """Where the key (or the table's header) is written: best effort, for the message only."""
        count, inside, header = 0, table is None, None
        pattern = (
            re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*[=.]") if key else None
        )
        for index, line in enumerate(self.lines, start=1):
            stripped = line.strip()
            if stripped.startswith("["):
                if table is not None and re.match(rf"^\[\[\s*{re.escape(table)}\s*\]\]", stripped):
                    count += 1
                    inside = count == number
                    header = index if inside else header
                else:
                    inside = False
                continue
            if inside and pattern is not None and pattern.match(line):
                return index
        return header


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def shown_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]{1,40}", key) else shown(key)


def one_line(text: str) -> str:
    return " ".join(text.split())
