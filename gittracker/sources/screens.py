"""Pasted provider screens: a Codex ``/status`` card or a Claude ``/usage`` panel, detected.

Codex ``/status`` (one row per limit window; current builds print what is *left*, older ones what is
*used*; a reset that does not fit wraps onto its own line; 0.159 prints no border and a 12-hour clock;
per-model buckets follow the account's rows, either as ``<Model> 5h limit:`` or under a ``<Model> limit:``
heading; a plan without a 5-hour window shows only the ``Weekly limit`` row)::

    │  5h limit:      [███████████░░░░░░░░░] 55% left (resets 09:25)            │
    │  Weekly limit:  [██████████████░░░░░░] 70% left (resets 09:55 on 7 Jun)   │
    │  GPT-5.3-Codex-Spark limit:                                              │
    │  5h limit:      [████████████████████] 100% left (resets 00:46 on 8 Jun)  │
    │  Warning:       limits may be stale - run /status again shortly.         │

Claude ``/usage``, as the panel, as the one line ``claude -p /usage`` prints, and as the Markdown the Zed
adapter (claude-agent-acp) renders from the same data (its percent is the utilization, i.e. used)::

    Current session
    ███████████████████████████████████████▌           77% used
    Resets 2pm (Europe/Berlin)
    Current week (all models)   …   Current week (Opus)   …

    Current session: 22% used · resets Jun 28, 10:40am (UTC)

    **5-hour limit** — **14%** · Resets Oct 1, 5:39 PM GMT+1
    **Weekly · all models** — **38%** · Resets Oct 6, 9:00 AM GMT+1

Pastes come damaged: the left columns clipped (``rrent week (all models)``), spaces and letters lost by a
PTY capture (``Curretsession``, ``Resets1:40am``, ``25%used``), rows quoted after a label (``Today: Weekly
limit: …``), the percent cut off by a narrow terminal. Every meter the pane shows becomes a ``capacity.Meter``;
one that is on the screen but cannot be read is reported in ``parse_errors`` (``meter-unread:<meter>``,
``reset-unparsed:<meter>``), never dropped silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gittracker import clock
from gittracker.capacity import Meter, Reading, meter_label, meter_name
from gittracker.errors import BadInput

CODEX = "codex"
CLAUDE = "claude"
SCREEN_NAMES = {CODEX: "Codex /status", CLAUDE: "Claude /usage"}

EXPECTED = (
    "expected a Codex /status screen (`5h limit: [bar] 64% left (resets 16:12)`) "
    "or a Claude /usage screen (`Current session … 77% used`)"
)
_ROW_SHAPE = {
    CODEX: "`5h limit: [bar] 64% left (resets 16:12)`",
    CLAUDE: "`Current session … 77% used … Resets 2pm (Europe/Berlin)`",
}

# parse_errors codes this module may add to a Reading. The ones ending in ":" are followed by what they
# concern: a meter name (``meter-unread:weekly``), a zone (``reset-zone-assumed:Europe/Berlin``), a label.
MULTI_PANE = "multi-pane-trimmed"
STALE = "limits-may-be-stale"
RESET_UNPARSED = "reset-unparsed"  # "reset-unparsed:<meter>": a reset is shown but could not be read
ZONE_UNKNOWN = "reset-zone-unknown"  # the screen names a zone that is no zone git-tracker knows
ZONE_ASSUMED = "reset-zone-assumed"  # "reset-zone-assumed:<zone>": the screen names none; this one was used
METER_UNREAD = "meter-unread"  # "meter-unread:<meter>": the meter is on the screen, its percent was not read
METER_UNKNOWN = "meter-unknown"  # "meter-unknown:<label>": a limit row of a length no meter has (``3h limit``)

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
# A terminal often moves the cursor right instead of printing spaces; a capture keeps the move, not the spaces.
_CURSOR_FORWARD = re.compile(r"\x1b\[([0-9]{0,3})C")
_LOST_ESC_SGR = re.compile(r"\[[0-9;]{1,40}m")  # a colour code whose ESC byte the copy dropped
_BOX = re.compile("[\u2500-\u257f]")  # box drawing; block elements (the bars) stay
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00a0\u2000-\u200b\u202f\u205f\u3000]")
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_\[\]<>|])")
_LEADERS = " \t•·*>⎿\u203a\u276f▸|"  # bullets, tree marks, prompt marks

_PERCENT = re.compile(r"(?<![\w.])(-?[0-9]+(?:\.[0-9]+)?)\s*%\s*(left|used|remaining)?", re.IGNORECASE)
_BAR = re.compile("[\u2580-\u259f]|\\[[\u2580-\u259f ]*\\]?")  # a meter bar, or what a narrow terminal left of it
_MARKER = re.compile(
    r"^(?:/status\b|/usage\b|(?:>?_\s*)?OpenAI Codex\b|Settings\s*:?\s+Status\s+Config\s+Usage|#{1,6}\s*Usage$)",
    re.IGNORECASE,
)
_STALE = re.compile(r"limits\s*may\s*be\s*stale", re.IGNORECASE)

# ``5h limit: …``, ``GPT-5 limit:`` (a heading), and the same after a quoting label (``Today: Weekly limit: …``).
# The quoting label ends in a letter, so a clock time (``12:30 Weekly limit:``) is never taken for one.
_CODEX_ROW = re.compile(
    r"^(?:[^:]{0,39}[a-z]:\s*)?(?P<label>[^:]{0,80}?)\s*limit\s*:\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
# ``GPT-5.1-Codex-Mini 5h``; with its spaces lost (``…-Mini5h``) only a model ending in a letter is told apart.
_WINDOW = re.compile(
    r"^(?:(?P<model>.+?)\s+|(?P<glued>.*[a-z])(?=[0-9]{1,3}h$))?"
    r"(?P<window>[0-9]{1,3}h|daily|weekly|monthly|annual)$",
    re.IGNORECASE,
)
_CODEX_SPANS = {"5h": "five_hour", "daily": "daily", "weekly": "weekly", "monthly": "monthly", "annual": "annual"}
_CODEX_RESET = re.compile(r"\(\s*resets?\s*(?P<when>[^)]*)\)?", re.IGNORECASE)
_CODEX_RESET_LINE = re.compile(r"^\(\s*resets?\b\s*(?P<when>[^)]*)\)?\s*$", re.IGNORECASE)
_CODEX_NO_LIMITS = re.compile(r"^limits\s*:\s*(?P<why>.*\S)", re.IGNORECASE)

# ``Current session``, and what clipping and a PTY capture leave of it: any three or more letters of
# "current", in order (``rrent``, ``Curret``), then ``session`` or ``week``, spaces optional.
_CURRENT = r"(?P<prefix>c?u?r?r?e?n?t?)"
_MIN_CURRENT = 3
_CLAUDE_HEAD = re.compile(
    rf"^{_CURRENT}\s*(?P<what>session|week)(?![a-z])\s*(?:\((?P<bucket>[^)]*)\)?)?\s*:?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_CLAUDE_OTHER_HEAD = re.compile(r"^(?:extra\s*usage|usage\s*credits|current\s*month)", re.IGNORECASE)
_CLAUDE_RESET = re.compile(r"(?:(?<![a-z])|(?<=used)|(?<=left))resets?\s*(?P<when>\S.*?)\s*$", re.IGNORECASE)
_CLIPPED_RESET = re.compile(
    r"^(?:esets?|sets)(?=[\s0-9(]|in\s*[0-9]|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri"
    r"|sat|sun|today|tomorrow)\s*(?P<when>.+)$",
    re.IGNORECASE,
)
_CLAUDE_NO_LIMITS = re.compile(r"only available for (?:subscription|claude)", re.IGNORECASE)
# The Zed adapter's Markdown: ``**5-hour limit** — **14%** · Resets …`` (the ``**`` are gone by now).
_MARKDOWN_ROW = re.compile(
    r"^(?P<label>5-?\s*hour\s*limit|weekly\s*·\s*(?P<bucket>[^\u2014\u2013]+?)|extra\s*usage[^\u2014\u2013]*)"
    r"\s*[\u2014\u2013]\s*(?P<number>-?[0-9]+(?:\.[0-9]+)?)\s*%(?P<rest>.*)$",
    re.IGNORECASE,
)

# A meter's label anywhere in a line: a line that names one but was read as no row is reported.
_ANY_LABEL = re.compile(
    r"(?:(?<![0-9.])(?P<codex>5h)|(?<![a-z])(?P<codex_long>daily|weekly|monthly|annual))\s*limit(?!s)"
    rf"|(?<![a-z]){_CURRENT}\s*(?P<what>session|week)(?![a-z])\s*(?:\((?P<bucket>[^)]*)\)?)?"
    r"|(?P<five>5-?\s*hour\s*limit)"
    r"|weekly\s*·\s*(?P<md_bucket>[^\u2014\u2013]+?)\s*[\u2014\u2013]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Screen:
    """What one pasted screen said: the provider, the reading, the zone each reset was read in, and for each
    parse_errors code a sentence saying what it means on this screen (the warnings ``start`` echoes)."""

    provider: str
    reading: Reading
    zones: Mapping[str, tzinfo] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)


def parse_screen(text: str, now: datetime, tz: tzinfo | None = None) -> tuple[str, Reading]:
    """Detect a pasted Codex ``/status`` or Claude ``/usage`` screen; return (provider, reading)."""
    screen = read_screen(text, now, tz)
    return screen.provider, screen.reading


def read_screen(text: str, now: datetime, tz: tzinfo | None = None) -> Screen:
    """Detect a pasted Codex ``/status`` or Claude ``/usage`` screen and read every meter it shows.

    Reset times resolve to absolute UTC relative to ``now``: a zone the screen names wins, else ``tz``
    (the zone the screen was drawn in: ``clock.local_zone``), else UTC; a reading whose zone was assumed
    says which (``reset-zone-assumed:<zone>``). A paste holding several panes keeps the last one and flags
    ``multi-pane-trimmed``. Raises BadInput, naming what was found and what was expected, when no meter
    can be read.
    """
    now = _aware(now)
    lines = clean_lines(text)
    scan = _Scanner(lines)
    scan.run()
    if not scan.panes:
        raise BadInput(_nothing_found(lines, scan))
    return _Reader(scan, now, tz).read()


def clean_lines(text: str) -> list[str]:
    """The paste as plain lines: no ANSI codes, no box drawing, no Markdown emphasis, no bullets or prompt marks."""
    text = _CURSOR_FORWARD.sub(lambda match: " " * min(200, max(1, int(match.group(1) or 1))), text)
    text = _ANSI.sub("", text).replace("\x1b", "")
    text = _LOST_ESC_SGR.sub("", text)
    text = _MARKDOWN_ESCAPE.sub(r"\1", text.replace("**", ""))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    for raw in text.split("\n"):
        line = _CONTROL.sub(" ", _BOX.sub(" ", raw)).replace("\t", " ")
        lines.append(" ".join(line.strip(_LEADERS).split()))
    return lines


@dataclass
class _Row:
    provider: str
    meter: str | None  # None: a limit row of a length no meter has
    label: str  # the row's label as the screen shows it
    number: int  # 1-based line number
    line: str
    used: float | None = None
    reset: str | None = None
    problem: str | None = None  # why ``used`` is None, when the row says

    @property
    def slot(self) -> str:  # unique within one pane: a repeat means a second pane began
        return self.meter or f"label:{self.label.lower()}"

    def describe(self) -> str:
        what = f"the {meter_label(self.meter)} meter" if self.meter else f"a {self.label!r} row"
        return f"line {self.number}: {_quote(self.line)} ({what}) {self.problem or 'shows no percent'}"


@dataclass
class _Pane:
    provider: str
    first_line: int
    rows: dict[str, _Row] = field(default_factory=dict)
    last_line: int = 0


@dataclass(frozen=True)
class _Label:
    """A meter's label found in a line that was read as no row."""

    number: int
    line: str
    meter: str


