"""Ledger records: immutable, validated, stamped.

One ``Record`` type carries the common stamp (DESIGN §2) and a kind-specific body. The schema of each
kind is a table of field validators, so the same check guards records we build and records we read
back from a ledger another clone (or another version) wrote.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeGuard

from gittracker import __version__, clock
from gittracker.errors import BadInput
from gittracker.names import valid_agent_id

# 3: every record names the clone that wrote it (``machine``). 2: meters.
SCHEMA_VERSION = 3
SOURCES = frozenset({"alias", "ingest", "automation", "hook", "cli"})
PROVIDERS = ("codex", "claude", "glm")
OUTCOMES = ("shipped", "partial", "failed")
PHASES = ("before", "after", "mid")
USAGE_ORIGINS = ("ccusage", "claude-logs", "codex-sessions")
GRANULARITIES = ("day", "block", "session", "window")
STAMP_FIELDS = ("id", "kind", "ts", "schema_version", "tool_version", "source", "agent_id", "machine")
# Stamp fields a schema version added: records written before it do not have them (and may not).
STAMP_ADDED_IN = {"machine": 3}
# The stamp every record has, whatever its schema: what a ledger file must hold to be read as a record at all.
BASE_STAMP = tuple(name for name in STAMP_FIELDS if name not in STAMP_ADDED_IN)
_ROW_FIELDS = {*STAMP_FIELDS, "body"}  # Record.cache_row
_MACHINE = re.compile(r"^[a-z2-7]{12}$")  # machine.py's ids (kept here so records stay free of imports)

_ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

Validator = Callable[[Any], bool]


def finite_number(value: object) -> TypeGuard[int | float]:
    """A JSON number that is a real value: not a bool, not NaN or infinite, not an int too big for a float."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


_is_number = finite_number


def _optional(check: Validator) -> Validator:
    return lambda value: value is None or check(value)


def _percent(value: Any) -> bool:
    return _is_number(value) and 0 <= value <= 100


# Counts stay exact through every float and every JSON reader (2**53 is where doubles stop counting by one).
MAX_COUNT = 2**53


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


MAX_TEXT = 4096  # characters of one free-text field


def _text(value: Any) -> bool:
    return isinstance(value, str) and "\n" not in value and len(value) <= MAX_TEXT and _utf8(value)


