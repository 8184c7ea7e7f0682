"""This machine's local state under ``<common-dir>/tracker/`` (never committed).

Per agent: ``agents/<id>/state.json`` (open windows, last closed window, a write-ahead list of records
not yet confirmed on the ledger) and ``agents/<id>/open/<provider>.note`` (the note line the shell hook
stamps on commits). The journal makes start/end safe against a killed process: the records an action
will append are saved with the new state *before* the ledger write, and replayed (idempotently) by the
next command if the process died in between.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gittracker.errors import BadInput
from gittracker.files import atomic_write, file_lock, lock_held, try_file_lock
from gittracker.findings import Finding

STATE_VERSION = 1
# How many replaced readings a provider's kept reading carries: enough to undo an end and then its start
# (the after replaced the before, which replaced the reading before the window).
KEPT_REPLACED = 3


# What every open window's entry has. Optional, and so absent from states older versions wrote: ``worktree`` (where it
# was opened), ``segments`` (its readings' tracks across resets, ``gittracker.segments``), ``note``,
# ``before_reading``.
OPEN_WINDOW_KEYS = frozenset(
    {
        "window_id",
        "provider",
        "open_id",
        "snapshot_id",
        "opened_ts",
        "commit_start",
        "feature_id",
        "methodology",
        "before",
        "note_line",
    }
)
CLOSED_WINDOW_KEYS = frozenset({"close_id", "after_snapshot_id", "closed_ts"})


def _require(window: Any, keys: frozenset[str]) -> None:
    if not isinstance(window, dict) or not keys <= set(window):
        raise KeyError("window")


@dataclass
class AgentState:
    """What one agent has open and last closed, plus the journal of unconfirmed records."""

    open: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_closed: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_closed_window: str | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        data = {
            "version": STATE_VERSION,
            "open": self.open,
            "last_closed": self.last_closed,
            "last_closed_window": self.last_closed_window,
            "pending": self.pending,
        }
        return json.dumps(data, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes, where: str) -> AgentState:
        try:
            data = json.loads(text)
            state = cls(
                open=dict(data["open"]),
                last_closed=dict(data["last_closed"]),
                last_closed_window=data["last_closed_window"],
                pending=list(data["pending"]),
            )
            for window in state.open.values():
                _require(window, OPEN_WINDOW_KEYS)
            for window in state.last_closed.values():
                _require(window, OPEN_WINDOW_KEYS | CLOSED_WINDOW_KEYS)
            return state
        except (ValueError, KeyError, TypeError):
            raise BadInput(
                f"{where}: expected git-tracker agent state JSON; `git tracker doctor --fix` rebuilds it from the "
                "ledger"
            ) from None


class LocalState:
    """Paths and files of ``<common-dir>/tracker/``."""

    def __init__(self, tracker_dir: Path) -> None:
        self.root = tracker_dir

    @property
    def manifest(self) -> Path:
        return self.root / "install.json"

    @property
    def sync_on_push(self) -> Path:
        """Present when ``init --sync-on-push`` turned syncing after a push on for this clone."""
        return self.root / "sync-on-push"

    @property
    def sync_on_push_log(self) -> Path:
        """The last sync the pre-push hook started: when, which remote, and its one-line result."""
        return self.root / "sync-on-push.log"

    @property
    def queue(self) -> Path:
        return self.root / "queue"

    @property
    def flush_lock(self) -> Path:
        return self.root / "flush.lock"

    @property
    def flush_marker(self) -> Path:
        return self.root / "flush.running"

    def remove_flush_marker(self) -> None:
        """The marker is a directory (the hooks create it with an atomic mkdir); accept a file too."""
        with contextlib.suppress(FileNotFoundError):
            if self.flush_marker.is_dir():
                self.flush_marker.rmdir()
            else:
                self.flush_marker.unlink()

    def clear_stale_flush_marker(self) -> None:
        """A flusher killed outright leaves its marker, and hooks then start no flusher: clear it.

        The marker is stale exactly when nobody holds the flush lock.
        """
        if not self.flush_marker.exists():
            return
        with try_file_lock(self.flush_lock) as free:
            if free:
                self.remove_flush_marker()

    def agent_dir(self, agent_id: str) -> Path:
        return self.root / "agents" / agent_id

    def agent_lock(self, agent_id: str) -> contextlib.AbstractContextManager[None]:
        return file_lock(self.agent_dir(agent_id) / "lock")

    def try_agent_lock(self, agent_id: str) -> contextlib.AbstractContextManager[bool]:
        return try_file_lock(self.agent_dir(agent_id) / "lock")

    def agents(self) -> list[str]:
        base = self.root / "agents"
        return sorted(p.name for p in base.iterdir() if (p / "state.json").exists()) if base.is_dir() else []

    def findings(self) -> list[Finding]:
        """What is wrong with the agents' states, from their files alone: cheap enough for ``status``."""
        found = []
        for agent in self.agent_dirs():
            state = self.load_readable(agent)
            if state is None:
                found.append(
                    Finding(
                        "state-damaged",
                        f"the state of agent {agent} ({self.agent_dir(agent) / 'state.json'}) is not readable",
                        "--fix keeps it as state.json.damaged and rebuilds the state from the ledger",
                        fixable=True,
                    )
                )
                continue
            if state.pending and not lock_held(self.agent_dir(agent) / "lock"):
                found.append(
                    Finding(
                        "journal-left",
                        f"agent {agent} was stopped with {len(state.pending)} record(s) journalled, not yet on the "
                        "ledger",
                        "--fix appends them (so does any git-tracker command in this repository)",
                        fixable=True,
                    )
                )
        return found

    def agent_dirs(self) -> list[str]:
        """Every agent folder, also those whose state cannot be read (``agents`` lists the readable ones)."""
        base = self.root / "agents"
        return sorted(path.name for path in base.iterdir() if path.is_dir()) if base.is_dir() else []

    def load(self, agent_id: str) -> AgentState:
        path = self.agent_dir(agent_id) / "state.json"
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            return AgentState()
        return AgentState.from_json(text, str(path))

    def load_readable(self, agent_id: str) -> AgentState | None:
        """The agent's state, or None when its file cannot be read (``findings`` reports it as state-damaged)."""
        try:
            return self.load(agent_id)
        except BadInput:
            return None

    def save(self, agent_id: str, state: AgentState) -> None:
        atomic_write(self.agent_dir(agent_id) / "state.json", state.to_json())
        self._sync_note_files(agent_id, state)

    def _sync_note_files(self, agent_id: str, state: AgentState) -> None:
        """Make ``open/*.note`` match the open windows; the shell hook reads only these."""
        open_dir = self.agent_dir(agent_id) / "open"
        open_dir.mkdir(parents=True, exist_ok=True)
        wanted = {f"{provider}.note": window["note_line"] for provider, window in state.open.items()}
        for existing in open_dir.glob("*.note"):
            if existing.name not in wanted:
                existing.unlink(missing_ok=True)
        for name, line in wanted.items():
            path = open_dir / name
            if not path.exists() or path.read_text().strip() != line:
                atomic_write(path, line + "\n")

    def provider_reading(self, provider: str) -> dict[str, Any] | None:
        """The provider's last reading on this machine (without the readings it replaced)."""
        kept = self._kept_reading(provider)
        return None if kept is None else {key: value for key, value in kept.items() if key != "replaced"}

    def _kept_reading(self, provider: str) -> dict[str, Any] | None:
        path = self.root / "providers" / f"{provider}.json"
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def save_provider_reading(self, provider: str, reading: dict[str, Any]) -> None:
        """Keep the provider's latest reading; a reading without reset times keeps the known ones.

        Reset times are evidence for the reset guards of ``end``: a later reading that simply did not
        show them must not erase them. The reading it replaces is kept with it (``replaced``), so that an
        ``undo`` of the new one can bring it back.
        """
        previous = self._kept_reading(provider) or {}
        merged = dict(reading)
        for key in ("resets_at", "weekly_resets_at"):
            if merged.get(key) is None and previous.get(key) is not None:
                merged[key] = previous[key]
        known = previous.get("known_resets")
        merged["known_resets"] = {
            **(known if isinstance(known, dict) else {}),
            **_reset_times(previous),
            **_reset_times(reading),
        }
        if previous:
            merged["replaced"] = _history(previous, KEPT_REPLACED)
        atomic_write(self.root / "providers" / f"{provider}.json", json.dumps(merged, sort_keys=True))

    def known_resets(self, provider: str) -> dict[str, str]:
        """meter -> the latest reset time any kept reading of ``provider`` showed (evidence for ``end``'s guards)."""
        kept = self.provider_reading(provider) or {}
        known = kept.get("known_resets")
        return {**_reset_times(kept), **(known if isinstance(known, dict) else {})}

    def forget_provider_reading(self, provider: str, snapshot_id: str, fallback: dict[str, Any] | None) -> None:
        """An undo voided the reading kept for ``provider``: bring back the one it replaced, else ``fallback``
        (a reading kept by a version that did not keep the replaced one), else none."""
        current = self._kept_reading(provider)
        if current is None or current.get("snapshot_id") != snapshot_id:
            return  # a later reading replaced it meanwhile: that one stays
        path = self.root / "providers" / f"{provider}.json"
        restored = current.get("replaced")
        if not isinstance(restored, dict):
            restored = fallback
        if restored is None:
            path.unlink(missing_ok=True)
        else:
            atomic_write(path, json.dumps(restored, sort_keys=True))


def _history(reading: dict[str, Any], depth: int) -> dict[str, Any]:
    """``reading`` with at most ``depth`` readings in its chain of replaced ones (the file stays small)."""
    kept = {key: value for key, value in reading.items() if key != "replaced"}
    older = reading.get("replaced")
    if depth > 1 and isinstance(older, dict):
        kept["replaced"] = _history(older, depth - 1)
    return kept


def _reset_times(reading: dict[str, Any]) -> dict[str, str]:
    """meter -> the reset time a kept reading shows (the first schema's fields, then its meters)."""
    found = {
        meter: reading[key]
        for meter, key in (("five_hour", "resets_at"), ("weekly", "weekly_resets_at"))
        if isinstance(reading.get(key), str)
    }
    meters = reading.get("meters")
    for name, meter in (meters if isinstance(meters, dict) else {}).items():
        if isinstance(meter, dict) and isinstance(meter.get("resets_at"), str):
            found[name] = meter["resets_at"]
    return found
