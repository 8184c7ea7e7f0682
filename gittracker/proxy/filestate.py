"""What ``ingest proxy-telemetry`` remembers of each telemetry file it read, so that it reads only what was appended.

Per file (by its real path): its device and inode, the offset read up to (the end of the last whole line), how
many lines that was, and digests of the file's head and of the bytes just before the offset. A file whose identity,
head and those bytes are unchanged and which is no shorter is read from the offset on; any other (replaced,
rewritten, truncated) is read again from the start, which is safe because events are deduplicated by trace id
against the ledger. The state also keeps the capacity readings of the last day (``midsnapshots.changed_readings``).

This is a cache of this machine (``<tracker>/ingest/proxy-telemetry.state``, marshal): lost or damaged, it costs
one full read, never a wrong count.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gittracker.files import write_cache

MAGIC = b"git-tracker proxy telemetry state 1\n"
DIGEST_BYTES = 4096


@dataclass(frozen=True)
class Seen:
    """How far a file was read, and what identifies the bytes read."""

    device: int
    inode: int
    offset: int
    lines: int
    head: str
    tail: str

    def to_plain(self) -> list[Any]:
        return [self.device, self.inode, self.offset, self.lines, self.head, self.tail]

    @classmethod
    def from_plain(cls, value: Any) -> Seen | None:
        if not (isinstance(value, list) and len(value) == 6):
            return None
        device, inode, offset, lines, head, tail = value
        if not all(type(item) is int and item >= 0 for item in (device, inode, offset, lines)):
            return None
        if not (isinstance(head, str) and isinstance(tail, str)):
            return None
        return cls(device, inode, offset, lines, head, tail)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def digests(handle: IO[bytes], offset: int) -> tuple[str, str]:
    """Digests of the first bytes of the file (up to ``offset``) and of the bytes just before ``offset``."""
    handle.seek(0)
    head = handle.read(min(offset, DIGEST_BYTES))
    start = max(0, offset - DIGEST_BYTES)
    handle.seek(start)
    tail = handle.read(offset - start)
    return _digest(head), _digest(tail)


def resume_at(handle: IO[bytes], seen: Seen | None) -> tuple[int, int]:
    """(offset, lines before it) to read the open file from: where the last read ended when the file is the one
    read then, grown or not; else (0, 0)."""
    if seen is None:
        return 0, 0
    info = os.fstat(handle.fileno())
    if (info.st_dev, info.st_ino) != (seen.device, seen.inode) or info.st_size < seen.offset:
        return 0, 0
    if digests(handle, seen.offset) != (seen.head, seen.tail):
        return 0, 0
    return seen.offset, seen.lines


def seen_now(handle: IO[bytes], offset: int, lines: int) -> Seen:
    info = os.fstat(handle.fileno())
    head, tail = digests(handle, offset)
    return Seen(info.st_dev, info.st_ino, offset, lines, head, tail)


class State:
    """The state file: every file's ``Seen`` by real path, and the remembered capacity readings."""

    def __init__(self, tracker_dir: Path) -> None:
        self.path = tracker_dir / "ingest" / "proxy-telemetry.state"
        self.lock = tracker_dir / "ingest" / "proxy-telemetry.lock"
        self.files: dict[str, Any] = {}
        self.readings: Any = None

    def load(self) -> State:
        try:
            data = self.path.read_bytes()
            loaded = marshal.loads(data[len(MAGIC) :]) if data.startswith(MAGIC) else None
        except (OSError, ValueError, TypeError, EOFError):
            loaded = None
        if isinstance(loaded, dict) and isinstance(loaded.get("files"), dict):
            self.files = loaded["files"]
            self.readings = loaded.get("readings")
        return self

    def seen(self, key: str) -> Seen | None:
        return Seen.from_plain(self.files.get(key))

    def save(self) -> None:
        write_cache(self.path, MAGIC + marshal.dumps({"files": self.files, "readings": self.readings}))