class _Scanner:
    """One pass over the lines, grouping rate-limit rows into panes."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.panes: list[_Pane] = []
        self.stale_lines: list[int] = []
        self.unavailable: tuple[int, str, str] | None = None  # (line number, line, provider)
        self.claimed: set[int] = set()  # lines read as part of a row
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
            if self._codex(number, line) or self._markdown(number, line) or self._claude_line(number, line):
                continue
            self._model = None
            if self.unavailable is None:
                if _CODEX_NO_LIMITS.match(line):
                    self.unavailable = (number, line, CODEX)
                elif _CLAUDE_NO_LIMITS.search(line):
                    self.unavailable = (number, line, CLAUDE)

    def unclaimed_labels(self, start: int) -> list[_Label]:
        """Meter labels in lines from ``start`` on that no row took: each is a meter the screen shows."""
        found = []
        for number, line in enumerate(self.lines[start - 1 :], start):
            if number in self.claimed or not line:
                continue
            for match in _ANY_LABEL.finditer(line):
                meter = _label_meter(match)
                if meter is not None:
                    found.append(_Label(number, line, meter))
        return found

    def _add(self, row: _Row) -> None:
        pane = self.panes[-1] if self.panes else None
        if pane is None or self._split or pane.provider != row.provider or row.slot in pane.rows:
            pane = _Pane(row.provider, row.number)
            self.panes.append(pane)
            self._split = False
        pane.rows[row.slot] = row
        self._claim(row.number)

    def _claim(self, number: int) -> None:
        self.claimed.add(number)
        if self.panes:
            self.panes[-1].last_line = max(self.panes[-1].last_line, number)

    def _codex(self, number: int, line: str) -> bool:
        wrapped = _CODEX_RESET_LINE.match(line)
        if wrapped:
            pane = self.panes[-1] if self.panes else None
            last = list(pane.rows.values())[-1] if pane and pane.rows else None
            if last is not None and last.provider == CODEX and last.reset is None:
                last.reset = wrapped.group("when").strip() or None
                self._claim(number)
            return True
        match = _CODEX_ROW.match(line)
        if not match:
            return False
        label, rest = match.group("label").strip(), match.group("rest")
        window = _WINDOW.match(label)
        percent = _PERCENT.search(rest)
        if window is None:
            if percent is None and not rest.strip() and label:
                self._model = label  # a per-model heading: the rows below belong to it
                self.claimed.add(number)
                return True
            return False
        self._claude = None
        model = window.group("model") or window.group("glued") or self._model
        span = _CODEX_SPANS.get(window.group("window").lower())
        row = _Row(CODEX, meter_name(span, model) if span else None, f"{label} limit", number, line)
        if percent is None:
            row.problem = (
                "has its percent cut off after the bar (a terminal too narrow for the row?)"
                if _BAR.search(rest)
                else "shows no percent"
            )
        elif percent.group(2) is None:
            row.problem = f"shows {percent.group(0).strip()!r}: expected `NN% left` or `NN% used`"
        else:
            row.used = _used(percent.group(1), percent.group(2), number, line)
        reset = _CODEX_RESET.search(rest, percent.end() if percent else 0)
        if reset:
            row.reset = reset.group("when").strip() or None
        self._add(row)
        return True

    def _markdown(self, number: int, line: str) -> bool:
        match = _MARKDOWN_ROW.match(line)
        if not match:
            return False
        self._model = None
        self._claude = None
        label = match.group("label")
        if label.lower().startswith("extra"):
            return True  # paid extra usage: a percent of money, not a rate-limit window
        meter = "five_hour" if match.group("bucket") is None else _week_meter(match.group("bucket"))
        row = _Row(CLAUDE, meter, label, number, line)
        row.used = _used(match.group("number"), "used", number, line)  # the adapter shows utilization: used
        reset = _CLAUDE_RESET.search(match.group("rest"))
        if reset:
            row.reset = _balanced(reset.group("when")) or None
        self._add(row)
        return True

    def _claude_line(self, number: int, line: str) -> bool:
        head = _CLAUDE_HEAD.match(line)
        if head and len(head.group("prefix")) >= _MIN_CURRENT:
            self._model = None
            if head.group("what").lower() == "session":
                meter = "five_hour"
            else:
                meter = _week_meter(head.group("bucket") or "")
            row = _Row(CLAUDE, meter, line[: head.start("rest")].strip(" :"), number, line)
            row.problem = "has no `NN% used` after it"
            self._add(row)
            self._claude = row
            self._claude_values(row, number, line, head.group("rest"), own_line=False)
            return True
        if _CLAUDE_OTHER_HEAD.match(line):
            self._claude = None  # its percent (extra usage, credits) is not a rate-limit window
            return True
        open_row = self._claude
        if open_row is None:
            return False
        return self._claude_values(open_row, number, line, line, own_line=True)

    def _claude_values(self, row: _Row, number: int, line: str, text: str, *, own_line: bool) -> bool:
        took = False
        if row.used is None:
            percent = _PERCENT.search(text)
            if percent is not None and percent.group(2) is not None:
                row.used = _used(percent.group(1), percent.group(2), number, line)
                took = True
            elif percent is not None:
                row.problem = f"shows {percent.group(0).strip()!r}: expected `NN% used`"
        if row.reset is None:
            # A reset line whose first letters were clipped (``sets 2pm``) only counts on a line of its own.
            reset = _CLAUDE_RESET.search(text) or (_CLIPPED_RESET.match(text) if own_line else None)
            if reset:
                row.reset = _balanced(reset.group("when")) or None
                took = True
        if took:
            self._claim(number)
        return took


def _week_meter(bucket: str) -> str:
    """``all models`` is the account's week; ``Opus``, ``Sonnet only``, ``OAuth apps`` are buckets of it."""
    squeezed = re.sub(r"[^a-z0-9]+", "", bucket.lower())
    if not squeezed or squeezed.startswith("all"):
        return "weekly"
    model = re.sub(r"\s*only\s*$", "", bucket.strip(), flags=re.IGNORECASE)
    return meter_name("weekly", model)


