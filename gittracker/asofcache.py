"""G1's as-of evaluations, kept between runs by what each one read.

``decide`` (and ``report``, which shows its gates) evaluates the ledger as known at each provider's last two
closes. Such an evaluation is a function of the records known by its cutoff (ids name records, which never change),
the settings, and the churn lines of the windows closed by then; a new window adds records after every earlier
cutoff, so the earlier cutoffs' evaluations still hold, and the next run evaluates only the newest close.

Kept in ``<tracker>/cache/g1-as-of.bin`` as ``marshal`` of plain values, keyed by a digest of all of that; the
file also names its format, git-tracker's version and the Python that wrote it, and any difference means
evaluating again. It is a cache, trusted for nothing else: deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gittracker import __version__

FORMAT = 1
STAMP = ("git-tracker G1 as-of", FORMAT, __version__, sys.implementation.cache_tag)
KEEP = 24  # evaluations kept: this run's, then the most recent earlier ones (a few runs' worth)
FILE_NAME = "g1-as-of.bin"


class KeptEvaluations:
    """The evaluations kept by earlier runs, and this run's, to be saved together (``save``)."""

    def __init__(self, cache_dir: Path | None) -> None:
        self._path = cache_dir / FILE_NAME if cache_dir is not None else None
        self._earlier = _load(self._path) if self._path is not None else {}
        self._used: dict[bytes, Any] = {}
        self._changed = False

    @staticmethod
    def key(settings: str, cutoff: str, known: Iterable[str]) -> bytes:
        """The key of an evaluation at ``cutoff`` with ``settings`` over the records ``known`` names."""
        digest = hashlib.blake2b(digest_size=20)
        for part in (repr(STAMP), settings, cutoff):
            digest.update(part.encode())
            digest.update(b"\0")
        digest.update("\n".join(known).encode())
        return digest.digest()

    def get(self, key: bytes) -> Any | None:
        """The evaluation kept under ``key``, or None."""
        found = self._used.get(key, self._earlier.get(key))
        if found is not None:
            self._used[key] = found
        return found

    def put(self, key: bytes, evaluation: Any) -> Any:
        """Keep ``evaluation`` (plain values only: what ``marshal`` writes); returns it."""
        self._used[key] = evaluation
        self._changed = True
        return evaluation

    def save(self) -> None:
        """Write this run's evaluations and the most recent earlier ones, when this run made any (a cache that
        cannot be written costs a recomputation next time, never the command)."""
        from gittracker.files import write_cache

        if self._path is None or not self._changed or not self._path.parent.parent.is_dir():
            return
        entries = dict(self._used)
        for key, evaluation in reversed(self._earlier.items()):  # the most recently kept first
            if len(entries) >= KEEP:
                break
            entries.setdefault(key, evaluation)
        try:
            data = marshal.dumps((STAMP, list(reversed(list(entries.items())))))
        except ValueError:  # a value marshal cannot write: not worth keeping
            return
        write_cache(self._path, data)
        self._changed = False


def _load(path: Path) -> dict[bytes, Any]:
    """The kept evaluations in the order they were kept (oldest first), or none at any doubt."""
    try:
        stamp, entries = marshal.loads(path.read_bytes())
        if stamp != STAMP:
            return {}
        return {bytes(key): evaluation for key, evaluation in entries}
    except (OSError, ValueError, TypeError, EOFError):
        return {}