def _utf8(value: str) -> bool:
    """Python hands over command-line bytes that are not UTF-8 as lone surrogates: text no JSON reader accepts."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def typed_text(value: str | None, option: str) -> str | None:
    """A free-text option (``--note``, ``--feature``, ``--methodology``) as a record field must hold it; the error
    names the option and the problem, never echoes the text back."""
    if value is None or _text(value):
        return value
    if "\n" in value:
        raise BadInput(f"{option}: expected one line of text, got a line break")
    if not _utf8(value):
        raise BadInput(f"{option}: expected text in UTF-8, got bytes that are not")
    raise BadInput(f"{option}: expected at most {MAX_TEXT:,} characters, got {len(value):,}")


def _ulid(value: Any) -> bool:
    return isinstance(value, str) and bool(_ULID.fullmatch(value))


def _sha(value: Any) -> bool:
    return isinstance(value, str) and bool(_SHA.fullmatch(value))


def _timestamp(value: Any) -> bool:
    return isinstance(value, str) and bool(_TS.fullmatch(value))


def _one_of(*choices: str) -> Validator:
    return lambda value: value in choices


def _codes(value: Any) -> bool:
    return isinstance(value, list) and all(_text(item) for item in value)


def _cost(value: Any) -> bool:
    return _is_number(value) and value >= 0


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _unit_interval(value: Any) -> bool:
    return _is_number(value) and 0 <= value <= 1


_PROVIDER = _one_of(*PROVIDERS)


def _milliseconds(value: Any) -> bool:
    return _is_number(value) and value >= 0


def _batch_size(value: Any) -> bool:
    return _count(value) and value >= 1


# proxyevents.py's columns (kept here for the message; the check itself is that module's, run in C by msgspec).
_PROXY_COLUMNS = ("trace_id", "timestamp", "session_id", "subagent_id", "backend_provider", "model", "…")


def _proxy_columns(value: Any) -> bool:
    from gittracker.proxyevents import valid_columns  # msgspec: only a proxy batch pays for it

    return valid_columns(value)


# The task bank (experiment/bank.py): a feature's id, its statuses, and the plan's orders (experiment/plan.py).
FEATURE_STATUSES = ("ready", "in-progress", "done", "blocked-capacity", "blocked-tooling")
ORDERS = ("AB", "BA")
_FEATURE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
FEATURE_ID_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
MAX_SPEC_BYTES = 256 * 1024  # a spec is a page or a few of text, not an attachment
MAX_SEED = 2**63 - 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _feature_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_FEATURE_ID.fullmatch(value))


def _title(value: Any) -> bool:
    return _text(value) and bool(value.strip())


def _positive(value: Any) -> bool:
    return _is_number(value) and value > 0


def _spec_text(value: Any) -> bool:
    """Several lines of UTF-8 text, no NUL (a binary file is not a spec), at most MAX_SPEC_BYTES."""
    if not isinstance(value, str) or "\x00" in value or len(value) > MAX_SPEC_BYTES:
        return False
    try:
        return len(value.encode("utf-8")) <= MAX_SPEC_BYTES
    except UnicodeEncodeError:
        return False


def _sha256(value: Any) -> bool:
    return isinstance(value, str) and bool(_SHA256.fullmatch(value))


def _seed(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEED


def _provider_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(_PROVIDER(p) for p in value) and value[0] != value[1]


def _orders(value: Any) -> bool:
    return isinstance(value, dict) and all(_feature_id(k) and v in ORDERS for k, v in value.items())


# capacity.py's meter names (kept here so records stay free of imports): a span, optionally _<model>, or prompts.
_METER = re.compile(r"^(?:prompts|(?:five_hour|daily|weekly|monthly|annual)(?:_[a-z0-9][a-z0-9_]{0,47})?)$")
_METER_READING_KEYS = frozenset({"used", "resets_at", "limit_id"})


def _meter_name(value: Any) -> bool:
    return isinstance(value, str) and value != "prompts" and bool(_METER.fullmatch(value))


def _meter_or_prompts(value: Any) -> bool:
    return isinstance(value, str) and bool(_METER.fullmatch(value))


def _meter_reading(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == _METER_READING_KEYS
        and _percent(value["used"])
        and _optional(_timestamp)(value["resets_at"])
        and _optional(_text)(value["limit_id"])
    )


def _meters(value: Any) -> bool:
    return isinstance(value, dict) and all(_meter_name(k) and _meter_reading(v) for k, v in value.items())


def _deltas(value: Any) -> bool:
    return isinstance(value, dict) and all(_meter_or_prompts(k) and _optional(_is_number)(v) for k, v in value.items())


# kind -> field -> (validator, what the field must be, for the error message)
SCHEMAS: dict[str, dict[str, tuple[Validator, str]]] = {
    "snapshot": {
        "provider": (_PROVIDER, "one of " + ", ".join(PROVIDERS)),
        "phase": (_one_of(*PHASES), "before, after or mid"),
        "five_hour_used": (_optional(_percent), "a percent 0-100 or null"),
        "weekly_used": (_optional(_percent), "a percent 0-100 or null"),
        "resets_at": (_optional(_timestamp), "an ISO-8601 time or null"),
        "weekly_resets_at": (_optional(_timestamp), "an ISO-8601 time or null"),
        "prompts": (_optional(_count), "a whole number >= 0 or null"),
        "tokens": (_optional(_count), "a whole number >= 0 or null"),
        "parse_errors": (_codes, "a list of strings"),
        "window_id": (_optional(_ulid), "a window id or null"),
        "meters": (_meters, "an object of meter name -> {used, resets_at, limit_id}"),
    },
    "window-open": {
        "window_id": (_ulid, "a window id"),
        "provider": (_PROVIDER, "one of " + ", ".join(PROVIDERS)),
        "commit_start": (_optional(_sha), "a 40-hex commit id or null"),
        "snapshot_id": (_ulid, "a snapshot id"),
        "feature_id": (_optional(_text), "a string or null"),
        "methodology": (_optional(_text), "a string or null"),
        "note": (_optional(_text), "a string or null"),
    },
    "window-close": {
        "window_id": (_ulid, "a window id"),
        "provider": (_PROVIDER, "one of " + ", ".join(PROVIDERS)),
        "commit_start": (_optional(_sha), "a 40-hex commit id or null"),
        "commit_end": (_optional(_sha), "a 40-hex commit id or null"),
        "snapshot_id": (_ulid, "a snapshot id"),
        "opened_ts": (_timestamp, "an ISO-8601 time"),
        "delta": (_optional(_is_number), "a number or null"),
        "unit": (_one_of("percent", "prompts"), "percent or prompts"),
        "meter": (_meter_or_prompts, "a meter name (five_hour, weekly, weekly_<model>, monthly, prompts, …)"),
        "other_deltas": (_deltas, "an object of meter name -> number or null"),
        "errors": (_codes, "a list of strings"),
        "notes": (_codes, "a list of strings"),
        "feature_id": (_optional(_text), "a string or null"),
        "methodology": (_optional(_text), "a string or null"),
        "note": (_optional(_text), "a string or null"),
    },
    "completion": {
        "window_id": (_ulid, "a window id"),
        "outcome": (_one_of(*OUTCOMES), "shipped, partial or failed"),
        "quality_score": (_unit_interval, "a number in [0, 1]"),
        "feature_id": (_optional(_text), "a string or null"),
    },
    "void": {
        "target_id": (_ulid, "a record id"),
        "reason": (_text, "a string"),
    },
    "checkpoint": {
        "window_id": (_ulid, "a window id"),
        "provider": (_PROVIDER, "one of " + ", ".join(PROVIDERS)),
        "phase": (_one_of("plan", "mid", "final"), "plan, mid or final"),
        "commit": (_optional(_sha), "a 40-hex commit id or null"),
        "tokens": (_optional(_count), "a whole number >= 0 or null"),
        "added": (_count, "a whole number >= 0"),
        "deleted": (_count, "a whole number >= 0"),
        "files": (_count, "a whole number >= 0"),
        "commits": (_count, "a whole number >= 0"),
    },
    "resume": {
        "provider": (_PROVIDER, "one of " + ", ".join(PROVIDERS)),
        "reason": (_text, "a string"),
    },
    "usage": {
        "provider": (_PROVIDER, "one of " + ", ".join(PROVIDERS)),
        "origin": (_one_of(*USAGE_ORIGINS), "one of " + ", ".join(USAGE_ORIGINS)),
        "granularity": (_one_of(*GRANULARITIES), "one of " + ", ".join(GRANULARITIES)),
        "period": (_text, "a day (YYYY-MM-DD), a block start time, a session id or a window's start"),
        "input_tokens": (_count, "a whole number >= 0"),
        "output_tokens": (_count, "a whole number >= 0"),
        "cache_creation_tokens": (_count, "a whole number >= 0"),
        "cache_read_tokens": (_count, "a whole number >= 0"),
        "total_tokens": (_count, "a whole number >= 0"),
        "cost_usd": (_optional(_cost), "a cost >= 0 or null"),
        "models": (_codes, "a list of model names"),
        "scope": (_text, "where the data was read (host and directory)"),
        "project": (_optional(_text), "a project path or null"),
        "branch": (_optional(_text), "a branch name or null"),
        "this_repo": (_optional(_flag), "true, false or null"),
        "window_id": (_optional(_ulid), "a window id or null"),
    },
    "proxy-batch": {
        "window_id": (_optional(_ulid), "a window id or null"),
        "count": (_batch_size, "a whole number of events >= 1"),
        "first_ts": (_timestamp, "an ISO-8601 time"),
        "last_ts": (_timestamp, "an ISO-8601 time"),
        "events": (_proxy_columns, "columns of equal length: " + ", ".join(_PROXY_COLUMNS) + " (docs/data-model.md)"),
    },
    "proxy-rollup": {
        "window_id": (_ulid, "a window id"),
        "total_prompts": (_count, "a whole number >= 0"),
        "total_tokens": (_count, "a whole number >= 0"),
        "glm_prompts": (_count, "a whole number >= 0"),
        "routed_to_glm": (_unit_interval, "a number in [0, 1]"),
        "errors": (_count, "a whole number >= 0"),
        "error_rate": (_unit_interval, "a number in [0, 1]"),
        "latency_mean_ms": (_optional(_milliseconds), "milliseconds >= 0 or null"),
        "latency_p50_ms": (_optional(_milliseconds), "milliseconds >= 0 or null"),
        "latency_p95_ms": (_optional(_milliseconds), "milliseconds >= 0 or null"),
    },
    "feature": {
        "feature_id": (_feature_id, "a feature id: " + FEATURE_ID_RULE),
        "title": (_title, "one line of text, not empty"),
        "size": (_positive, "a number > 0"),
        "spec": (_spec_text, f"the spec's text: UTF-8, no NUL, at most {MAX_SPEC_BYTES // 1024} KiB"),
        "spec_sha256": (_sha256, "64 lowercase hex digits"),
    },
    "feature-status": {
        "feature_id": (_feature_id, "a feature id: " + FEATURE_ID_RULE),
        "status": (_one_of(*FEATURE_STATUSES), "one of " + ", ".join(FEATURE_STATUSES)),
        "note": (_optional(_text), "a string or null"),
    },
    "assignment": {
        "seed": (_seed, f"a whole number from 0 to {MAX_SEED}"),
        "providers": (_provider_pair, "two different providers, A then B"),
        "orders": (_orders, "an object of feature id -> AB or BA"),
        "odd_one_out": (_optional(_feature_id), "a feature id or null"),
        "replaces": (_optional(_ulid), "an assignment id or null"),
        "reason": (_optional(_text), "a string or null"),
    },
    "anomaly": {
        "code": (_text, "an anomaly code"),
        "window_id": (_optional(_ulid), "a window id or null"),
        "detail": (_text, "a string"),
    },
}
KINDS = tuple(SCHEMAS)
# Kinds whose records are each megabytes of data (a batch of proxy events): the per-blob cache of parsed records
# (git.py) leaves them out, or every report would load them with it to find the small records it wants.
BULK_KINDS = frozenset({"proxy-batch"})
# Fields a schema version added: records written before it do not have them (and may not).
ADDED_IN: dict[tuple[str, str], int] = {
    ("snapshot", "meters"): 2,
    ("window-close", "meter"): 2,
    ("window-close", "other_deltas"): 2,
}


@dataclass(frozen=True)
class Record:
    """One immutable ledger record. Build with ``Record.new`` or ``Record.from_json``."""

    id: str
    kind: str
    ts: str
    schema_version: int
    tool_version: str
    source: str
    agent_id: str
    machine: str | None = None  # None only in records of schema 2 and older, written before machines were named
    body: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_stamp(self)
        _check_body(self.kind, self.body, self.schema_version)
        object.__setattr__(self, "body", MappingProxyType(dict(self.body)))

    @classmethod
    def new(cls, kind: str, *, source: str, agent_id: str, machine: str, ts: str | None = None, **body: Any) -> Record:
        moment = clock.parse_ts(ts) if ts else clock.now()
        return cls._stamped(clock.new_id(moment), kind, moment, (source, agent_id, machine), body)

    @classmethod
    def derived(
        cls,
        kind: str,
        *,
        source: str,
        agent_id: str,
        machine: str,
        ts: str,
        identity: str | dict[str, Any] | None = None,
        id_ts: str | None = None,
        **body: Any,
    ) -> Record:
        """A record whose id is derived from its time and content (``clock.derived_id``).

        Re-deriving it from the same data gives the same id and ledger path, so appending it again adds
        nothing; the stamp (agent, machine, tool version) is left out of the digest on purpose: two clones on one
        machine that ingest the same logs write one record, at one path, not two. ``identity``
        replaces the body in the digest when a record must keep its id although its text may change;
        ``id_ts`` replaces ``ts`` in the id when the time of the reading is not part of what identifies it.
        """
        moment = clock.parse_ts(ts)
        anchor = clock.parse_ts(id_ts) if id_ts is not None else moment
        what: Any = body if identity is None else identity
        key = json.dumps([kind, clock.format_ts(anchor), what], sort_keys=True, separators=(",", ":"))
        return cls._stamped(clock.derived_id(anchor, key), kind, moment, (source, agent_id, machine), body)

    @classmethod
    def _stamped(
        cls, record_id: str, kind: str, moment: datetime, who: tuple[str, str, str], body: dict[str, Any]
    ) -> Record:
        """A record stamped with this version of git-tracker and the current schema; ``who`` is (source, agent,
        machine)."""
        source, agent_id, machine = who
        return cls(
            id=record_id,
            kind=kind,
            ts=clock.format_ts(moment),
            schema_version=SCHEMA_VERSION,
            tool_version=__version__,
            source=source,
            agent_id=agent_id,
            machine=machine,
            body=body,
        )

    @classmethod
    def from_dict(cls, data: Any, where: str = "record") -> Record:
        if not isinstance(data, dict):
            raise BadInput(f"{where}: expected a JSON object with {', '.join(BASE_STAMP)}")
        missing = [name for name in stamp_fields(data.get("schema_version")) if name not in data]
        if missing:
            raise BadInput(f"{where}: expected a record with {', '.join(missing)}")
        body = {key: value for key, value in data.items() if key not in STAMP_FIELDS}
        try:
            return cls(body=body, **{name: data[name] for name in STAMP_FIELDS if name in data})
        except BadInput as error:
            raise BadInput(f"{where}: {error}") from None

    @classmethod
    def from_json(cls, text: str | bytes, where: str = "record") -> Record:
        try:
            data = json.loads(text, parse_constant=reject_constant)
        except (ValueError, UnicodeDecodeError) as error:
            raise BadInput(f"{where}: expected one JSON object ({error})") from None
        return cls.from_dict(data, where)

    @classmethod
    def trusted(cls, data: dict[str, Any]) -> Record:
        """A record from the parsed-record cache: validated when it was first read, so not again.

        Blobs are content-addressed, so a cache entry keyed by blob id can never describe other data.
        """
        for name, since in STAMP_ADDED_IN.items():
            if name not in data and data["schema_version"] >= since:
                raise KeyError(name)  # cached by a version that did not require it: read the blob again
        record = object.__new__(cls)
        for name in STAMP_FIELDS:
            object.__setattr__(record, name, data.get(name))
        body = {key: value for key, value in data.items() if key not in STAMP_FIELDS}
        object.__setattr__(record, "body", MappingProxyType(body))
        return record

    def cache_row(self) -> dict[str, Any]:
        """The record's fields as a plain dict (its body a dict too), for ``restored_all``."""
        return {**{name: getattr(self, name) for name in STAMP_FIELDS}, "body": dict(self.body)}

    @classmethod
    def restored_all(cls, rows: list[dict[str, Any]]) -> list[Record]:
        """Records from ``cache_row``, kept by this very version (``readcache``): validated when first read.

        Each row becomes the instance's fields as it is: a report over a large ledger restores tens of thousands.
        Raises ``ValueError`` when a row is not one ``cache_row`` made.
        """
        records = []
        new, assign, proxy, keys = object.__new__, object.__setattr__, MappingProxyType, _ROW_FIELDS
        for fields in rows:
            if type(fields) is not dict or fields.keys() != keys or type(fields["body"]) is not dict:
                raise ValueError("not a cached record")
            fields["body"] = proxy(fields["body"])
            record = new(cls)
            assign(record, "__dict__", fields)
            records.append(record)
        return records

    def __getitem__(self, name: str) -> Any:
        return self.body[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default)

    def to_dict(self) -> dict[str, Any]:
        """As stored: a record of an older schema keeps the shape it was written in (no ``machine``)."""
        stamp = {name: getattr(self, name) for name in STAMP_FIELDS}
        if self.machine is None:
            del stamp["machine"]
        return {**stamp, **self.body}

    def to_json(self) -> str:
        if self.kind in BULK_KINDS:
            return batch_json(self.to_dict())
        return stored_json(self.to_dict())


