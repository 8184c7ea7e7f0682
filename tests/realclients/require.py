"""Clients, servers and tmux for a test, or a clear reason why not: a failure where the real clients are required
(`REAL_CLIENTS_REQUIRED=1`, which .ci/run sets, or `CI`), a skip naming the install command elsewhere."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.realclients import install
from tests.realclients.clients import Claude, Codex
from tests.realclients.runner import FakeServer, NamespaceUnavailable, namespace_problem


def required() -> bool:
    return bool(os.environ.get("REAL_CLIENTS_REQUIRED") or os.environ.get("CI"))


def unavailable(reason: str) -> NoReturn:
    if required():
        pytest.fail(f"the real clients are required here: {reason}", pytrace=False)
    pytest.skip(reason)


def claude(home: Path, gateway: bool = False) -> Claude:
    try:
        return Claude(home, gateway=gateway)
    except install.Unavailable as error:
        unavailable(str(error))


def codex(home: Path) -> Codex:
    try:
        return Codex(home)
    except install.Unavailable as error:
        unavailable(str(error))


def fake_server(kind: str, folder: Path, **config: Any) -> FakeServer:
    """A started fake server (stop it, or use it as a context manager)."""
    problem = namespace_problem()
    if problem is not None:
        unavailable(f"no network namespace for the fake server: {problem}")
    try:
        return FakeServer(kind, folder, config).start()
    except NamespaceUnavailable as error:
        unavailable(str(error))


def tmux() -> None:
    """Only returns when tmux is installed (the interactive clients run in it)."""
    if shutil.which("tmux") is None:
        unavailable("tmux is not installed (the interactive clients run in tmux; apt-get install tmux)")


# Captures of real client runs (hook payloads, status-line input) sit beside the checkout, like the real data:
# read from there, never copied into the repository.
CAPTURE_PLACES = (
    os.environ.get("REAL_CLIENTS_CAPTURES", ""),
    str(Path(__file__).resolve().parents[3] / "shared" / "real-clients"),
    "/work/shared/real-clients",
)


def capture(name: str) -> Path:
    """A captured file of a real client run; a machine without the captures skips the test and says why."""
    for place in CAPTURE_PLACES:
        if place and (Path(place) / name).exists():
            return Path(place) / name
    pytest.skip(f"capture {name} not on this machine (set REAL_CLIENTS_CAPTURES to the shared real-clients folder)")
