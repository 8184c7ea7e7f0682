"""The task bank: features of comparable size, each feature's status, the size rule and gate G2 (DESIGN §11).

Everything here is a pure function of the live records (``records.live_records``): a feature is its newest
``feature`` record, its status follows from the events on it in record order, and nothing stored is a summary.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gittracker.errors import BadInput
from gittracker.experiment.plan import Plan
from gittracker.files import read_input
from gittracker.records import FEATURE_ID_RULE, FEATURE_STATUSES, MAX_SPEC_BYTES, SCHEMAS, Record, typed_text

FEATURE = "feature"
FEATURE_STATUS = "feature-status"
# What the bank's reports read: the features, their statuses, the windows and outcomes on them, the plan, and
# the voids that cancel an undone window or a replaced outcome.
BANK_KINDS = (FEATURE, FEATURE_STATUS, "window-open", "completion", "assignment", "void")

# Where a feature's current status came from.
ADDED = "added"
BY_HAND = "set by hand"
FROM_WINDOWS = "from windows"

READY = "ready"
IN_PROGRESS = "in-progress"
DONE = "done"
BLOCKED_CAPACITY = "blocked-capacity"

# The size rule (docs/commands.md#bank): with at least this many features, one whose size is under half or over
# twice the median of all sizes is "far": comparing providers on it says little about the others.
SIZE_RULE_MIN_FEATURES = 3
SIZE_RULE_FACTOR = 2.0
SIZE_RULE = (
    f"with {SIZE_RULE_MIN_FEATURES} or more features, a size under median/{SIZE_RULE_FACTOR:g} "
    f"or over {SIZE_RULE_FACTOR:g} x median is far"
)
G2_MIN_BLOCKED = 2


# -- parsing what the user types ---------------------------------------------------------------------------


def parse_feature_id(text: str, option: str = "FEATURE") -> str:
    check, _ = SCHEMAS[FEATURE]["feature_id"]
    if not check(text):
        raise BadInput(f"{option}: expected a feature id ({FEATURE_ID_RULE}), got {text[:80]!r}")
    return text


# Control characters other than tab, line feed and carriage return: bank list and bank show print titles and specs,
# and an escape sequence in one would drive the reader's terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_title(text: str) -> str:
    title = typed_text(text, "--title")
    if title is None or not title.strip():
        raise BadInput("--title: expected one line of text, got nothing")
    if _CONTROL.search(title) or "\t" in title or "\r" in title:
        raise BadInput("--title: expected one line of printable text, got a control character")
    return title


MAX_SIZE = 1e9  # a size in any unit (points, hours, lines) stays far below; the median of two stays finite
# [0-9], not \d, which takes any script's digits.
_DECIMAL = re.compile(r"[+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_size(text: str) -> float:
    """``--size``: a decimal number > 0 and at most MAX_SIZE (points, hours, lines: any unit, the same for the whole
    bank), in ASCII digits as ``--seed`` takes them (``float`` alone would take ``1_0`` and other scripts' digits)."""
    written = text.strip()
    if not _DECIMAL.fullmatch(written):
        raise BadInput(f"--size: expected a number > 0 such as 3 or 2.5, got {text[:80]!r}")
    value = float(written)
    if not 0 < value <= MAX_SIZE:
        raise BadInput(f"--size: expected a number > 0 and at most {MAX_SIZE:g}, got {text[:80]!r}")
    return value


def read_spec(source: str) -> str:
    """``--spec FILE`` or ``--spec -`` (stdin): UTF-8 text, no NUL byte, at most MAX_SPEC_BYTES; a larger file is
    refused from its size, without reading it."""
    expected = f"a spec: UTF-8 text of at most {MAX_SPEC_BYTES // 1024} KiB"
    data = read_input(source, MAX_SPEC_BYTES, "--spec", expected)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"--spec: expected {expected}, got bytes that are not UTF-8 from {source!r}") from None
    if not text.strip():
        raise BadInput(f"--spec: expected {expected}, got an empty file {source!r}")
    control = _CONTROL.search(text)
    if control is not None:
        line = text.count("\n", 0, control.start()) + 1
        raise BadInput(f"--spec: expected {expected}, got a control character ({control.group()!r}) on line {line}")
    return text


def spec_digest(spec: str) -> str:
    return hashlib.sha256(spec.encode("utf-8")).hexdigest()


# -- the bank ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feature:
    """A feature as the bank holds it now: its newest ``feature`` record."""

    feature_id: str
    title: str
    size: float
    spec: str
    spec_sha256: str
    record_id: str
    added_ts: str  # when its first ``feature`` record was written

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature_id": self.feature_id,
            "title": self.title,
            "size": self.size,
            "spec_sha256": self.spec_sha256,
            "spec_bytes": len(self.spec.encode("utf-8")),
            "record_id": self.record_id,
            "added_ts": self.added_ts,
        }


def features(live: Iterable[Record]) -> dict[str, Feature]:
    """Every feature of the bank by id, sorted by id; ``--replace`` appends a newer record, and the newest wins."""
    found: dict[str, Feature] = {}
    for record in _in_record_order(r for r in live if r.kind == FEATURE):
        earlier = found.get(record["feature_id"])
        found[record["feature_id"]] = Feature(
            feature_id=record["feature_id"],
            title=record["title"],
            size=float(record["size"]),
            spec=record["spec"],
            spec_sha256=record["spec_sha256"],
            record_id=record.id,
            added_ts=earlier.added_ts if earlier is not None else record.ts,
        )
    return dict(sorted(found.items(), key=lambda item: id_order(item[0])))