def stored_json(data: Mapping[str, Any]) -> str:
    """A record as the ledger stores it: one line, keys sorted, no spaces."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def batch_json(data: Mapping[str, Any]) -> str:
    """A proxy batch as the ledger stores it: as ``stored_json``, but written by msgspec, several times faster for
    a batch's columns of up to 50,000 events. The text differs from ``json.dumps``'s only in how it spells what
    any JSON reader reads as the same values (``1e16``, not ``1e+16``; other than ASCII as UTF-8, not escaped).
    Its columns were checked finite (``proxyevents.valid_columns``): msgspec would write NaN as null.
    """
    import msgspec  # only a proxy batch pays for it

    return msgspec.json.encode(data, order="sorted").decode()


# -- records as stored on the ledger: read what can be read, skip the rest and say why ---------------------

# Why a ledger file was not used, as the warning and `doctor` word it.
UNREADABLE = "unreadable"
NOT_A_RECORD = "not a record file"
MISPLACED = "not at its own path"
MISSING = "object missing"  # the tree names a file whose object this clone does not have (a damaged clone)
UNKNOWN_KIND = "unknown kind"
NEWER_UNKNOWN_KIND = "unknown kind from a newer version"
NEWER_INVALID = "from a newer version"
INVALID = "invalid"

_RECORD_FILE = re.compile(r"^([a-z][a-z0-9-]*)/\d{4}/\d{2}/\d{2}/([0-9A-HJKMNP-TV-Z]{26})\.json$")


@dataclass(frozen=True)
class Skipped:
    """A ledger file this version did not use: where it is, why, and what it held when that was a JSON object
    with a record's stamp (``log --all`` shows those as stored)."""

    path: str
    reason: str
    detail: str
    stored: Mapping[str, Any] | None = None


