"""Read only what is new in append-only log files.

For each file we remember (size, mtime, offset, digest of the bytes just before the offset). A file whose
size and mtime are unchanged is not opened. One that grew is read from the offset, after checking that the
bytes before it are still the ones we read (the digest); a file that was replaced or rewritten is read
again from the start, which is safe because every reader deduplicates events by key. A last line
without its newline is still being written: it is left for the next run.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from gittracker.errors import BadInput

TAIL_BYTES = 4096
CHUNK_BYTES = 8 << 20
# No log line of a real client comes near this; an unfinished line past it is not kept or read again.
MAX_LINE_BYTES = 64 << 20


@dataclass(frozen=True)
class Seen:
    size: int
    mtime_ns: int
    offset: int
    tail: str
    extra: dict[str, Any]

    def to_json(self) -> list[Any]:
        return [self.size, self.mtime_ns, self.offset, self.tail, self.extra]

    @classmethod
    def from_json(cls, value: Any) -> Seen | None:
        if not (isinstance(value, list) and len(value) == 5 and isinstance(value[4], dict)):
            return None
        size, mtime, offset, tail, extra = value
        if not all(isinstance(item, int) and not isinstance(item, bool) for item in (size, mtime, offset)):
            return None
        return cls(size, mtime, offset, str(tail), extra)


@dataclass(frozen=True)
class Unreadable:
    """A line that cannot be given as text; ``expected`` completes "expected …" (the caller names file and line)."""

    expected: str


TOO_LONG = Unreadable(f"a line of at most {MAX_LINE_BYTES >> 20} MiB, got more without its newline")


def _text_or_unreadable(line: bytes) -> bytes | Unreadable:
    """A line with a NUL byte is not text (a crash can leave a run of them where a line was being written)."""
    if b"\0" not in line:
        return line
    nul = line.decode("utf-8", "replace").find("\0")  # counted in characters, as the line reads
    return Unreadable(f"a line of text, got a NUL byte at character {nul + 1}")


class Chunk:
    """Complete lines as they were read, many at once: ``data`` (the lines joined by their newlines, without the
    last one; empty for a line too long to keep), ``lines`` (split when asked for), ``first`` (the first's number).
    """

    def __init__(self, first: int, data: bytes, lines: list[bytes | Unreadable] | None = None) -> None:
        self.first = first
        self.data = data
        self._lines = lines
        self._count: int | None = None

    @property
    def lines(self) -> list[bytes | Unreadable]:
        if self._lines is None:
            if b"\0" in self.data:  # rare: only then is each line looked at
                self._lines = [_text_or_unreadable(line) for line in self.data.split(b"\n")]
            else:
                self._lines = cast("list[bytes | Unreadable]", self.data.split(b"\n"))
        return self._lines

    @property
    def plain(self) -> bool:
        """Whether every line is text (no NUL byte, no line too long to keep)."""
        return self._lines is None and b"\0" not in self.data

    def counted(self, lines: int) -> None:
        """A reader that went through the lines without splitting them says how many there were."""
        self._count = lines

    def count(self) -> int:
        """How many lines: as split or as a reader counted them; else counted here (``bytes.count`` looks at
        every byte in turn; ``find`` is memchr, and lines are long)."""
        if self._lines is not None:
            return len(self._lines)
        if self._count is not None:
            return self._count
        count, at, find = 1, 0, self.data.find
        while (at := find(b"\n", at) + 1) > 0:
            count += 1
        return count


@dataclass
class Reading:
    """New complete lines of one file: iterate ``lines()``, then take ``seen()`` for the manifest."""

    path: Path
    start: int
    stat: os.stat_result
    extra: dict[str, Any]
    end: int = 0
    line_count: int = 0

    def lines(self, chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[int, bytes | Unreadable]]:
        """(line number, bytes without the newline) for each complete line after ``start`` (``chunks``)."""
        for chunk in self.chunks(chunk_bytes):
            yield from enumerate(chunk.lines, chunk.first)

    def chunks(self, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Chunk]:
        """The complete lines after ``start`` as they were read, many at a time (``Chunk``).

        Line numbers count from the file's first line (the manifest keeps how many were read), so a
        line has the same number whether it is read in this run or again from the start. A line that is
        not text is given as ``Unreadable`` (the caller says so or skips it), and the lines around it
        as usual. One that grows past ``MAX_LINE_BYTES`` without its newline is given once as
        ``TOO_LONG`` and its bytes are passed over, in this run and the next, never kept.
        """
        self.end = self.start
        self.line_count = int(self.extra.get("lines", 0)) if self.start else 0
        skipping = bool(self.extra.pop("skipping", False)) and self.start > 0
        held: list[bytes] = []  # the unfinished line so far: joined once, when its newline comes
        held_size = 0
        with self.path.open("rb") as handle:
            handle.seek(self.start)
            while chunk := handle.read(chunk_bytes):
                if skipping:
                    newline = chunk.find(b"\n")
                    self.end += len(chunk) if newline < 0 else newline + 1
                    if newline < 0:
                        continue
                    skipping, chunk = False, chunk[newline + 1 :]
                cut = chunk.rfind(b"\n")
                if cut < 0:
                    held.append(chunk)
                    held_size += len(chunk)
                    if held_size > MAX_LINE_BYTES:
                        self.line_count += 1
                        yield Chunk(self.line_count, b"", [TOO_LONG])
                        self.end += held_size
                        skipping, held, held_size = True, [], 0
                    continue
                data = b"".join([*held, chunk[:cut]]) if held else chunk[:cut]
                held, held_size = [chunk[cut + 1 :]], len(chunk) - cut - 1
                lines = Chunk(self.line_count + 1, data)
                yield lines
                self.line_count += lines.count()
                self.end += len(data) + 1
        if skipping:
            self.extra["skipping"] = True
        self.extra["lines"] = self.line_count

    @property
    def unread(self) -> int:
        """Bytes after ``start`` when the file was looked at: what reading it will cost."""
        return self.stat.st_size - self.start

    def seen(self) -> Seen:
        return Seen(self.stat.st_size, self.stat.st_mtime_ns, self.end, _tail_digest(self.path, self.end), self.extra)


def open_new(path: Path, seen: Seen | None) -> Reading | None:
    """What to read of ``path`` given what was seen last time; None when nothing changed."""
    try:
        stat = path.stat()
    except OSError as error:
        raise BadInput(f"{path}: cannot read ({error.strerror or error})") from None
    if seen is not None and stat.st_size == seen.size and stat.st_mtime_ns == seen.mtime_ns:
        return None
    if seen is not None and seen.offset <= stat.st_size and _tail_digest(path, seen.offset) == seen.tail:
        return Reading(path, seen.offset, stat, dict(seen.extra), seen.offset)
    return Reading(path, 0, stat, {})


def _tail_digest(path: Path, offset: int) -> str:
    start = max(0, offset - TAIL_BYTES)
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            data = handle.read(offset - start)
    except OSError:
        return ""
    return hashlib.blake2b(data, digest_size=12).hexdigest()