def _label_meter(match: re.Match[str]) -> str | None:
    if match.group("codex") or match.group("codex_long"):
        return _CODEX_SPANS[(match.group("codex") or match.group("codex_long")).lower()]
    if match.group("five"):
        return "five_hour"
    if match.group("md_bucket"):
        return _week_meter(match.group("md_bucket"))
    if len(match.group("prefix") or "") < _MIN_CURRENT:
        return None
    return "five_hour" if match.group("what").lower() == "session" else _week_meter(match.group("bucket") or "")


def _balanced(text: str) -> str:
    """``5am (Europe/Vienna))`` → ``5am (Europe/Vienna)``: the inline form wraps the reset in parentheses too."""
    text = text.strip()
    while text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1].rstrip()
    return text


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


class _Reader:
    """The kept pane as a Reading: every meter read, and a parse_errors code for each one that was not."""

    def __init__(self, scan: _Scanner, now: datetime, tz: tzinfo | None) -> None:
        self.scan = scan
        self.pane = scan.panes[-1]
        self.now = now
        self.tz = tz
        self.errors: list[str] = []
        self.notes: dict[str, str] = {}
        self.zones: dict[str, tzinfo] = {}

    def flag(self, code: str, note: str) -> None:
        if code not in self.errors:
            self.errors.append(code)
            self.notes[code] = note

    def read(self) -> Screen:
        pane, panes = self.pane, self.scan.panes
        if len(panes) > 1:
            where = f"line {pane.first_line} on"
            self.flag(MULTI_PANE, f"the paste holds {len(panes)} screens; read only the last ({where})")
        if any(number > pane.first_line for number in self.scan.stale_lines):
            self.flag(STALE, "the screen says its limits may be stale; refresh it for current figures")
        meters = [meter for row in pane.rows.values() if (meter := self._meter(row)) is not None]
        self._report_unclaimed({meter.name for meter in meters})
        if not meters:
            raise BadInput(_nothing_read(pane, self.scan))
        reading = Reading(tuple(meters), parse_errors=tuple(self.errors))
        return Screen(pane.provider, reading, dict(self.zones), dict(self.notes))

    def _meter(self, row: _Row) -> Meter | None:
        if row.meter is None:
            self.flag(f"{METER_UNKNOWN}:{row.label}", f"{row.describe()}: no meter has that length; not recorded")
            return None
        if row.used is None:
            self.flag(f"{METER_UNREAD}:{row.meter}", f"{row.describe()}; not recorded")
            return None
        return Meter(row.meter, row.used, self._reset(row))

    def _reset(self, row: _Row) -> str | None:
        if not row.reset:
            return None
        assert row.meter is not None
        found = read_reset(row.reset, self.now, self.tz)
        if found.moment is None:
            self.flag(
                f"{RESET_UNPARSED}:{row.meter}",
                f"line {row.number}: the {meter_label(row.meter)} reset {row.reset!r} could not be read; "
                "recorded without a reset time",
            )
            return None
        self.zones[row.meter] = found.zone
        if ZONE_UNKNOWN in found.codes:
            self.flag(ZONE_UNKNOWN, f"line {row.number}: the screen names a zone git-tracker does not know")
        if found.assumed:
            zone = clock.zone_label(found.zone)
            self.flag(
                f"{ZONE_ASSUMED}:{zone}",
                f"the screen's reset times name no zone; read as {zone} time "
                "(`[tracker] timezone` in .git-tracker.toml, else TZ, else the system zone)",
            )
        return clock.format_ts(found.moment)

    def _report_unclaimed(self, read: set[str]) -> None:
        """A label outside every row of the kept pane is a meter the screen shows and the reading lacks."""
        earlier = self.scan.panes[-2].last_line if len(self.scan.panes) > 1 else 0
        for label in self.scan.unclaimed_labels(earlier + 1):
            if label.meter in read:
                continue
            self.flag(
                f"{METER_UNREAD}:{label.meter}",
                f"line {label.number}: {_quote(label.line)} names the {meter_label(label.meter)} meter "
                "in no form git-tracker reads; not recorded",
            )