class SkippedWarning(UserWarning):
    """Raised through ``warnings`` by every ledger read that skipped a file; the CLI sums them into one line."""

    def __init__(self, skipped: Skipped) -> None:
        super().__init__(f"{skipped.path}: {skipped.reason} ({skipped.detail})")
        self.skipped = skipped


def read_stored(path: str, data: bytes) -> Record | Skipped:
    """A ledger file as a record, or why it cannot be one: never an exception, whatever the bytes.

    The ledger is append-only and may hold what other clones and other versions wrote, so a file this version
    cannot use is skipped, never guessed at: a newer kind, a value a newer version added, a hand-written file,
    a merge conflict's text.
    """
    shape = _RECORD_FILE.fullmatch(path)
    if shape is None:
        return Skipped(path, NOT_A_RECORD, "expected <kind>/<yyyy>/<mm>/<dd>/<id>.json")
    try:
        stored = json.loads(data, parse_constant=reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        return Skipped(path, UNREADABLE, f"expected one JSON object ({_first_line(error)})")
    if not isinstance(stored, dict) or not all(name in stored for name in BASE_STAMP):
        return Skipped(path, UNREADABLE, f"expected a JSON object with {', '.join(BASE_STAMP)}")
    try:
        record = Record.from_dict(stored, path)
    except BadInput as error:
        return Skipped(path, _why_invalid(stored), str(error), stored)
    if (record.kind, record.id) != shape.groups():
        return Skipped(path, MISPLACED, f"expected {record_path(record.id, record.kind)}", stored)
    return record


def _why_invalid(stored: Mapping[str, Any]) -> str:
    newer = finite_number(stored["schema_version"]) and stored["schema_version"] > SCHEMA_VERSION
    known_kind = isinstance(stored["kind"], str) and stored["kind"] in SCHEMAS
    if known_kind:
        return NEWER_INVALID if newer else INVALID
    return NEWER_UNKNOWN_KIND if newer else UNKNOWN_KIND


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def describe_skipped(reasons: Iterable[str]) -> str:
    """``3 ledger records skipped (2 unknown kind from a newer version, 1 unreadable)``."""
    counts: dict[str, int] = {}
    for reason in reasons:
        counts[reason] = counts.get(reason, 0) + 1
    total = sum(counts.values())
    parts = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return f"{total} ledger record{'s' if total != 1 else ''} skipped ({parts})"


def reject_constant(name: str) -> Any:
    """``json.loads(parse_constant=…)``: NaN and Infinity are not JSON numbers; refuse them."""
    raise ValueError(f"{name} is not a number JSON allows")


def _check_stamp(record: Record) -> None:
    if not _ulid(record.id):
        raise BadInput(f"id: expected a 26-character ULID, got {record.id!r}")
    # isinstance first: an unhashable value (a list from hand-edited JSON) must be bad input, not a TypeError.
    if not isinstance(record.kind, str) or record.kind not in SCHEMAS:
        raise BadInput(f"kind: expected one of {', '.join(KINDS)}, got {record.kind!r}")
    if not _timestamp(record.ts):
        raise BadInput(f"ts: expected an ISO-8601 UTC time, got {record.ts!r}")
    if not _count(record.schema_version) or record.schema_version < 1:
        raise BadInput(f"schema_version: expected a whole number >= 1, got {record.schema_version!r}")
    if not _text(record.tool_version):
        raise BadInput(f"tool_version: expected a string, got {record.tool_version!r}")
    if not isinstance(record.source, str) or record.source not in SOURCES:
        raise BadInput(f"source: expected one of {', '.join(sorted(SOURCES))}, got {record.source!r}")
    if not isinstance(record.agent_id, str) or not valid_agent_id(record.agent_id):
        raise BadInput(f"agent_id: expected letters, digits, '.', '_' or '-', got {record.agent_id!r}")
    _check_machine(record.machine, record.schema_version)


def stamp_fields(schema_version: object) -> tuple[str, ...]:
    """The stamp fields a record of this schema must have (a schema that is no number: the ones every record has)."""
    if not finite_number(schema_version):
        return BASE_STAMP
    return tuple(name for name in STAMP_FIELDS if STAMP_ADDED_IN.get(name, 1) <= schema_version)


def _check_machine(machine: object, schema_version: int) -> None:
    if STAMP_ADDED_IN["machine"] > schema_version:
        if machine is not None:
            raise BadInput(f"machine: unexpected in a schema {schema_version} record")
        return
    if not isinstance(machine, str) or not _MACHINE.fullmatch(machine):
        raise BadInput(f"machine: expected 12 characters a-z, 2-7 (a clone's id), got {machine!r}")


def _check_body(kind: str, body: Mapping[str, Any], schema_version: int) -> None:
    schema = SCHEMAS[kind]
    for name, (check, expected) in schema.items():
        if ADDED_IN.get((kind, name), 1) > schema_version:
            if name in body:
                raise BadInput(f"{kind}.{name}: unexpected in a schema {schema_version} record")
            continue
        if name not in body:
            raise BadInput(f"{kind}.{name}: expected {expected}, but it is missing")
        if not check(body[name]):
            raise BadInput(f"{kind}.{name}: expected {expected}, got {_cut(repr(body[name]))}")
    extra = set(body) - set(schema)
    # A newer schema may add fields; this version only refuses unknown fields on records it made.
    if extra and schema_version <= SCHEMA_VERSION:
        raise BadInput(f"{kind}: unexpected field(s) {', '.join(sorted(extra))}")


def _cut(text: str, limit: int = 200) -> str:
    """A value as an error message shows it: a batch's columns would be megabytes on one line."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def live_records(records: Iterable[Record]) -> list[Record]:
    """Records not voided (a void is itself never voided: undo appends, it does not delete)."""
    items = list(records)
    voided = {r["target_id"] for r in items if r.kind == "void"}
    return [r for r in items if r.id not in voided and r.kind != "void"]


def kind_at(path: str) -> str | None:
    """The kind a ledger path is shaped for (``<kind>/<yyyy>/<mm>/<dd>/<id>.json``), or None for any other file.

    The path alone, without reading the file: cheap enough for every file a sync brings in.
    """
    shape = _RECORD_FILE.fullmatch(path)
    return shape.group(1) if shape else None


def record_path(record_id: str, kind: str) -> str:
    """The sharded ledger path ``<kind>/<yyyy>/<mm>/<dd>/<id>.json``.

    Derived from the id alone, so a record can be found (and an append made idempotent) without a scan,
    and two clones that append different records merge as a plain tree union.
    """
    moment = clock.id_time(record_id)
    return f"{kind}/{moment:%Y/%m/%d}/{record_id}.json"


def replaces_line(old_commit: str, how: str, ts: str) -> str:
    """The git-note line that says "this commit replaces ``old_commit``" (an amend, rebase or cherry-pick).

    git copies a rewritten commit's note to its new commit but keeps the old commit, note and all, until
    gc: without this line a window would count both. ``ts`` is the new commit's committer time, so the
    line is the same however often it is written.
    """
    payload = {"v": 1, "id": old_commit, "ts": ts, "kind": "replaces", "how": how}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def shared_line(window_ids: Iterable[str]) -> str:
    """The git-note line that says "this commit's work is shared by these windows" (docs/hooks.md#attribution).

    The post-commit hook writes it beside the windows' own lines when a commit names no agent of its own and
    several automatic windows are open in its worktree: churn then splits the commit's lines between them instead
    of counting them once per window. The line depends on the set of windows only (sorted; ``ts`` is the time in
    the newest window id), not on the commit, so an amend, a rebase or a squash that brings it along next to a
    fresh one leaves one line, as ``note_line`` does.
    """
    ids = sorted(set(window_ids))
    if len(ids) < 2 or not all(_ulid(window_id) for window_id in ids):
        raise BadInput(f"shared: expected two or more window ids, got {', '.join(ids) or 'none'}")
    try:
        newest = max(clock.id_time(window_id) for window_id in ids)
    except (ValueError, OverflowError):  # a time past the year 9999: no id git-tracker made
        raise BadInput(f"shared: expected window ids, got {', '.join(ids)}") from None
    payload = {"v": 1, "id": "+".join(ids), "ts": clock.format_ts(newest), "kind": "shared", "windows": ids}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def shared_windows(data: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The windows a parsed note line says share its commit; None when it is not a well-formed ``shared`` line."""
    ids = data.get("windows")
    if data.get("kind") != "shared" or not isinstance(ids, list) or len(ids) < 2:
        return None
    return tuple(sorted(ids)) if all(_ulid(window_id) for window_id in ids) else None


def iter_note_lines(text: str, where: str = "note") -> Iterator[dict[str, Any]]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            raise BadInput(f"{where} line {number}: expected a JSON object with v, id, ts") from None
        if not isinstance(data, dict) or not {"v", "id", "ts"} <= set(data):
            raise BadInput(f"{where} line {number}: expected a JSON object with v, id, ts")
        yield data
