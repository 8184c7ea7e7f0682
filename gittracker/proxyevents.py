"""Proxy events as the ledger keeps them: columns in a ``proxy-batch`` record, rows for the reports.

A busy day is tens of thousands of proxied requests, so events are stored by the batch, one record (one blob)
per batch, as columns: a column of numbers or of a few repeated names packs and decodes far faster than as
many small objects. ``Columns`` is the stored shape, checked in C by msgspec when a record is built or read;
``Event`` is one row. Reading deduplicates by trace id across batches (the same request ingested twice, from
two files or two clones, counts once: proxy/store.py), and ``Figures`` keeps what the reports need of them.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Annotated, Any

import msgspec

# How many events one batch record holds at most: a batch is one blob, and a blob much larger than a few
# megabytes makes every clone's fetch and every read of the ledger slower than the figures it serves are worth.
BATCH_EVENTS = 50_000
GLM = "glm"

_Count = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
_Latency = Annotated[float, msgspec.Meta(ge=0, le=sys.float_info.max)]  # NaN and infinity fail both bounds
_Status = Annotated[int, msgspec.Meta(ge=0, le=999)]
_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})"
# A column of times is checked as one text, times joined by line ends: one pass of the regex engine in C instead of
# a call per time (a batch holds 50,000).
_TIMES = re.compile(f"(?:{_TIME}\n)*{_TIME}")
_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
_OptionalName = Annotated[str, msgspec.Meta(max_length=200)] | None

# The stored columns, in the order they are written (docs/proxy.md, docs/data-model.md).
COLUMNS = (
    "trace_id",
    "timestamp",
    "session_id",
    "subagent_id",
    "backend_provider",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "cache_creation_tokens",
    "cache_read_tokens",
    "latency_ms",
    "status",
    "cut_off",
)


class Event(msgspec.Struct, frozen=True, gc=False):
    """One proxied request, as the addon wrote it (less its capacity headers, which become snapshots)."""

    trace_id: str
    timestamp: str
    session_id: str | None
    subagent_id: str | None
    backend_provider: str
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    cache_creation_tokens: int
    cache_read_tokens: int
    latency_ms: float
    status: int
    cut_off: bool

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens + self.cache_creation_tokens + self.cache_read_tokens

    @property
    def failed(self) -> bool:
        """An error status, no response at all (status 0), or a response cut off before its end."""
        return self.status == 0 or self.status >= 400 or self.cut_off


class Columns(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A batch's events as columns of equal length (the ``events`` field of a ``proxy-batch`` record)."""

    trace_id: list[_Name]
    timestamp: list[str]  # checked by valid_columns (_TIMES)
    session_id: list[_OptionalName]
    subagent_id: list[_OptionalName]
    backend_provider: list[_Name]
    model: list[_OptionalName]
    prompt_tokens: list[_Count]
    completion_tokens: list[_Count]
    cache_creation_tokens: list[_Count]
    cache_read_tokens: list[_Count]
    latency_ms: list[_Latency]
    status: list[_Status]
    cut_off: list[bool]

    def __len__(self) -> int:
        return len(self.trace_id)

    def equal_lengths(self) -> bool:
        """Every column as long as the others, and at least one event."""
        return _one_length([getattr(self, name) for name in COLUMNS])

    def rows(self) -> list[Event]:
        return [Event(*values) for values in zip(*(getattr(self, name) for name in COLUMNS), strict=True)]


class CheckedColumns(dict[str, list[Any]]):
    """Columns made here from events that were checked already (telemetry lines, or a batch read and decoded):
    ``valid_columns`` takes them as they are. Checking a million events a second time cost a seventh of an ingest.
    Stored and read back, they are a plain JSON object again, checked in full like any record read."""


def columns_of(events: Sequence[Event]) -> CheckedColumns:
    """Events as the ``events`` field of a batch record stores them.

    Each event's fields as a tuple (in C), turned into columns by ``zip``: a tenth of the time of reading each
    field of each event by name. An event of a subclass (a telemetry line) has its own fields after these.
    """
    if not events:
        return CheckedColumns({name: [] for name in COLUMNS})
    columns = zip(*map(msgspec.structs.astuple, events), strict=True)
    return CheckedColumns({name: list(column) for name, column in zip(COLUMNS, columns, strict=False)})


def valid_columns(value: Any) -> bool:
    """The ``events`` field of a batch: every column present, of its type, all of one length (at least one)."""
    if type(value) is CheckedColumns:
        return value.keys() == set(COLUMNS) and _one_length(list(value.values()))
    try:
        columns = msgspec.convert(value, Columns)
    except msgspec.ValidationError:
        return False
    return columns.equal_lengths() and _valid_times(columns.timestamp)


def _one_length(columns: list[list[Any]]) -> bool:
    lengths = {len(column) for column in columns}
    return len(lengths) == 1 and lengths != {0}


def _valid_times(times: list[str]) -> bool:
    joined = "\n".join(times)
    # As many line ends as joins: no time holds one of its own (two times in one would pass the pattern).
    return joined.count("\n") == len(times) - 1 and _TIMES.fullmatch(joined) is not None