def _nothing_found(lines: list[str], scan: _Scanner) -> str:
    if scan.unavailable is not None:
        number, line, provider = scan.unavailable
        if provider == CODEX:
            return f"line {number}: Codex /status shows no limits ({_quote(line)}); run a Codex command or pass --used"
        return f"line {number}: Claude /usage shows no limits ({_quote(line)}); pass --used"
    labels = scan.unclaimed_labels(1)
    if labels:
        named = ", ".join(f"the {meter_label(label.meter)} meter (line {label.number})" for label in labels[:3])
        return f"found {named} but no row to read: {_quote(labels[0].line)}; {EXPECTED}"
    for number, line in enumerate(lines, 1):
        if line:
            return f"{EXPECTED}; found no rate-limit line (line {number}: {_quote(line)})"
    return f"{EXPECTED}; the input is empty"


def _nothing_read(pane: _Pane, scan: _Scanner) -> str:
    """Say what was found and what is missing: which rows, why each could not be read, what was expected."""
    rows = list(pane.rows.values())
    found = "; ".join(row.describe() for row in rows[:3])
    more = f"; and {len(rows) - 3} more" if len(rows) > 3 else ""
    hint = ""
    if any(row.problem and "cut off" in row.problem for row in rows):
        hint = "; paste it from a wider terminal, or type the values (--used/--left, --weekly)"
    return (
        f"read no meter from this {SCREEN_NAMES[pane.provider]} screen: {found}{more}; "
        f"expected rows like {_ROW_SHAPE[pane.provider]}{hint}"
    )


