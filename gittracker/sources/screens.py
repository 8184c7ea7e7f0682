"""Pasted provider screens: a Codex ``/status`` card or a Claude ``/usage`` panel, detected.

Codex ``/status`` (one row per limit window; current builds print what is *left*, older ones what is
*used*; a reset that does not fit wraps onto its own line; per-model buckets follow the account's
rows, either as ``<Model> 5h limit:`` or under a ``<Model> limit:`` heading)::

    │  5h limit:      [███████████░░░░░░░░░] 55% left (resets 09:25)            │
    │  Weekly limit:  [██████████████░░░░░░] 70% left (resets 09:55 on 7 Jun)   │
    │  GPT-5.3-Codex-Spark limit:                                              │
    │  5h limit:      [████████████████████] 100% left (resets 00:46 on 8 Jun)  │
    │  Warning:       limits may be stale - run /status again shortly.         │

Claude ``/usage``, as the panel and as the one line ``claude -p /usage`` prints::

    Current session
    ███████████████████████████████████████▌           77% used
    Resets 2pm (Europe/Berlin)
    Current week (all models)   …   Current week (Opus)   …

    Current session: 22% used · resets Jun 28, 10:40am (UTC)

Only the account-wide 5-hour and weekly windows become a ``Reading``; per-model buckets and other
windows (daily, monthly, annual) are recognised so they are never mistaken for them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gittracker import clock
from gittracker.capacity import Reading
from gittracker.errors import BadInput

CODEX = "codex"
CLAUDE = "claude"

EXPECTED = (
    "expected a Codex /status screen (`5h limit: [bar] 64% left (resets 16:12)`) "
    "or a Claude /usage screen (`Current session … 77% used`)"
)

# parse_errors codes this module may add to a Reading.
MULTI_PANE = "multi-pane-trimmed"
STALE = "limits-may-be-stale"
RESET_UNPARSED = "reset-unparsed"
ZONE_UNKNOWN = "reset-zone-unknown"

# A reset shown as a bare time is its next occurrence; the grace lets a screen pasted a few minutes
# after it was drawn still name the reset it showed (the time itself has only minute precision).
TIME_ONLY_GRACE = timedelta(minutes=5)
# A date without a year is its first occurrence from a day before now on: windows last at most a
# year, and a paste may be a little older than the reset it names.
DATED_GRACE = timedelta(days=1)
# No rate-limit window (the longest Codex shows is annual) resets further ahead than this.
MAX_AHEAD = timedelta(days=366)

_ANSI = re.compile(
    r"\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b[@-Z\\-_]"  # two-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_LOST_ESC_SGR = re.compile(r"\[[0-9;]{1,40}m")  # a colour code whose ESC byte the copy dropped
_BOX = re.compile("[\u2500-\u257f]")  # box drawing; block elements (the bars) stay
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00a0\u2000-\u200b\u202f\u205f\u3000]")
_LEADERS = " \t•·*>⎿\u203a\u276f▸|"  # bullets, tree marks, prompt marks

_PERCENT = re.compile(r"(?<![\w.])(-?[0-9]+(?:\.[0-9]+)?)\s*%\s*(left|used|remaining)?", re.IGNORECASE)
_MARKER = re.compile(
    r"^(?:/status\b|/usage\b|(?:>?_\s*)?OpenAI Codex\b|Settings\s*:?\s+Status\s+Config\s+Usage)",
    re.IGNORECASE,
)
_STALE = re.compile(r"limits may be stale", re.IGNORECASE)

_CODEX_ROW = re.compile(r"^(?P<label>[^:]{0,80}?)\s*\blimit\s*:\s*(?P<rest>.*)$", re.IGNORECASE)
_WINDOW = re.compile(r"^(?:(?P<model>.+?)\s+)?(?P<window>[0-9]{1,3}h|daily|weekly|monthly|annual)$", re.IGNORECASE)
_CODEX_RESET = re.compile(r"\(\s*resets?\b\s*(?P<when>[^)]*)\)?", re.IGNORECASE)
_CODEX_RESET_LINE = re.compile(r"^\(\s*resets?\b\s*(?P<when>[^)]*)\)?\s*$", re.IGNORECASE)
_CODEX_NO_LIMITS = re.compile(r"^limits\s*:\s*(?P<why>.*\S)", re.IGNORECASE)

_CLAUDE_HEAD = re.compile(
    r"^current\s+(?P<what>session|week)\b\s*(?:\((?P<bucket>[^)]*)\)?)?\s*:?\s*(?P<rest>.*)$", re.IGNORECASE
)
_CLAUDE_OTHER_HEAD = re.compile(r"^(?:extra usage|usage credits|current month)\b", re.IGNORECASE)
_CLAUDE_RESET = re.compile(r"(?:^|[\s·•|,])resets?\s+(?P<when>.+?)\s*$", re.IGNORECASE)
_CLAUDE_NO_LIMITS = re.compile(r"only available for (?:subscription|claude)", re.IGNORECASE)


def parse_screen(text: str, now: datetime, tz: tzinfo | None = None) -> tuple[str, Reading]:
    """Detect a pasted Codex ``/status`` or Claude ``/usage`` screen; return (provider, reading).

    Reset times resolve to absolute UTC relative to ``now``: a zone the screen names wins, else
    ``tz`` (the zone the screen was drawn in), else UTC. A paste holding several panes keeps the
    last one and flags ``multi-pane-trimmed``.
    """
    now = _aware(now)
    lines = clean_lines(text)
    scan = _Scanner(lines)
    scan.run()
    if not scan.panes:
        raise BadInput(_nothing_found(lines, scan))
    pane = scan.panes[-1]
    errors: list[str] = []
    if len(scan.panes) > 1:
        errors.append(MULTI_PANE)
    if any(number > pane.first_line for number in scan.stale_lines):
        errors.append(STALE)
    five, weekly = pane.pick()
    if five is None and weekly is None:
        raise BadInput(_no_usable_row(pane))
    resets: list[str | None] = []
    for row in (five, weekly):
        when: str | None = None
        if row is not None and row.reset:
            moment, codes = resolve_reset(row.reset, now, tz)
            when = clock.format_ts(moment) if moment is not None else None
            errors.extend(code for code in codes if code not in errors)
        resets.append(when)
    reading = Reading.of(
        five_hour_used=five.used if five is not None else None,
        weekly_used=weekly.used if weekly is not None else None,
        resets_at=resets[0],
        weekly_resets_at=resets[1],
        parse_errors=tuple(errors),
    )
    return pane.provider, reading


def clean_lines(text: str) -> list[str]:
    """The paste as plain lines: no ANSI codes, no box drawing, no bullets or prompt marks."""
    text = _ANSI.sub("", text).replace("\x1b", "")
    text = _LOST_ESC_SGR.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    for raw in text.split("\n"):
        line = _CONTROL.sub(" ", _BOX.sub(" ", raw)).replace("\t", " ")
        lines.append(" ".join(line.strip(_LEADERS).split()))
    return lines


@dataclass
class _Row:
    provider: str
    slot: str  # unique within one pane: a repeat means a second pane began
    maps_to: str | None  # "five_hour", "weekly" or None (per-model bucket, other window)
    number: int  # 1-based line number
    line: str
    used: float | None = None
    reset: str | None = None


@dataclass
class _Pane:
    provider: str
    first_line: int
    rows: dict[str, _Row] = field(default_factory=dict)

    def pick(self) -> tuple[_Row | None, _Row | None]:
        found: dict[str, _Row] = {}
        for row in self.rows.values():
            if row.maps_to and row.used is not None:
                found.setdefault(row.maps_to, row)
        return found.get("five_hour"), found.get("weekly")


class _Scanner:
    """One pass over the lines, grouping rate-limit rows into panes."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.panes: list[_Pane] = []
        self.stale_lines: list[int] = []
        self.unavailable: tuple[int, str, str] | None = None  # (line number, line, provider)
        self._split = False  # a pane marker was seen: the next row starts a new pane
        self._model: str | None = None  # the Codex per-model heading rows fall under
        self._claude: _Row | None = None  # the Claude section awaiting its percent / reset

    def run(self) -> None:
        for number, line in enumerate(self.lines, 1):
            if not line:
                self._model = None
                continue
            if _MARKER.match(line):
                self._split = bool(self.panes and self.panes[-1].rows)
                self._model = None
                self._claude = None
                continue
            if _STALE.search(line):
                self.stale_lines.append(number)
                continue
            if self._codex(number, line) or self._claude_line(number, line):
                continue
            self._model = None
            if self.unavailable is None:
                if _CODEX_NO_LIMITS.match(line):
                    self.unavailable = (number, line, CODEX)
                elif _CLAUDE_NO_LIMITS.search(line):
                    self.unavailable = (number, line, CLAUDE)

    def _add(self, row: _Row) -> None:
        pane = self.panes[-1] if self.panes else None
        if pane is None or self._split or pane.provider != row.provider or row.slot in pane.rows:
            pane = _Pane(row.provider, row.number)
            self.panes.append(pane)
            self._split = False
        pane.rows[row.slot] = row

    def _codex(self, number: int, line: str) -> bool:
        wrapped = _CODEX_RESET_LINE.match(line)
        if wrapped:
            pane = self.panes[-1] if self.panes else None
            last = list(pane.rows.values())[-1] if pane and pane.rows else None
            if last is not None and last.provider == CODEX and last.reset is None:
                last.reset = wrapped.group("when").strip() or None
            return True
        match = _CODEX_ROW.match(line)
        if not match:
            return False
        label, rest = match.group("label").strip(), match.group("rest")
        window = _WINDOW.match(label)
        percent = _PERCENT.search(rest)
        if percent is None:
            if not rest.strip() and label and window is None:
                self._model = label  # a per-model heading: the rows below belong to it
                return True
            return False
        if window is None:
            return False
        self._claude = None
        model = window.group("model") or self._model
        span = window.group("window").lower()
        maps_to = None if model else {"5h": "five_hour", "weekly": "weekly"}.get(span)
        slot = f"model:{model.lower()}:{span}" if model else span
        row = _Row(CODEX, slot, maps_to, number, line)
        if percent.group(2) is None:
            raise BadInput(f"line {number}: expected `NN% left` or `NN% used` in {_quote(line)}")
        row.used = _used(percent.group(1), percent.group(2), number, line)
        reset = _CODEX_RESET.search(rest, percent.end())
        if reset:
            row.reset = reset.group("when").strip() or None
        self._add(row)
        return True

    def _claude_line(self, number: int, line: str) -> bool:
        head = _CLAUDE_HEAD.match(line)
        if head:
            self._model = None
            bucket = (head.group("bucket") or "").strip().lower()
            if head.group("what").lower() == "session":
                slot, maps_to = "session", "five_hour"
            elif bucket in ("", "all models", "all"):
                slot, maps_to = "week", "weekly"
            else:
                slot, maps_to = f"week:{bucket}", None
            row = _Row(CLAUDE, slot, maps_to, number, line)
            self._add(row)
            self._claude = row
            self._claude_values(row, number, line, head.group("rest"))
            return True
        if _CLAUDE_OTHER_HEAD.match(line):
            self._claude = None  # its percent (extra usage, credits) is not a rate-limit window
            return True
        open_row = self._claude
        if open_row is None:
            return False
        return self._claude_values(open_row, number, line, line)

    def _claude_values(self, row: _Row, number: int, line: str, text: str) -> bool:
        took = False
        if row.used is None:
            percent = _PERCENT.search(text)
            if percent is not None and percent.group(2) is not None:
                row.used = _used(percent.group(1), percent.group(2), number, line)
                took = True
        if row.reset is None:
            reset = _CLAUDE_RESET.search(text)
            if reset:
                row.reset = reset.group("when").strip() or None
                took = True
        return took


