"""Proxy events stored as the ingest stores them: ``proxy-batch`` records (contract B) appended with the repository
API to a throwaway repository whose windows the real CLI made."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from gittracker.git import Repo
from gittracker.machine import read_machine
from gittracker.proxyevents import Event, columns_of
from gittracker.records import Record
from tests.conftest import Sandbox


@dataclass(frozen=True)
class Req:
    """One proxied request, by what the tests vary."""

    provider: str  # backend_provider
    model: str | None
    prompt: int = 0
    completion: int = 0
    cache_write: int = 0
    cache_read: int = 0
    latency: float = 500.0
    status: int = 200
    cut_off: bool = False


def events_of(requests: Sequence[Req], prefix: str, minute: int = 0) -> list[Event]:
    """Events with distinct trace ids (``prefix``-n) one second apart from 09:``minute``."""
    return [
        Event(
            trace_id=f"{prefix}-{number}",
            timestamp=f"2026-06-01T09:{minute:02d}:{number % 60:02d}.000Z",
            session_id="s-1",
            subagent_id=f"agent-{number}",
            backend_provider=request.provider,
            model=request.model,
            prompt_tokens=request.prompt,
            completion_tokens=request.completion,
            cache_creation_tokens=request.cache_write,
            cache_read_tokens=request.cache_read,
            latency_ms=request.latency,
            status=request.status,
            cut_off=request.cut_off,
        )
        for number, request in enumerate(requests)
    ]


def batch(repo: Repo, window_id: str | None, events: Sequence[Event]) -> Record:
    ordered = sorted(events, key=lambda event: event.timestamp)
    machine = read_machine(repo)
    assert machine is not None
    return Record.derived(
        "proxy-batch",
        source="ingest",
        agent_id="main",
        machine=machine,
        ts=ordered[-1].timestamp,
        identity={"window_id": window_id, "trace_ids": sorted(event.trace_id for event in ordered)},
        window_id=window_id,
        count=len(ordered),
        first_ts=ordered[0].timestamp,
        last_ts=ordered[-1].timestamp,
        events=columns_of(ordered),
    )


def seed(box: Sandbox, batches: Sequence[tuple[str | None, Sequence[Event]]]) -> None:
    """Append one batch record per (window id, events)."""
    repo = Repo.discover(box.path)
    repo.append_records([batch(repo, window_id, events) for window_id, events in batches])


def closed_window(
    box: Sandbox,
    feature: str | None,
    outcome: str | None,
    quality: float,
    agent: str = "main",
    provider: str = "claude",
) -> str:
    """A window made with the real CLI (start, a commit, end, complete); its id. The meter only climbs (by 4 percent a
    window, up to 19 windows in a repository), so no reading looks like a reset."""
    env = {"AGENT_ID": agent}
    before = box.counter * 5
    box.ok("start", provider, "--used", str(before), *(["--feature", feature] if feature else []), env=env)
    box.commit(env=env)
    closed = json.loads(box.ok("end", provider, "--used", str(before + 4), "--json", env=env))
    if outcome is not None:
        box.ok("complete", "--outcome", outcome, "--quality", str(quality), env=env)
    return str(closed["window_id"])