def id_order(feature_id: str) -> tuple[tuple[int, str], ...]:
    """Ids in the order people number them: F-2 before F-10 (the digits compared as numbers)."""
    return tuple((int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"([0-9]+)", feature_id))


def median_size(bank: Mapping[str, Feature]) -> float | None:
    """The median of the sizes, or None while the bank is too small for the size rule."""
    if len(bank) < SIZE_RULE_MIN_FEATURES:
        return None
    return float(statistics.median(feature.size for feature in bank.values()))


def is_far(size: float, median: float | None) -> bool:
    return median is not None and (size < median / SIZE_RULE_FACTOR or size > median * SIZE_RULE_FACTOR)


# -- status ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusEvent:
    """One change of a feature's status: what it became, why, and the record behind it."""

    feature_id: str
    status: str
    origin: str
    ts: str
    record_id: str
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "origin": self.origin,
            "ts": self.ts,
            "record_id": self.record_id,
            "note": self.note,
        }


def status_history(live: Sequence[Record], plan: Plan | None) -> dict[str, list[StatusEvent]]:
    """Each bank feature's status events, oldest first (the last one is its current status).

    In record order (``ts``, then id): its first ``feature`` record makes it ``ready``; a ``feature-status``
    record sets what it says (by hand); a window opened on it makes it ``in-progress``; an outcome recorded for it
    makes it ``done`` once every provider the plan gives it has a completed window on it (with no plan for it:
    any), else ``in-progress``. The newest event wins, so a status set by hand holds until the next window event.
    A ``--replace`` of the feature changes its text, not its status.
    """
    providers_of = {r["window_id"]: r["provider"] for r in live if r.kind == "window-open"}
    history: dict[str, list[StatusEvent]] = {}
    completed: dict[str, set[str]] = {}  # feature id -> providers with a completed window on it so far
    for record in _in_record_order(live):
        event = _event_of(record, history, completed, providers_of, plan)
        if event is not None:
            history.setdefault(event.feature_id, []).append(event)
    return history


def _event_of(
    record: Record,
    history: Mapping[str, list[StatusEvent]],
    completed: dict[str, set[str]],
    providers_of: Mapping[str, str],
    plan: Plan | None,
) -> StatusEvent | None:
    kind, feature_id = record.kind, record.get("feature_id")
    if kind == FEATURE:
        return None if feature_id in history else StatusEvent(feature_id, READY, ADDED, record.ts, record.id)
    if feature_id not in history:  # windows on a feature not (yet) in the bank have no status to follow
        return None
    if kind == FEATURE_STATUS:
        return StatusEvent(feature_id, record["status"], BY_HAND, record.ts, record.id, record["note"])
    if kind == "window-open":
        return StatusEvent(feature_id, IN_PROGRESS, FROM_WINDOWS, record.ts, record.id)
    if kind == "completion":
        provider = providers_of.get(record["window_id"])
        done = completed.setdefault(feature_id, set())
        if provider is not None:
            done.add(provider)
        order = plan.order_of(feature_id) if plan is not None else None
        finished = set(order) <= done if order is not None else bool(done)
        return StatusEvent(feature_id, DONE if finished else IN_PROGRESS, FROM_WINDOWS, record.ts, record.id)
    return None


def current_statuses(live: Sequence[Record], plan: Plan | None) -> dict[str, StatusEvent]:
    return {feature_id: events[-1] for feature_id, events in status_history(live, plan).items()}


def _in_record_order(records: Iterable[Record]) -> list[Record]:
    """By time, then id; within one millisecond a feature's records first: records two processes wrote in the same
    millisecond have ids in no particular order, and a status set as the feature is added must not come before it."""
    return sorted(records, key=lambda record: (record.ts, record.kind != FEATURE, record.id))


# -- gate G2 -------------------------------------------------------------------------------------------------


def backlog_pressure(live: Sequence[Record], plan: Plan | None) -> dict[str, Any]:
    """Gate G2 (STATS.md): at least two bank features are ready and blocked only by capacity, i.e. their current
    status is ``blocked-capacity``; fails closed on an empty bank."""
    bank = features(live)
    if not bank:
        return {"pass": False, "detail": "no data: the task bank is empty; fails closed", "features": []}
    statuses = current_statuses(live, plan)
    blocked = [f for f in bank if f in statuses and statuses[f].status == BLOCKED_CAPACITY]
    named = ", ".join(blocked)
    if len(blocked) >= G2_MIN_BLOCKED:
        detail = f"{named} are ready and blocked only by capacity"
    elif blocked:
        detail = f"only {named} is ready and blocked only by capacity (needs >= {G2_MIN_BLOCKED})"
    else:
        detail = f"no feature of {len(bank)} in the bank is blocked only by capacity (needs >= {G2_MIN_BLOCKED})"
    return {"pass": len(blocked) >= G2_MIN_BLOCKED, "detail": detail, "features": blocked}


def status_choices() -> str:
    return ", ".join(FEATURE_STATUSES)