# --- reset times ------------------------------------------------------------------------------------

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")  # fmt: skip
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ZONE_SUFFIX = re.compile(r"\(\s*(?P<zone>[A-Za-z][A-Za-z0-9_+\-/:]{0,63})\s*\)\s*$")
# A zone written after the time with no parentheses, as JavaScript's Intl "en" short names print it
# (``5:39 PM GMT+1``, ``UTC``, ``EDT``): only names that are not also words of a time.
_ZONE_TAIL = re.compile(
    r"(?<=[0-9mM.])\s*(?P<zone>(?:UTC|GMT)(?:\s*[+-][0-9]{1,2}(?::?[0-9]{2})?)?|[ECMP][SD]T|AK[SD]T|HST)$"
)
_ABBREVIATIONS = {"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
                  "AKST": -9, "AKDT": -8, "HST": -10}  # fmt: skip
_OFFSET_ZONE = re.compile(r"^(?:UTC|GMT)\s*(?:(?P<sign>[+-])(?P<hours>[0-9]{1,2})(?::?(?P<minutes>[0-9]{2}))?)?$", re.I)
_ISO = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}")
_TIME = r"(?P<hour>[0-9]{1,2})(?:[:.](?P<minute>[0-9]{2}))?\s*(?P<ampm>[ap]\.?\s?m\.?)?"
_DAY_MONTH = r"(?P<day>[0-9]{1,2})(?:st|nd|rd|th)?\s*(?P<month>[A-Za-z]{3,9})\.?(?:,?\s+(?P<year>[0-9]{4}))?"
_MONTH_DAY = r"(?P<month>[A-Za-z]{3,9})\.?\s*(?P<day>[0-9]{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<year>[0-9]{4}))?"
_ABSOLUTE = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        _TIME,  # Codex "16:12", "12:58 AM", Claude "2pm"
        rf"{_TIME},?\s*(?:on\s*)?{_DAY_MONTH}",  # Codex "08:00 on 7 Jun", "12:58 AM on 4 Oct"
        rf"{_TIME},?\s*(?:on\s*)?{_MONTH_DAY}",
        rf"{_MONTH_DAY},?\s*(?:at\s*)?{_TIME}",  # Claude "Jun 28, 10:40am", "Sep 19 at 5am", Zed "Oct 1, 5:39 PM"
        rf"{_DAY_MONTH},?\s*(?:at\s*)?{_TIME}",
        rf"(?P<weekday>[A-Za-z]{{3,9}})\.?,?\s*(?:at\s*)?{_TIME}",  # "Thu 12:00 PM"
        rf"(?P<relday>today|tomorrow),?\s*(?:at\s*)?{_TIME}",
    )
)
_RELATIVE = re.compile(r"^in\s*(?P<span>[0-9].*)$", re.IGNORECASE)
_SPAN_PART = re.compile(
    r"([0-9]{1,6})\s*(d|days?|h|hrs?|hours?|m|mins?|minutes?|s|secs?|seconds?)(?![a-z])", re.IGNORECASE
)
_SPAN_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True)
class ResetTime:
    """A reset as read: the moment (None when unreadable), the zone its clock time was read in, whether that
    zone was assumed (the screen named none and the time depended on one), and parse_errors codes."""

    moment: datetime | None
    zone: tzinfo
    assumed: bool
    codes: tuple[str, ...] = ()


