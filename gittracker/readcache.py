"""What a read of the ledger returned, kept for the next read of the same ledger tip.

Reports read every record of a few kinds on each run. The parsed-record cache (by blob id) spares parsing and
validating each file again, but a 200,000-record ledger still costs walking its tree, decoding that cache and
rebuilding every record (about 2 s). Records are immutable and the ledger is append-only, so a read's answer is
a function of the ledger tip and the kinds asked for: this keeps that answer, as ``marshal`` of plain tuples, in
``<tracker>/cache/ledger-read-<kinds>.bin``, and the next read of the same tip takes it back as it was.

It is a cache, trusted for nothing else: the file names the tip, the kinds, the format, git-tracker's version and
the Python it was written by, and any difference (a record appended, a sync merged in, a rewritten ledger, another
version) means reading the ledger again. Deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gittracker import __version__
from gittracker.records import SCHEMA_VERSION, Record, Skipped

FORMAT = 2  # 2: records as dicts of their fields
# A Python's marshal format and git-tracker's validation both vary by version: a file written by another is
# never read.
STAMP = ("git-tracker ledger read", FORMAT, __version__, SCHEMA_VERSION, sys.implementation.cache_tag)

Read = tuple[list[Record], list[Skipped]]


def cache_path(cache_dir: Path, kinds: Iterable[str] | None) -> Path:
    """One file per set of kinds asked for (``preview`` and ``status`` ask for different ones)."""
    if kinds is None:
        return cache_dir / "ledger-read-all.bin"
    digest = hashlib.sha1(",".join(sorted(kinds)).encode(), usedforsecurity=False).hexdigest()[:12]
    return cache_dir / f"ledger-read-{digest}.bin"


def load(path: Path, tip: str, kinds: Iterable[str] | None) -> Read | None:
    """The records and skipped files a read of ``tip`` for ``kinds`` returned, or None (not kept, another tip,
    another version, a damaged file: any doubt means reading the ledger)."""
    try:
        stamp, kept_tip, kept_kinds, rows, skipped = marshal.loads(path.read_bytes())
        if stamp != STAMP or kept_tip != tip or kept_kinds != _kinds_key(kinds):
            return None
        return Record.restored_all(rows), [Skipped(*item) for item in skipped]
    except (OSError, ValueError, TypeError, EOFError, IndexError, KeyError):
        return None


def save(path: Path, tip: str, kinds: Iterable[str] | None, records: list[Record], skipped: list[Skipped]) -> None:
    """Keep a read's answer for ``tip`` (only inside an initialised tracker dir; never fails the read)."""
    from gittracker.files import write_cache

    if not path.parent.parent.is_dir():
        return
    rows = _shared_strings([record.cache_row() for record in records])
    items = [(item.path, item.reason, item.detail, _plain(item.stored)) for item in skipped]
    try:
        data = marshal.dumps((STAMP, tip, _kinds_key(kinds), rows, items))
    except ValueError:  # a value marshal cannot write: not worth keeping
        return
    write_cache(path, data)


def _shared_strings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with each repeated string (field names, kinds, agents, machines, providers) one object: ``marshal``
    writes an object it has seen as a reference, so the file is smaller and loading it makes fewer strings."""
    seen: dict[str, str] = {}
    one = seen.setdefault

    def shared(value: Any) -> Any:
        return one(value, value) if type(value) is str else value

    return [
        {
            **{one(name, name): shared(value) for name, value in row.items() if name != "body"},
            "body": {one(name, name): shared(value) for name, value in row["body"].items()},
        }
        for row in rows
    ]


def _kinds_key(kinds: Iterable[str] | None) -> tuple[str, ...] | None:
    return tuple(sorted(kinds)) if kinds is not None else None


def _plain(stored: Any) -> dict[str, Any] | None:
    return dict(stored) if stored is not None else None
