"""A local, incremental index of the window records that guards consult on every ``start``/``complete``.

``start`` must check the stop rule and ``complete`` must find a window, in well under 250 ms however
large the ledger grows. Reading every window record each time does not scale (0.8 s at 100,000
records), so this keeps the few fields those checks need in ``<tracker>/cache/window-index.json``,
brought up to date from the ledger's tree diff since the tip it last saw. It is a cache: deleting it
is always safe, and it is rebuilt from the ledger when the ledger is not a pure extension of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gittracker.files import write_cache
from gittracker.git import Repo, report_skipped
from gittracker.records import Record, Skipped

INDEX_VERSION = 2  # 2: the files skipped, so every command reports them
RESAVE_AFTER = 64
# Windows (opens and closes) up to which the index file is rewritten whenever the ledger moved (a few ms).
SMALL_INDEX = 4000
SKIPPED_NAME = "ledger-skipped.json"  # the index's ``skipped`` alone, small, for ``report_known_skipped``
KINDS = ("window-open", "window-close", "completion", "void", "anomaly", "resume")


@dataclass
class WindowIndex:
    tip: str | None = None
    opens: dict[str, list[Any]] = field(default_factory=dict)  # window_id -> [open_id, provider, commit_start]
    closes: dict[str, list[list[Any]]] = field(default_factory=dict)  # window_id -> [[close_id, ts, feature_id]]
    completions: dict[str, list[list[Any]]] = field(default_factory=dict)  # window_id -> [[id, outcome]]
    negative: dict[str, list[Any]] = field(default_factory=dict)  # anomaly id -> [window_id, ts]
    resumes: dict[str, str] = field(default_factory=dict)  # provider -> latest resume ts
    voided: set[str] = field(default_factory=set)
    skipped: dict[str, str] = field(default_factory=dict)  # ledger path -> why it was not used

    def add(self, record: Record) -> None:
        kind = record.kind
        if kind == "window-open":
            self.opens[record["window_id"]] = [record.id, record["provider"], record["commit_start"]]
        elif kind == "window-close":
            self.closes.setdefault(record["window_id"], []).append([record.id, record.ts, record["feature_id"]])
        elif kind == "completion":
            self.completions.setdefault(record["window_id"], []).append([record.id, record["outcome"]])
        elif kind == "void":
            self.voided.add(record["target_id"])
        elif kind == "anomaly" and record["code"] == "negative-delta" and record["window_id"]:
            self.negative[record.id] = [record["window_id"], record.ts]
        elif kind == "resume":
            self.resumes[record["provider"]] = max(record.ts, self.resumes.get(record["provider"], ""))

    # -- questions the guards ask -------------------------------------------------------------------

    def provider_of(self, window_id: str) -> str | None:
        opened = self.opens.get(window_id)
        return str(opened[1]) if opened else None

    def live_close(self, window_id: str) -> list[Any] | None:
        live = [c for c in self.closes.get(window_id, []) if c[0] not in self.voided]
        return live[-1] if live else None

    def live_completions(self, window_id: str) -> list[list[Any]]:
        return [c for c in self.completions.get(window_id, []) if c[0] not in self.voided]

    def halt_reason(self, provider: str) -> str | None:
        """STATS.md stop rule (see ``preview.halt_reason``, which the tests hold this to)."""
        since = self.resumes.get(provider, "")
        windows = set()
        for window_id in self.closes:
            close = self.live_close(window_id)
            if close is not None and close[1] >= since and self.provider_of(window_id) == provider:
                windows.add(window_id)
        negative = sum(
            1
            for anomaly_id, (window_id, ts) in self.negative.items()
            if anomaly_id not in self.voided and window_id in windows and ts >= since
        )
        if negative > 1 and negative * 3 > len(windows):
            return f"{negative} negative-delta anomalies in {len(windows)} windows (more than 1 per 3)"
        return None

    # -- persistence ----------------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": INDEX_VERSION,
                "tip": self.tip,
                "opens": self.opens,
                "closes": self.closes,
                "completions": self.completions,
                "negative": self.negative,
                "resumes": self.resumes,
                "voided": sorted(self.voided),
                "skipped": self.skipped,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> WindowIndex:
        data = json.loads(text)
        if data.get("version") != INDEX_VERSION:
            raise ValueError("index version")
        return cls(
            tip=data["tip"],
            opens=data["opens"],
            closes=data["closes"],
            completions=data["completions"],
            negative=data["negative"],
            resumes=data["resumes"],
            voided=set(data["voided"]),
            skipped=data["skipped"],
        )


def load_index(repo: Repo, cache_dir: Path | None) -> WindowIndex:
    """The index, brought up to date with the ledger (and saved when it moved; with ``cache_dir`` None, built
    from the ledger and kept nowhere).

    The ledger files it could not use are reported (``SkippedWarning``) every time, not only when first seen.
    """
    path = cache_dir / "window-index.json" if cache_dir is not None else None
    try:
        index = WindowIndex.from_json(path.read_text()) if path is not None else WindowIndex()
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # a cache: any damage means rebuild
        index = WindowIndex()
    update = repo.ledger_records_since(index.tip, KINDS)
    if update is None:  # not a pure extension of what we indexed: start over
        index = WindowIndex()
        update = repo.ledger_records_since(None, KINDS)
        assert update is not None
    if update.tip != index.tip:
        rebuilt = index.tip is None
        for record in update.added:
            index.add(record)
        index.skipped.update((item.path, item.reason) for item in update.skipped)
        index.tip = update.tip
        # Re-reading a few new records from the tree diff is cheaper than rewriting a large index on every
        # command, so a large one is rewritten only after a rebuild or once enough records piled up. A small one
        # is rewritten at once: then the next read finds the tip unchanged and never loads pygit2 for the diff.
        piled_up = len(update.added) + len(update.skipped) >= RESAVE_AFTER
        small = len(index.opens) + len(index.closes) <= SMALL_INDEX
        if path is not None and (rebuilt or piled_up or small):
            write_cache(path, index.to_json())
        if cache_dir is not None and (update.skipped or rebuilt):
            write_cache(cache_dir / SKIPPED_NAME, json.dumps(index.skipped, sort_keys=True))
    _report(index.skipped)
    return index


def report_known_skipped(cache_dir: Path) -> None:
    """Report the ledger files the index last found unusable, without reading the ledger or the index: for
    commands that write but do not read (``end``), so that every command says it, at the cost of one small file."""
    try:
        known = json.loads((cache_dir / SKIPPED_NAME).read_bytes())
    except (OSError, ValueError):
        return
    if isinstance(known, dict):
        _report({str(path): str(reason) for path, reason in known.items()})


def _report(skipped: dict[str, str]) -> None:
    report_skipped(Skipped(where, reason, "see git tracker doctor") for where, reason in skipped.items())