def _used(number_text: str, kind: str, number: int, line: str) -> float:
    try:
        value = float(number_text)
    except ValueError:  # pragma: no cover - the pattern only admits decimal numbers
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise BadInput(f"line {number}: expected a percent from 0 to 100, got {number_text}% in {_quote(line)}")
    return value if kind.lower() == "used" else round(100.0 - value, 6)


def _quote(line: str, limit: int = 120) -> str:
    return repr(line if len(line) <= limit else line[: limit - 1] + "…")


def _nothing_found(lines: list[str], scan: _Scanner) -> str:
    if scan.unavailable is not None:
        number, line, provider = scan.unavailable
        if provider == CODEX:
            return f"line {number}: Codex /status shows no limits ({_quote(line)}); run a Codex command or pass --used"
        return f"line {number}: Claude /usage shows no limits ({_quote(line)}); pass --used"
    for number, line in enumerate(lines, 1):
        if line:
            return f"{EXPECTED}; found no rate-limit line (line {number}: {_quote(line)})"
    return f"{EXPECTED}; the input is empty"


def _no_usable_row(pane: _Pane) -> str:
    rows = list(pane.rows.values())
    waiting = [row for row in rows if row.maps_to and row.used is None]
    if waiting:
        row = waiting[0]
        return f"line {row.number}: expected `NN% used` after {_quote(row.line)}; {EXPECTED}"
    row = rows[0]
    return f"line {row.number}: {_quote(row.line)} is not a 5h or weekly limit; {EXPECTED}"


