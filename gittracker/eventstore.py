"""The deduplicated token events of one log place, on disk in buckets by key: ``ingest``'s event table.

Every event of a key goes to the same bucket (``bucket_of``: a CRC of the key), so merging a bucket's new
events into its old ones deduplicates exactly as merging everything at once would. A run therefore holds
one bucket at a time, plus what it is reading (``Batches``: new events by bucket, spilled to disk between
rounds of reading), however much was read before. A bucket is a ``usage.EventTable`` file.

The buckets double as the events grow, so that each holds at most about ``BUCKET_EVENTS``: the store's
memory is bounded by that, not by the size of the logs. Splitting writes a new generation of bucket files
and then the index that names it, so a run killed halfway leaves the old generation whole.
"""

from __future__ import annotations

import marshal
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gittracker.config import env_count
from gittracker.errors import BadInput
from gittracker.files import write_cache
from gittracker.usage import EventTable, GroupKey, Row, Totals, add_totals, quarter_of, total

BUCKET_EVENTS = 200_000  # GIT_TRACKER_BUCKET_EVENTS sets it (the tests set it small)
# New bytes per event, at the least, to plan the buckets before reading: in real transcripts there are 2 to 6 KB
# of log per line that records usage (the rest is prompts and tool output). Too few buckets planned (logs of
# nothing but usage) makes them larger this once: the next run with new data splits them.
BYTES_PER_EVENT = 1000
INDEX_MAGIC = b"git-tracker event buckets 1\n"
_EXPECTED = "{where}: expected git-tracker's ingest event index; delete the folder to read the logs again"


def bucket_of(key: str, buckets: int) -> int:
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % buckets


def buckets_for(events: int) -> int:
    """How many buckets hold this many events at most ``BUCKET_EVENTS`` each (a power of two)."""
    most = env_count("GIT_TRACKER_BUCKET_EVENTS", BUCKET_EVENTS)
    count = 1
    while count * most < events:
        count *= 2
    return count


def partition(rows: dict[str, Row], buckets: int) -> list[dict[str, Row]]:
    """The rows by bucket, each in the order given."""
    if buckets == 1:
        return [rows]
    out: list[dict[str, Row]] = [{} for _ in range(buckets)]
    for key, row in rows.items():
        out[zlib.crc32(key.encode("utf-8", "surrogatepass")) % buckets][key] = row
    return out