def resolve_reset(text: str, now: datetime, tz: tzinfo | None = None) -> tuple[datetime | None, tuple[str, ...]]:
    """A reset as a screen shows it ("16:12", "08:00 on 7 Jun", "Jun 28, 10:40am (UTC)", "in 2h 5m")
    as an absolute UTC time, plus parse_errors codes; (None, ("reset-unparsed",)) when unreadable."""
    found = read_reset(text, now, tz)
    return found.moment, found.codes


def read_reset(text: str, now: datetime, tz: tzinfo | None = None) -> ResetTime:
    """``resolve_reset``, also saying which zone the time was read in and whether it was assumed."""
    now = _aware(now)
    codes: list[str] = []
    zone: tzinfo = tz or UTC
    named = False
    text = " ".join(text.split()).strip(" .·")
    suffix = _ZONE_SUFFIX.search(text) or _ZONE_TAIL.search(text)
    if suffix:
        text = text[: suffix.start()].strip(" ,")
        found = _zone(suffix.group("zone"))
        if found is None:
            codes.append(ZONE_UNKNOWN)
        else:
            zone, named = found, True
    try:
        relative = _relative(text, now)
        if relative is not None:
            return ResetTime(relative.astimezone(UTC), zone, False, tuple(codes))
        moment = _iso(text, zone) or _absolute(text, now, zone)
        if moment is not None:
            return ResetTime(moment.astimezone(UTC), zone, not named and moment.tzinfo is zone, tuple(codes))
    except (ValueError, OverflowError):
        pass
    return ResetTime(None, zone, False, (RESET_UNPARSED,))


def _zone(name: str) -> tzinfo | None:
    name = name.replace(" ", "")
    if name.upper() in _ABBREVIATIONS:
        return timezone(timedelta(hours=_ABBREVIATIONS[name.upper()]), name.upper())
    offset = _OFFSET_ZONE.match(name)
    if offset:
        if not offset.group("sign"):
            return UTC
        minutes = int(offset.group("hours")) * 60 + int(offset.group("minutes") or 0)
        if minutes >= 24 * 60:
            return None
        # Named as the screen wrote it, so the echo shows the reset as the user saw it (``17:39 GMT+1``).
        return timezone(timedelta(minutes=minutes if offset.group("sign") == "+" else -minutes), name.upper())
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


def _iso(text: str, zone: tzinfo) -> datetime | None:
    """The adapter prints a reset it cannot format as the raw ISO time it got."""
    if not _ISO.match(text):
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


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