# --- reset times ------------------------------------------------------------------------------------

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")  # fmt: skip
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ZONE_SUFFIX = re.compile(r"\(\s*(?P<zone>[A-Za-z][A-Za-z0-9_+\-/:]{0,63})\s*\)\s*$")
_OFFSET_ZONE = re.compile(r"^(?:UTC|GMT)\s*(?:(?P<sign>[+-])(?P<hours>[0-9]{1,2})(?::?(?P<minutes>[0-9]{2}))?)?$", re.I)
_TIME = r"(?P<hour>[0-9]{1,2})(?:[:.](?P<minute>[0-9]{2}))?\s*(?P<ampm>[ap]\.?\s?m\.?)?"
_DAY_MONTH = r"(?P<day>[0-9]{1,2})(?:st|nd|rd|th)?\s+(?P<month>[A-Za-z]{3,9})\.?(?:,?\s+(?P<year>[0-9]{4}))?"
_MONTH_DAY = r"(?P<month>[A-Za-z]{3,9})\.?\s+(?P<day>[0-9]{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<year>[0-9]{4}))?"
_ABSOLUTE = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        _TIME,  # Codex "16:12", Claude "2pm"
        rf"{_TIME},?\s+(?:on\s+)?{_DAY_MONTH}",  # Codex "08:00 on 7 Jun"
        rf"{_TIME},?\s+(?:on\s+)?{_MONTH_DAY}",
        rf"{_MONTH_DAY},?\s+(?:at\s+)?{_TIME}",  # Claude "Jun 28, 10:40am", "Sep 19 at 5am"
        rf"{_DAY_MONTH},?\s+(?:at\s+)?{_TIME}",
        rf"(?P<weekday>[A-Za-z]{{3,9}})\.?,?\s+(?:at\s+)?{_TIME}",  # "Thu 12:00 PM"
        rf"(?P<relday>today|tomorrow),?\s+(?:at\s+)?{_TIME}",
    )
)
_RELATIVE = re.compile(r"^in\s+(?P<span>.+)$", re.IGNORECASE)
_SPAN_PART = re.compile(
    r"([0-9]{1,6})\s*(d|days?|h|hrs?|hours?|m|mins?|minutes?|s|secs?|seconds?)(?![a-z])", re.IGNORECASE
)
_SPAN_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def resolve_reset(text: str, now: datetime, tz: tzinfo | None = None) -> tuple[datetime | None, tuple[str, ...]]:
    """A reset as a screen shows it ("16:12", "08:00 on 7 Jun", "Jun 28, 10:40am (UTC)", "in 2h 5m")
    as an absolute UTC time, plus parse_errors codes; (None, ("reset-unparsed",)) when unreadable."""
    now = _aware(now)
    codes: list[str] = []
    zone: tzinfo = tz or UTC
    text = " ".join(text.split()).strip(" .·")
    named = _ZONE_SUFFIX.search(text)
    if named:
        text = text[: named.start()].strip(" ,")
        found = _zone(named.group("zone"))
        if found is None:
            codes.append(ZONE_UNKNOWN)
        else:
            zone = found
    try:
        moment = _relative(text, now) or _absolute(text, now, zone)
        if moment is not None:
            return moment.astimezone(UTC), tuple(codes)
    except (ValueError, OverflowError):
        pass
    return None, (RESET_UNPARSED,)