class Batches:
    """New events by bucket, in the order read: each batch a frame (``usage.frame_of``) with, when this process
    read it, its rows and totals. ``spill`` moves the frames held to one file per bucket, to free memory
    between rounds of reading."""

    def __init__(self, folder: Path, buckets: int) -> None:
        self.folder = folder
        self.held: list[list[tuple[bytes, Any]]] = [[] for _ in range(buckets)]
        self.spilled: set[int] = set()
        for left in folder.glob("spill.*"):  # a run that failed or was killed left them (the store is locked)
            left.unlink(missing_ok=True)

    def add(self, bucket: int, frame: bytes, decoded: Any = None) -> None:
        self.held[bucket].append((frame, decoded))

    def spill(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for bucket, frames in enumerate(self.held):
            if not frames:
                continue
            with open(self._spill_path(bucket), "ab") as handle:
                for frame, _ in frames:
                    handle.write(len(frame).to_bytes(8, "little") + frame)
            self.spilled.add(bucket)
            frames.clear()

    def of(self, bucket: int) -> Iterator[tuple[bytes, Any]]:
        """The bucket's batches in the order they were added."""
        if bucket in self.spilled:
            data = self._spill_path(bucket).read_bytes()
            at = 0
            while at < len(data):
                size = int.from_bytes(data[at : at + 8], "little")
                yield data[at + 8 : at + 8 + size], None
                at += 8 + size
        yield from self.held[bucket]

    def discard(self) -> None:
        for bucket in self.spilled:
            self._spill_path(bucket).unlink(missing_ok=True)
        self.spilled.clear()

    def _spill_path(self, bucket: int) -> Path:
        return self.folder / f"spill.{bucket}"


def _combined(batches: Iterator[tuple[bytes, Any]], where: str) -> dict[str, Row]:
    """The events of a bucket's batches as one batch: of a key's, the largest, the earliest on a tie (as merging
    them one after another into a table keeps)."""
    into: dict[str, Row] = {}
    for frame, decoded in batches:
        rows = decoded[0] if decoded is not None else _rows_of(frame, where)
        for key in into.keys() & rows.keys():
            if total(rows[key]) <= total(into[key]):
                del rows[key]
        into.update(rows)
    return into


def _rows_of(frame: bytes, where: str) -> dict[str, Row]:
    try:
        rows, _ = marshal.loads(frame)
    except (ValueError, TypeError, EOFError):
        rows = None
    if type(rows) is not dict:
        raise BadInput(f"{where}: expected git-tracker's ingest batches; delete the folder to read the logs again")
    return rows


class EventStore:
    """The bucket files of one place (``<folder>/<generation>.<bucket>``) and their index."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.index_path = self.folder / "index"
        self.generation, self.buckets, self.events = self._index()

    def exists(self) -> bool:
        return self.index_path.exists()

    def plan(self, new_bytes: int) -> int:
        """The buckets for this run: enough for what there is and what the new bytes may hold."""
        return max(self.buckets, buckets_for(self.events + new_bytes // BYTES_PER_EVENT))

    def merge(
        self, batches: Batches, buckets: int, edges: set[int]
    ) -> tuple[dict[GroupKey, Totals], dict[str, Row], bool]:
        """Merge the new batches into the buckets, one bucket at a time; gives every slot total, the events in
        the quarters ``edges`` (where windows begin and end), and whether everything was saved."""
        groups: dict[GroupKey, Totals] = {}
        edge_rows: dict[str, Row] = {}
        before = self.generation, self.buckets
        split = buckets != self.buckets
        fresh = split or not self.exists()
        generation = self.generation + 1 if fresh else self.generation
        saved = True
        events = 0
        self.folder.mkdir(parents=True, exist_ok=True)
        for bucket in range(buckets):
            table = self._load(bucket, buckets) if self.exists() else EventTable()
            if buckets == 1:  # the batches come with their slot totals: merged as they are
                for frame, decoded in batches.of(bucket):
                    table.merge_frame(frame, str(self.folder), decoded)
            else:
                table.merge(_combined(batches.of(bucket), str(self.folder)))
            if buckets == 1:
                groups = table.groups
            else:
                for key, totals in table.groups.items():
                    add_totals(groups, key, totals)
            if edges:
                edge_rows.update((key, row) for key, row in table.rows.items() if quarter_of(row[0]) in edges)
            events += len(table.rows)
            # Every bucket of a new generation is written, empty ones too: a bucket file missing later means
            # events lost, and the logs are read again (``logstate.Store.events_intact``).
            if table.changed or fresh:
                saved &= write_cache(self._bucket_path(generation, bucket), table.dumps())
        if saved:
            saved = self._write_index(generation, buckets, events)
        if saved and fresh:
            self._remove_generation(*before)
        batches.discard()
        return groups, edge_rows, saved

    def _load(self, bucket: int, buckets: int) -> EventTable:
        """The bucket's table; when the buckets are being split, its share of the old bucket it came from."""
        if buckets == self.buckets:
            return self._read(self._bucket_path(self.generation, bucket))
        whole = self._read(self._bucket_path(self.generation, bucket % self.buckets))
        mine = {key: row for key, row in whole.rows.items() if bucket_of(key, buckets) == bucket}
        return EventTable(mine)

    def _read(self, path: Path) -> EventTable:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return EventTable()
        return EventTable.loads(data, str(path))

    def _bucket_path(self, generation: int, bucket: int) -> Path:
        return self.folder / f"{generation}.{bucket}"

    def _index(self) -> tuple[int, int, int]:
        try:
            data = self.index_path.read_bytes()
        except FileNotFoundError:
            return 0, 1, 0
        try:
            index = marshal.loads(data[len(INDEX_MAGIC) :]) if data.startswith(INDEX_MAGIC) else None
        except (ValueError, TypeError, EOFError):
            index = None
        if not (isinstance(index, list) and len(index) == 3 and all(type(item) is int for item in index)):
            raise BadInput(_EXPECTED.format(where=self.index_path))
        generation, buckets, events = index
        if buckets < 1 or buckets & (buckets - 1):
            raise BadInput(_EXPECTED.format(where=self.index_path))
        return generation, buckets, events

    def _write_index(self, generation: int, buckets: int, events: int) -> bool:
        self.folder.mkdir(parents=True, exist_ok=True)
        if not write_cache(self.index_path, INDEX_MAGIC + marshal.dumps([generation, buckets, events])):
            return False
        self.generation, self.buckets, self.events = generation, buckets, events
        return True

    def _remove_generation(self, generation: int, buckets: int) -> None:
        for bucket in range(buckets):
            self._bucket_path(generation, bucket).unlink(missing_ok=True)
