"""The real Claude Code behind a real mitmdump with the addon: what the addon writes for the client's own requests
(session and sub-agent ids from its headers, tokens, the official capacity headers), and what the ledger makes of
it. The fake model server and mitmdump run in one network namespace with loopback only; the client talks to
mitmdump (`ANTHROPIC_BASE_URL`), mitmdump to the fake server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gittracker import clock
from gittracker.proxy import addon_path
from tests.conftest import Sandbox
from tests.realclients import require
from tests.realclients.clients import API_KEY, anthropic_limits
from tests.realclients.runner import FakeServer

pytestmark = pytest.mark.realclients

PROXY_PORT = 18090  # inside the namespace: no other program listens there
USAGE = {"input_tokens": 321, "cache_creation_input_tokens": 11, "cache_read_input_tokens": 4321}
OUTPUT_TOKENS = 77
FIVE_HOUR = (0.42, 1796037201)
SEVEN_DAY = (0.17, 1796465601)


def mitmdump() -> str:
    found = shutil.which("mitmdump") or str(Path(sys.executable).with_name("mitmdump"))
    if not Path(found).exists():
        pytest.fail("mitmdump is not installed: pip install -e '.[test]' installs it", pytrace=False)
    return found


class NamespacedProxy:
    """mitmdump with the addon, started inside the fake server's namespace, in front of it (reverse mode)."""

    def __init__(self, server: FakeServer, folder: Path, telemetry: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.output = folder / "mitmdump.out"
        argv = [mitmdump(), "--mode", f"reverse:{server.base_url}", "--listen-host", "127.0.0.1"]
        argv += ["--listen-port", str(PROXY_PORT), "--set", f"confdir={folder / 'conf'}", "--flow-detail", "0"]
        argv += ["-s", addon_path(), "--set", f"tracker_telemetry={telemetry}"]
        self.process = server.popen(argv, env=dict(os.environ), cwd=folder)
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()
        if not self.ready.wait(30):
            self.stop()
            pytest.fail(f"mitmdump did not start: {self.lines[-5:]}", pytrace=False)

    def _drain(self) -> None:
        assert self.process.stdout is not None
        with self.output.open("w") as out:
            for line in self.process.stdout:
                self.lines.append(line)
                out.write(line)
                out.flush()
                if "listening at" in line:
                    self.ready.set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{PROXY_PORT}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[FakeServer, NamespacedProxy, Path]]:
    limits = anthropic_limits(five_hour=FIVE_HOUR, seven_day=SEVEN_DAY)
    telemetry = tmp_path / "telemetry" / "proxy.jsonl"
    with require.fake_server(
        "anthropic", tmp_path / "server", usage=USAGE, output_tokens=OUTPUT_TOKENS, headers=limits
    ) as server:
        proxy = NamespacedProxy(server, tmp_path / "proxy", telemetry)
        try:
            yield server, proxy, telemetry
        finally:
            proxy.stop()


def telemetry_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_addon_meters_the_real_clients_main_thread_and_sub_agent(
    tracked: Sandbox, hermetic: Path, tmp_path: Path, proxied: tuple[FakeServer, NamespacedProxy, Path]
) -> None:
    server, proxy, telemetry = proxied
    sandbox = tracked
    claude = require.claude(hermetic)
    session = str(uuid.uuid4())
    prompt = "please SPAWN_AGENT for a private-prompt-7f3a"
    run = claude.print_mode(
        server,
        sandbox.path,
        prompt,
        session_id=session,
        args=["--allowedTools", "Agent"],
        env={"ANTHROPIC_BASE_URL": proxy.base_url},
    )
    assert run.completed.returncode == 0, run.completed.stderr

    requests = server.requests("/v1/messages")
    agents = [r["headers"].get("x-claude-code-agent-id") for r in requests]
    assert len(requests) == 3 and agents[0] is None and agents[1] is not None and agents[2] is None, agents
    deadline = time.monotonic() + 10  # the response hook may write a moment after the client has its answer
    while len(telemetry_lines(telemetry)) < len(requests) and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = telemetry_lines(telemetry)
    assert [line["trace_id"] for line in lines] == [r["sent_headers"]["request-id"] for r in requests]
    assert [line["subagent_id"] for line in lines] == agents
    assert {line["session_id"] for line in lines} == {session}
    for line, request in zip(lines, requests, strict=True):
        assert line["model"] == request["body"]["model"]
        assert (line["prompt_tokens"], line["completion_tokens"]) == (USAGE["input_tokens"], OUTPUT_TOKENS)
        assert line["cache_creation_tokens"] == USAGE["cache_creation_input_tokens"]
        assert line["cache_read_tokens"] == USAGE["cache_read_input_tokens"]
        assert (line["status"], line["cut_off"]) == (200, False)
        assert line["capacity"] == {
            "five_hour": {"utilization": FIVE_HOUR[0], "resets_at": FIVE_HOUR[1]},
            "seven_day": {"utilization": SEVEN_DAY[0], "resets_at": SEVEN_DAY[1]},
            "status": "allowed",
        }

    ingested = sandbox.tracker("ingest", "proxy-telemetry", str(telemetry), "--json")
    assert ingested.returncode == 0, ingested.stderr
    snapshots = sandbox.records("snapshot")
    assert len(snapshots) == 1  # three answers, one reading
    meters = snapshots[0]["meters"]
    assert (snapshots[0]["provider"], snapshots[0]["phase"]) == ("claude", "mid")
    assert meters["five_hour"]["used"] == pytest.approx(42.0) and meters["weekly"]["used"] == pytest.approx(17.0)
    assert meters["five_hour"]["resets_at"] == clock.format_ts(datetime.fromtimestamp(FIVE_HOUR[1], UTC))
    assert meters["weekly"]["resets_at"] == clock.format_ts(datetime.fromtimestamp(SEVEN_DAY[1], UTC))
    assert len(sandbox.records("proxy-batch")) == 1

    # Nothing the client sent in confidence reached a file: not the prompt, not the key.
    private = [prompt.encode(), b"private-prompt-7f3a", b"SUBAGENT_TASK", API_KEY.encode()]
    ledger = sandbox.ok("log", "--json").encode()  # the ledger's blobs are compressed: read them as records
    assert not any(secret in ledger for secret in private)
    for path in [telemetry, proxy.output, *(tmp_path / "proxy").rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            assert not any(secret in data for secret in private), path