def decoded_columns(value: Any) -> Columns:
    return msgspec.convert(value, Columns)


def percentile(values: Sequence[float], share: float, *, ordered: bool = False) -> float | None:
    """The nearest-rank percentile: the smallest value with at least ``share`` of the values at or below it
    (``ordered``: the values are sorted already)."""
    if not values:
        return None
    rank = max(1, math.ceil(share * len(values)))
    return (values if ordered else sorted(values))[rank - 1]


def rollup(events: Sequence[Event]) -> dict[str, Any]:
    """A window's proxy figures (the body of a ``proxy-rollup`` record, less its window id)."""
    return Figures.of(events).rollup()


# The token counts Figures keeps per model, in this order.
TOKEN_COUNTS = ("prompt_tokens", "completion_tokens", "cache_creation_tokens", "cache_read_tokens")


@dataclass
class Figures:
    """What the reports need of a set of events, without the events: the counts, the tokens of each model (for the
    cost), and the latencies (for the percentiles). A window's figures are kept between reports (proxy/store.py):
    a million events are 8 MB of latencies here, against a gigabyte as event objects."""

    prompts: int = 0
    glm_prompts: int = 0
    errors: int = 0
    tokens: dict[str | None, list[int]] = field(default_factory=dict)  # model -> the TOKEN_COUNTS, summed
    latencies: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, events: Iterable[Event]) -> Figures:
        figures = cls()
        for event in events:
            figures.add(event)
        return figures

    @classmethod
    def merged(cls, parts: Iterable[Figures]) -> Figures:
        out = cls()
        for part in parts:
            out.prompts += part.prompts
            out.glm_prompts += part.glm_prompts
            out.errors += part.errors
            for model, counts in part.tokens.items():
                _add_counts(out.tokens, model, counts)
            out.latencies += part.latencies
        return out

    def add(self, event: Event) -> None:
        self.prompts += 1
        self.glm_prompts += event.backend_provider == GLM
        self.errors += event.failed
        counts = [event.prompt_tokens, event.completion_tokens, event.cache_creation_tokens, event.cache_read_tokens]
        _add_counts(self.tokens, event.model, counts)
        self.latencies.append(event.latency_ms)

    def add_columns(self, columns: Columns) -> None:
        """A whole batch's events at once, column by column (a batch is mostly one or two models)."""
        self.prompts += len(columns)
        self.glm_prompts += columns.backend_provider.count(GLM)
        self.errors += sum(
            1
            for status, cut in zip(columns.status, columns.cut_off, strict=True)
            if cut or status == 0 or status >= 400
        )
        counted = [columns.prompt_tokens, columns.completion_tokens, columns.cache_creation_tokens]
        counted.append(columns.cache_read_tokens)
        models = columns.model
        for model in set(models):
            chosen = [found == model for found in models]
            _add_counts(self.tokens, model, [sum(compress(column, chosen)) for column in counted])
        self.latencies += columns.latency_ms

    @property
    def total_tokens(self) -> int:
        return sum(sum(counts) for counts in self.tokens.values())

    def token_totals(self) -> list[int]:
        """The four counts (TOKEN_COUNTS) over every model."""
        return [sum(counts[index] for counts in self.tokens.values()) for index in range(len(TOKEN_COUNTS))]

    def rollup(self) -> dict[str, Any]:
        total = self.prompts
        ordered = sorted(self.latencies)  # once for both percentiles: a million latencies take a tenth of a second
        return {
            "total_prompts": total,
            "total_tokens": self.total_tokens,
            "glm_prompts": self.glm_prompts,
            "routed_to_glm": self.glm_prompts / total if total else 0.0,
            "errors": self.errors,
            "error_rate": self.errors / total if total else 0.0,
            "latency_mean_ms": round(math.fsum(self.latencies) / total, 1) if total else None,
            "latency_p50_ms": percentile(ordered, 0.50, ordered=True),
            "latency_p95_ms": percentile(ordered, 0.95, ordered=True),
        }

    def to_plain(self) -> list[Any]:
        return [self.prompts, self.glm_prompts, self.errors, self.tokens, self.latencies]

    @classmethod
    def from_plain(cls, value: Any) -> Figures:
        """What ``to_plain`` made; ValueError for anything else (a damaged cache is read again from the ledger)."""
        try:
            prompts, glm, errors, tokens, latencies = value
        except (TypeError, ValueError):
            raise ValueError("not figures") from None
        counts_ok = all(isinstance(n, int) for n in (prompts, glm, errors))
        tokens_ok = isinstance(tokens, dict) and all(
            isinstance(counts, list) and len(counts) == len(TOKEN_COUNTS) for counts in tokens.values()
        )
        if not (counts_ok and tokens_ok and isinstance(latencies, list) and len(latencies) == prompts):
            raise ValueError("not figures")
        return cls(prompts, glm, errors, tokens, latencies)


def _add_counts(tokens: dict[str | None, list[int]], model: str | None, counts: Sequence[int]) -> None:
    known = tokens.get(model)
    if known is None:
        tokens[model] = list(counts)
    else:
        for index, count in enumerate(counts):
            known[index] += count