def _zone(name: str) -> tzinfo | None:
    offset = _OFFSET_ZONE.match(name)
    if offset:
        if not offset.group("sign"):
            return UTC
        minutes = int(offset.group("hours")) * 60 + int(offset.group("minutes") or 0)
        if minutes >= 24 * 60:
            return None
        return timezone(timedelta(minutes=minutes if offset.group("sign") == "+" else -minutes))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        return None


def _relative(text: str, now: datetime) -> datetime | None:
    match = _RELATIVE.match(text)
    if not match:
        return None
    span = match.group("span")
    parts = _SPAN_PART.findall(span)
    if not parts or _SPAN_PART.sub("", span).replace(",", " ").replace("and", " ").strip():
        return None
    seconds = sum(int(amount) * _SPAN_UNITS[unit[0].lower()] for amount, unit in parts)
    if seconds > MAX_AHEAD.total_seconds():
        return None
    return now + timedelta(seconds=seconds)


def _absolute(text: str, now: datetime, zone: tzinfo) -> datetime | None:
    for pattern in _ABSOLUTE:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        moment = _build(match, now, zone)
        if moment is not None:
            return moment
    return None


def _build(match: re.Match[str], now: datetime, zone: tzinfo) -> datetime | None:
    groups = match.groupdict()
    clock_time = _clock_time(groups["hour"], groups["minute"], groups["ampm"])
    if clock_time is None:
        return None
    hour, minute = clock_time
    local_today = now.astimezone(zone).date()

    def at(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)

    def first_from(candidates: list[date], grace: timedelta) -> datetime | None:
        moments = sorted((at(day) for day in candidates), key=lambda moment: moment.astimezone(UTC))
        return next((moment for moment in moments if moment.astimezone(UTC) >= now - grace), None)

    if groups.get("month"):
        month = _name_index(groups["month"], _MONTHS)
        if month is None:
            return None
        day_of_month = int(groups["day"])
        if groups.get("year"):
            year = int(groups["year"])
            if abs(year - local_today.year) > 1:
                return None  # no rate-limit window is that long
            return at(date(year, month + 1, day_of_month))
        candidates = []
        for year in (local_today.year - 1, local_today.year, local_today.year + 1):
            try:
                candidates.append(date(year, month + 1, day_of_month))
            except ValueError:  # 29 Feb outside a leap year
                continue
        return first_from(candidates, DATED_GRACE)
    days = [local_today + timedelta(days=offset) for offset in range(-1, 9)]
    if groups.get("weekday"):
        weekday = _name_index(groups["weekday"], _WEEKDAYS)
        if weekday is None:
            return None
        return first_from([day for day in days if day.weekday() == weekday], TIME_ONLY_GRACE)
    if groups.get("relday"):
        shift = 1 if groups["relday"].lower() == "tomorrow" else 0
        return at(local_today + timedelta(days=shift))
    return first_from(days[:4], TIME_ONLY_GRACE)


def _clock_time(hour_text: str, minute_text: str | None, ampm: str | None) -> tuple[int, int] | None:
    if minute_text is None and ampm is None:
        return None  # a bare number is not a time
    hour, minute = int(hour_text), int(minute_text or 0)
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm.lower().startswith("p") else 0)
    if hour > 23 or minute > 59:
        return None
    return hour, minute


def _name_index(token: str, names: tuple[str, ...]) -> int | None:
    token = token.lower()
    for index, name in enumerate(names):
        if len(token) >= 3 and name.startswith(token):  # "Jun", "June", "Sept", "Thurs"
            return index
    return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
