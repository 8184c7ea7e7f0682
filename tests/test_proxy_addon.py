"""The mitmproxy addon (gittracker/proxy/addon.py) run by a real `mitmdump` in front of a fake Anthropic upstream.

Every telemetry line is compared field by field with what the upstream was scripted to send; the client's bytes
with the upstream's; and every file the run left (telemetry, mitmdump's output, its confdir) is searched for the
prompt and the key. The SSE parser and the option parsers get property tests of their own.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import re
import socket
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gittracker.proxy import addon_path
from gittracker.proxy.addon import SseMeter, parse_backends, parse_routes
from tests.proxytools import (
    REPLY_HEADER,
    Answer,
    FakeUpstream,
    Mitmdump,
    Reply,
    Usage,
    capacity_headers,
    error_reply,
    files_under,
    json_reply,
    odd_split,
    post,
    sse_event,
    sse_events,
    stream_reply,
    ungzip,
)

PROMPT = "PROMPT-canary-violet-heron-4417 please refactor the parser"
SYSTEM = "SYSTEM-canary-amber-otter-9021"
KEY = "sk-ant-api03-TESTKEY-d41d8cd98f00b204e9800998ecf8427e"
ROUTE_KEY = "zai-ROUTEKEY-5f4dcc3b5aa765d61d8327deb882cf99"
SESSION = "b073cf51-8c58-45e2-a750-1e781923afe4"
BODY_SESSION = "c0ffee00-1111-4222-8333-444455556666"
AGENT = "a86f8120a62981bc9"
FIVE = ("0.42", "1796037201")
SEVEN = ("0.17", "1796465601")
CAPACITY = {
    "five_hour": {"utilization": 0.42, "resets_at": 1796037201},
    "seven_day": {"utilization": 0.17, "resets_at": 1796465601},
    "status": "allowed",
}
KEYS = [
    "timestamp",
    "session_id",
    "subagent_id",
    "backend_provider",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "cache_creation_tokens",
    "cache_read_tokens",
    "latency_ms",
    "status",
    "trace_id",
    "cut_off",
    "capacity",
]


def request_body(model: str, *, stream: bool = True, session: str = BODY_SESSION) -> bytes:
    user_id = json.dumps({"device_id": "d" * 64, "account_uuid": "", "session_id": session})
    return json.dumps(
        {
            "model": model,
            "max_tokens": 32000,
            "stream": stream,
            "system": [{"type": "text", "text": SYSTEM}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}],
            "metadata": {"user_id": user_id},
        }
    ).encode()


def claude_headers(reply: str, *, agent: str | None = None, bearer: bool = False) -> dict[str, str]:
    """What Claude Code 2.1.332 sends (facts15-claude §1), with the fake key."""
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "User-Agent": "claude-cli/2.1.332 (external, sdk-cli)",
        "X-Claude-Code-Session-Id": SESSION,
        "anthropic-version": "2023-06-01",
        "x-app": "cli",
        "Accept-Encoding": "gzip, deflate, br, zstd",
        REPLY_HEADER: reply,
    }
    if bearer:
        headers["Authorization"] = f"Bearer {KEY}"
    else:
        headers["x-api-key"] = KEY
    if agent:
        headers["x-claude-code-agent-id"] = agent
    return headers


@dataclass
class Rig:
    """A fake upstream, a real mitmdump with the addon in front of it, and the run's files."""

    upstream: FakeUpstream
    proxy: Mitmdump
    telemetry: Path
    root: Path

    def lines(self, expected: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The telemetry lines, once `expected` are there (the line of a stream is written when it ends)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.telemetry.read_text() if self.telemetry.exists() else ""
            if text.count("\n") >= expected:
                break
            time.sleep(0.02)
        time.sleep(0.1)  # a line too many would show up now
        return [json.loads(line) for line in self.telemetry.read_text().splitlines()]

    def assert_private(self) -> None:
        """No file the run wrote holds the prompt, the system prompt or a key."""
        self.proxy.stop()
        secrets = [PROMPT, SYSTEM, KEY, ROUTE_KEY, KEY.rsplit("-", maxsplit=1)[-1]]
        checked = 0
        for path in files_under(self.root):
            data = path.read_bytes()
            checked += 1
            for secret in secrets:
                assert secret.encode() not in data, f"{secret!r} found in {path}"
        assert checked >= 3  # telemetry, mitmdump's output, the confdir's CA files


@contextlib.contextmanager
def rig(
    root: Path,
    *,
    options: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    telemetry: Path | None = None,
) -> Iterator[Rig]:
    root.mkdir(parents=True, exist_ok=True)
    telemetry = telemetry or root / "state" / "telemetry.jsonl"
    with FakeUpstream() as upstream:
        proxy = Mitmdump(
            upstream.url,
            confdir=root / "confdir",
            output=root / "mitmdump.out",
            telemetry=telemetry,
            options=options,
            env=env,
        )
        with proxy:
            yield Rig(upstream, proxy, telemetry, root)


def expected_line(**fields: Any) -> dict[str, Any]:
    """A line's fields with the defaults most tests share; `timestamp`, `latency_ms`, `trace_id` checked apart."""
    base: dict[str, Any] = {
        "session_id": SESSION,
        "subagent_id": None,
        "backend_provider": "anthropic",
        "model": "claude-opus-5-5",
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cache_creation_tokens": 0,
        "cache_read_tokens": 0,
        "status": 200,
        "cut_off": False,
        "capacity": None,
    }
    base.update(fields)
    return base


def assert_line(line: dict[str, Any], answer: Answer, ended: float, **fields: Any) -> None:
    """Every field of `line`: the given ones exactly, the times against the client's own clock."""
    assert list(line) == KEYS
    variable = {"timestamp", "latency_ms", "trace_id", "latency_at_least"}
    assert {k: v for k, v in line.items() if k not in variable} == expected_line(
        **{k: v for k, v in fields.items() if k not in variable}
    )
    if "trace_id" in fields:
        assert line["trace_id"] == fields["trace_id"]
    else:
        assert re.fullmatch(r"gt_[0-9a-f]{32}", line["trace_id"]), line["trace_id"]
    stamp = datetime.strptime(line["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["timestamp"])
    assert answer.sent_at - 0.002 <= stamp <= ended  # the request's start, as the proxy read it
    wall_ms = (ended - answer.sent_at) * 1000
    assert 0 <= line["latency_ms"] <= wall_ms + 2, (line["latency_ms"], wall_ms)
    assert isinstance(line["latency_ms"], float) and round(line["latency_ms"], 1) == line["latency_ms"]
    minimum = fields.get("latency_at_least")
    if minimum is not None:
        assert line["latency_ms"] >= minimum


# ---------------------------------------------------------------------------------------------------- real mitmdump


def test_plain_json_reply_is_metered_field_by_field(tmp_path: Path) -> None:
    usage = Usage(input=321, output_steps=(54,), cache_creation=12, cache_read=7000)
    with rig(tmp_path) as run:
        headers = [*capacity_headers(FIVE, SEVEN, "allowed"), ("request-id", "req_plain_01")]
        run.upstream.expect("plain", json_reply("claude-opus-5-5-20261101", usage, headers=headers))
        answer = post(run.proxy.port, request_body("claude-opus-5-5", stream=False), claude_headers("plain"))
        ended = time.time()
        assert answer.status == 200 and answer.complete
        assert answer.body == run.upstream.replies["plain"].body
        (line,) = run.lines(1)
        assert_line(
            line,
            answer,
            ended,
            model="claude-opus-5-5-20261101",  # the answer's model wins over the request's
            prompt_tokens=321,
            completion_tokens=54,
            cache_creation_tokens=12,
            cache_read_tokens=7000,
            trace_id="req_plain_01",
            capacity=CAPACITY,
        )
        # metered requests are asked for an uncompressed answer; the rest of the request is the client's
        (received,) = run.upstream.requests_for("plain")
        assert received.header("accept-encoding") == "identity"
        assert received.header("x-api-key") == KEY and received.path == "/v1/messages?beta=true"
        run.assert_private()


def test_streamed_reply_passes_byte_identical_and_counts_the_last_delta(tmp_path: Path) -> None:
    usage = Usage(input=1200, output_steps=(5, 11, 23, 40), cache_creation=300, cache_read=4000, start_output=2)
    headers = [*capacity_headers(FIVE, SEVEN, "allowed_warning"), ("request-id", "req_stream_01")]
    with rig(tmp_path) as run:
        reply = run.upstream.expect("s", stream_reply("claude-haiku-4-5", usage, headers=headers, pause=0.02, seed=3))
        answer = post(run.proxy.port, request_body("claude-haiku-4-5"), claude_headers(reply, agent=AGENT))
        ended = time.time()
        assert answer.status == 200 and answer.complete
        assert answer.body == run.upstream.replies[reply].body
        assert answer.headers["content-type"].startswith("text/event-stream")
        (line,) = run.lines(1)
        assert_line(
            line,
            answer,
            ended,
            subagent_id=AGENT,
            backend_provider="haiku",
            model="claude-haiku-4-5",
            prompt_tokens=1200,
            completion_tokens=40,  # the last cumulative delta; summing would say 79
            cache_creation_tokens=300,
            cache_read_tokens=4000,
            trace_id="req_stream_01",
            capacity={**CAPACITY, "status": "allowed_warning"},
            latency_at_least=len(run.upstream.replies[reply].parts) * 20 * 0.9,
        )
        run.assert_private()


def test_the_stream_is_not_buffered(tmp_path: Path) -> None:
    """The first event reaches the client while the upstream still holds the rest back."""
    usage = Usage(input=10, output_steps=(3, 6))
    gate = threading.Event()
    with rig(tmp_path) as run:
        events = sse_events("claude-opus-5-5", usage)
        reply = Reply(
            headers=[("content-type", "text/event-stream")], parts=[events[0], b"".join(events[1:])], framing="chunked"
        )
        reply.gate = gate
        run.upstream.expect("gated", reply)
        first = threading.Event()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pending = pool.submit(
                post, run.proxy.port, request_body("x"), claude_headers("gated"), on_first_piece=first
            )
            assert first.wait(10), "the first event did not arrive while the upstream held the rest"
            assert "gated" not in run.upstream.finished
            time.sleep(0.2)
            gate.set()
            answer = pending.result(20)
        assert answer.body == reply.body
        assert answer.pieces[0][1] == events[0]  # exactly what the upstream had sent by then
        assert answer.pieces[0][0] < run.upstream.finished["gated"]
        (line,) = run.lines(1)
        assert line["prompt_tokens"] == 10 and line["completion_tokens"] == 6 and line["latency_ms"] >= 200


def test_cut_off_stream_writes_what_was_seen(tmp_path: Path) -> None:
    usage = Usage(input=777, output_steps=(9, 18), cache_read=55, start_output=1)
    with rig(tmp_path) as run:
        events = sse_events("claude-opus-5-5", usage)
        reply = Reply(
            headers=[("content-type", "text/event-stream"), ("request-id", "req_cut_01")],
            parts=[events[0], events[1], b"".join(events[2:])],
            framing="chunked",
            cut_after=2,
        )
        run.upstream.expect("cut", reply)
        answer = post(run.proxy.port, request_body("claude-opus-5-5"), claude_headers("cut"))
        ended = time.time()
        assert answer.status == 200 and not answer.complete
        assert answer.body == events[0] + events[1]  # what was sent, passed on before the cut
        (line,) = run.lines(1)
        assert_line(
            line,
            answer,
            ended,
            prompt_tokens=777,
            completion_tokens=1,  # message_start's: no message_delta arrived
            cache_read_tokens=55,
            trace_id="req_cut_01",
            cut_off=True,
        )


def test_stream_read_until_close_without_message_stop_is_cut_off(tmp_path: Path) -> None:
    """HTTP cannot tell this cut from an end: the addon's own rule (no message_stop) does."""
    usage = Usage(input=40, output_steps=(4, 8))
    with rig(tmp_path) as run:
        events = sse_events("claude-opus-5-5", usage)
        complete = Reply(headers=[("content-type", "text/event-stream")], parts=events, framing="close")
        cut = Reply(headers=[("content-type", "text/event-stream")], parts=events[:-1], framing="close")
        run.upstream.expect("whole", complete)
        run.upstream.expect("cut", cut)
        whole_answer = post(run.proxy.port, request_body("m"), claude_headers("whole"))
        cut_answer = post(run.proxy.port, request_body("m"), claude_headers("cut"))
        assert whole_answer.body == complete.body and cut_answer.body == cut.body
        lines = run.lines(2)
        assert [(line["cut_off"], line["completion_tokens"], line["status"]) for line in lines] == [
            (False, 8, 200),
            (True, 8, 200),
        ]


def test_error_status_and_missing_request_id(tmp_path: Path) -> None:
    with rig(tmp_path) as run:
        run.upstream.expect("e1", error_reply(529, headers=[("request-id", "req_err_01")]))
        run.upstream.expect("e2", error_reply(529))
        run.upstream.expect("e3", error_reply(529))
        answers = [post(run.proxy.port, request_body("claude-opus-5-5"), claude_headers(k)) for k in ("e1", "e2", "e3")]
        ended = time.time()
        assert [answer.status for answer in answers] == [529, 529, 529]
        assert answers[0].body == run.upstream.replies["e1"].body
        lines = run.lines(3)
        assert_line(lines[0], answers[0], ended, status=529, trace_id="req_err_01")
        assert_line(lines[1], answers[1], ended, status=529)
        assert_line(lines[2], answers[2], ended, status=529)
        assert lines[1]["trace_id"] != lines[2]["trace_id"]  # generated, one per request


def test_session_from_the_body_and_a_configured_header(tmp_path: Path) -> None:
    usage = Usage(input=1, output_steps=(1,))
    with rig(tmp_path, options=("tracker_session_header=X-Tracker-Feature",)) as run:
        run.upstream.expect("p", json_reply("claude-opus-5-5", usage))
        configured = {**claude_headers("p"), "X-Tracker-Feature": "feat-1"}
        without = claude_headers("p")
        post(run.proxy.port, request_body("claude-opus-5-5", stream=False), configured)
        post(run.proxy.port, request_body("claude-opus-5-5", stream=False), without)
        no_metadata = json.dumps({"model": "claude-opus-5-5", "messages": []}).encode()
        post(run.proxy.port, no_metadata, without)
        lines = run.lines(3)
        # the configured header names the session; without it, the body's metadata.user_id; else null
        assert [line["session_id"] for line in lines] == ["feat-1", BODY_SESSION, None]


def test_only_post_v1_messages_is_metered(tmp_path: Path) -> None:
    usage = Usage(input=5, output_steps=(2,))
    with rig(tmp_path) as run:
        run.upstream.expect("p", json_reply("m", usage))
        others = [
            ("GET", "/v1/messages"),
            ("POST", "/v1/messages/count_tokens?beta=true"),
            ("POST", "/v1/complete"),
            ("POST", "/v1/messagesx"),
        ]
        for method, path in others:
            answer = post(
                run.proxy.port, request_body("m", stream=False), claude_headers("p"), method=method, path=path
            )
            assert answer.status == 200
        post(run.proxy.port, request_body("m", stream=False), claude_headers("p"), path="/glm/v1/messages?beta=true")
        lines = run.lines(1)
        assert len(lines) == 1 and lines[0]["prompt_tokens"] == 5
        received = run.upstream.requests_for("p")
        # untouched: the client's accept-encoding reaches the upstream on what is not metered
        assert [r.header("accept-encoding") for r in received] == ["gzip, deflate, br, zstd"] * 4 + ["identity"]


def test_gzip_stream_is_read_and_passed_on_compressed(tmp_path: Path) -> None:
    usage = Usage(input=4321, output_steps=(7, 70, 700), cache_creation=1, cache_read=2)
    with rig(tmp_path) as run:
        reply = stream_reply("glm-4.6", usage, headers=[("request-id", "req_gz")], seed=9)
        reply.gzip = True
        run.upstream.expect("gz", reply)
        answer = post(run.proxy.port, request_body("glm-4.6"), claude_headers("gz"))
        assert answer.headers.get("content-encoding") == "gzip"
        assert ungzip(answer.body) == reply.body
        (line,) = run.lines(1)
        assert (line["prompt_tokens"], line["completion_tokens"], line["cache_creation_tokens"]) == (4321, 700, 1)
        assert (line["backend_provider"], line["model"], line["cut_off"]) == ("glm", "glm-4.6", False)


def test_unreadable_encoding_keeps_tokens_unknown_and_writes_the_line(tmp_path: Path) -> None:
    usage = Usage(input=99, output_steps=(9,))
    with rig(tmp_path) as run:
        reply = stream_reply("claude-opus-5-5", usage, headers=[("content-encoding", "br")])
        run.upstream.expect("br", reply)
        answer = post(run.proxy.port, request_body("claude-opus-5-5"), claude_headers("br"))
        assert answer.body == reply.body
        (line,) = run.lines(1)
        assert (line["prompt_tokens"], line["completion_tokens"], line["cut_off"], line["status"]) == (0, 0, False, 200)
        assert line["model"] == "claude-opus-5-5"  # from the request


def test_route_sends_glm_models_to_the_second_upstream_with_the_env_key(tmp_path: Path) -> None:
    usage = Usage(input=600, output_steps=(20, 45))
    with FakeUpstream() as glm:
        route = f"tracker_routes=glm={glm.url}/api/anthropic@GT_TEST_ZAI_KEY"
        with rig(tmp_path, options=(route,), env={"GT_TEST_ZAI_KEY": ROUTE_KEY}) as run:
            glm.expect("r", stream_reply("glm-4.6", usage, headers=[("request-id", "glm_req_1")]))
            glm.expect("rb", stream_reply("glm-4.6", usage))
            run.upstream.expect("r", stream_reply("claude-opus-5-5", usage))
            routed = post(run.proxy.port, request_body("GLM-4.6"), claude_headers("r", agent=AGENT))
            bearer = post(run.proxy.port, request_body("glm-4.6"), claude_headers("rb", bearer=True))
            main = post(run.proxy.port, request_body("claude-opus-5-5"), claude_headers("r"))
            assert routed.body == glm.replies["r"].body and bearer.body == glm.replies["rb"].body
            assert main.body == run.upstream.replies["r"].body
            got = glm.requests_for("r") + glm.requests_for("rb")
            assert [r.path for r in got] == ["/api/anthropic/v1/messages?beta=true"] * 2
            assert [r.header("x-api-key") for r in got] == [ROUTE_KEY, ROUTE_KEY]
            assert [r.header("authorization") for r in got] == [None, None]
            assert got[0].header("host") == glm.url.removeprefix("http://")
            assert json.loads(got[0].body)["messages"][0]["content"][0]["text"] == PROMPT  # the body is untouched
            (to_main,) = run.upstream.requests_for("r")
            assert to_main.header("x-api-key") == KEY
            lines = run.lines(3)
            assert [(x["backend_provider"], x["model"], x["completion_tokens"]) for x in lines] == [
                ("glm", "glm-4.6", 45),
                ("glm", "glm-4.6", 45),
                ("anthropic", "claude-opus-5-5", 45),
            ]
            assert lines[0]["trace_id"] == "glm_req_1" and lines[0]["subagent_id"] == AGENT
            run.assert_private()


def test_route_without_its_env_var_keeps_the_key_and_says_so_once(tmp_path: Path) -> None:
    usage = Usage(input=6, output_steps=(2,))
    with FakeUpstream() as glm:
        route = f"tracker_routes=glm={glm.url}@GT_TEST_UNSET_KEY"
        with rig(tmp_path, options=(route,)) as run:
            glm.expect("r", json_reply("glm-4.6", usage))
            for _ in range(2):
                assert post(run.proxy.port, request_body("glm-4.6", stream=False), claude_headers("r")).status == 200
            assert [r.header("x-api-key") for r in glm.requests_for("r")] == [KEY, KEY]
            run.lines(2)
            run.proxy.stop()
            assert run.proxy.output.read_text().count("GT_TEST_UNSET_KEY is not set") == 1


def test_client_gone_mid_stream_is_one_cut_off_line(tmp_path: Path) -> None:
    usage = Usage(input=31, output_steps=(1, 2, 3))
    gate = threading.Event()
    with rig(tmp_path) as run:
        events = sse_events("claude-opus-5-5", usage)
        reply = Reply(
            headers=[("content-type", "text/event-stream")], parts=[events[0], b"".join(events[1:])], framing="chunked"
        )
        reply.gate = gate
        run.upstream.expect("gone", reply)
        with socket_client(run.proxy.port, request_body("claude-opus-5-5"), claude_headers("gone")) as sock:
            seen = b""
            while b"message_stop" not in seen and b"message_start" not in seen:
                piece = sock.recv(65536)
                assert piece, seen
                seen += piece
            assert b"message_stop" not in seen
        time.sleep(0.3)
        gate.set()
        (line,) = run.lines(1)
        assert (line["status"], line["cut_off"], line["prompt_tokens"]) == (200, True, 31)


@contextlib.contextmanager
def socket_client(port: int, body: bytes, headers: dict[str, str]) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = f"POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{head}\r\n"
        sock.sendall(request.encode() + body)
        yield sock
    finally:
        sock.close()


def test_several_mitmdumps_append_to_one_file(tmp_path: Path) -> None:
    usage = Usage(input=50, output_steps=(5, 10))
    telemetry = tmp_path / "shared.jsonl"
    per_proxy = 25
    with FakeUpstream() as upstream:
        for n in range(3 * per_proxy):
            reply = stream_reply("claude-opus-5-5", usage, headers=[("request-id", f"req_{n:04d}")], seed=n)
            upstream.expect(f"k{n}", reply)
        proxies = [
            Mitmdump(
                upstream.url, confdir=tmp_path / f"conf{i}", output=tmp_path / f"out{i}", telemetry=telemetry
            ).__enter__()
            for i in range(3)
        ]
        try:
            with concurrent.futures.ThreadPoolExecutor(9) as pool:
                jobs = [
                    pool.submit(post, proxies[n % 3].port, request_body("m"), claude_headers(f"k{n}"))
                    for n in range(3 * per_proxy)
                ]
                answers = [job.result(60) for job in jobs]
            assert all(a.status == 200 and a.complete for a in answers)
            deadline = time.monotonic() + 15
            while telemetry.read_bytes().count(b"\n") < 3 * per_proxy and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            for proxy in proxies:
                proxy.stop()
    lines = telemetry.read_bytes().split(b"\n")
    assert lines[-1] == b""
    parsed = [json.loads(line) for line in lines[:-1]]
    assert sorted(line["trace_id"] for line in parsed) == [f"req_{n:04d}" for n in range(3 * per_proxy)]
    assert all(list(line) == KEYS and line["completion_tokens"] == 10 for line in parsed)


@pytest.mark.parametrize("blocker", ["directory in its place", "a file as its folder"])
def test_unwritable_telemetry_never_breaks_a_request(tmp_path: Path, blocker: str) -> None:
    """Root ignores permissions (this runs as root in places), so the blocks are ones root cannot write through."""
    if blocker == "directory in its place":
        telemetry = tmp_path / "telemetry.jsonl"
        telemetry.mkdir()
    else:
        (tmp_path / "plain-file").write_text("x")
        telemetry = tmp_path / "plain-file" / "telemetry.jsonl"
    usage = Usage(input=8, output_steps=(1, 2))
    with rig(tmp_path / "run", telemetry=telemetry) as run:
        run.upstream.expect("s", stream_reply("claude-opus-5-5", usage, seed=5))
        run.upstream.expect("p", json_reply("claude-opus-5-5", usage))
        for _ in range(3):
            streamed = post(run.proxy.port, request_body("m"), claude_headers("s"))
            plain = post(run.proxy.port, request_body("m", stream=False), claude_headers("p"))
            assert (streamed.status, streamed.complete, streamed.body) == (200, True, run.upstream.replies["s"].body)
            assert (plain.status, plain.body) == (200, run.upstream.replies["p"].body)
        run.proxy.stop()
        output = run.proxy.output.read_text()
        assert output.count("cannot append to") == 1, output
        assert "Traceback" not in output and "crashed" not in output


@pytest.mark.parametrize(
    ("option", "named"),
    [
        ("tracker_backends=glm", "tracker_backends: expected pattern=provider"),
        ("tracker_routes=glm=ftp://x", "tracker_routes: expected name=BASE_URL[@ENVVAR]"),
        ("tracker_routes=https://api.z.ai", "tracker_routes: expected name=BASE_URL[@ENVVAR]"),
        ("tracker_session_header=two words", "tracker_session_header: expected one header name"),
    ],
)
def test_a_malformed_option_stops_mitmdump_with_one_clear_line(tmp_path: Path, option: str, named: str) -> None:
    argv = Mitmdump("http://127.0.0.1:9", confdir=tmp_path / "c", output=tmp_path / "o", options=(option,)).argv
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert named in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_default_telemetry_path_follows_xdg_state_home(tmp_path: Path) -> None:
    usage = Usage(input=3, output_steps=(1,))
    state = tmp_path / "xdg-state"
    with FakeUpstream() as upstream:
        upstream.expect("p", json_reply("m", usage))
        with Mitmdump(
            upstream.url, confdir=tmp_path / "c", output=tmp_path / "o", env={"XDG_STATE_HOME": str(state)}
        ) as proxy:
            post(proxy.port, request_body("m", stream=False), claude_headers("p"))
            target = state / "git-tracker" / "proxy-telemetry.jsonl"
            deadline = time.monotonic() + 10
            while not target.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        assert json.loads(target.read_text())["prompt_tokens"] == 3
        assert target.stat().st_mode & 0o777 == 0o600


def test_addon_path_names_a_file_that_imports_no_gittracker() -> None:
    source = Path(addon_path()).read_text()
    assert Path(addon_path()).name == "addon.py"
    assert not re.search(r"^\s*(import|from)\s+gittracker", source, re.MULTILINE)


# ---------------------------------------------------------------------------------------------------- properties


def meter_after(chunks: list[bytes], encoding: str = "") -> tuple[tuple[Any, ...], list[bytes]]:
    meter = SseMeter(encoding)
    returned = [meter(chunk) for chunk in chunks]
    usage = meter.usage
    figures = (
        usage.model,
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.cache_creation_tokens,
        usage.cache_read_tokens,
        meter.started,
        meter.stopped,
        meter.failed,
    )
    return figures, returned


usages = st.builds(
    Usage,
    input=st.integers(0, 10**7),
    output_steps=st.lists(st.integers(0, 10**6), min_size=0, max_size=6).map(lambda xs: tuple(sorted(xs))),
    cache_creation=st.integers(0, 10**6),
    cache_read=st.integers(0, 10**7),
    start_output=st.integers(0, 5),
)


@given(
    usage=usages,
    text=st.text(max_size=60),
    seed=st.integers(0, 2**32),
    pieces=st.integers(1, 60),
    crlf=st.booleans(),
)
def test_any_chunking_of_a_stream_gives_the_same_usage(
    usage: Usage, text: str, seed: int, pieces: int, crlf: bool
) -> None:
    body = b"".join(sse_events("claude-x", usage, text or "x"))
    if crlf:
        body = body.replace(b"\n", b"\r\n")
    figures, returned = meter_after(odd_split(body, seed, pieces) if len(body) > 1 else [body])
    last = usage.output_steps[-1] if usage.output_steps else usage.start_output
    expected = ("claude-x", usage.input, last, usage.cache_creation, usage.cache_read, True, True, False)
    assert figures == expected
    assert b"".join(returned) == body


@given(usage=usages, seed=st.integers(0, 2**32), pieces=st.integers(1, 40))
def test_any_chunking_of_a_gzip_stream_gives_the_same_usage(usage: Usage, seed: int, pieces: int) -> None:
    body = b"".join(sse_events("glm-4.6", usage))
    packer = zlib.compressobj(wbits=31)
    packed = packer.compress(body) + packer.flush()
    figures, returned = meter_after(odd_split(packed, seed, pieces), "gzip")
    last = usage.output_steps[-1] if usage.output_steps else usage.start_output
    assert figures == ("glm-4.6", usage.input, last, usage.cache_creation, usage.cache_read, True, True, False)
    assert b"".join(returned) == packed


@given(chunks=st.lists(st.binary(max_size=300), max_size=20), encoding=st.sampled_from(["", "gzip", "deflate", "br"]))
def test_random_bytes_never_raise_and_pass_unchanged(chunks: list[bytes], encoding: str) -> None:
    meter = SseMeter(encoding)
    for chunk in chunks:
        assert meter(chunk) is chunk
    assert meter(b"") == b""


@given(
    lines=st.lists(
        st.sampled_from([b"event: message_start", b"event: message_delta", b"data: {", b"data: []", b"data: 1", b""])
        | st.binary(max_size=40).map(lambda b: b"data: " + b),
        max_size=30,
    )
)
def test_malformed_sse_never_raises(lines: list[bytes]) -> None:
    meter = SseMeter()
    data = b"\n".join(lines) + b"\n\n"
    assert meter(data) is data


def test_input_counts_sent_only_with_the_last_delta_are_counted() -> None:
    """Servers that send 0 input tokens in message_start and the totals in message_delta (as GLM's endpoint is
    said to) are counted from the delta; a delta that repeats smaller counts does not lower them."""
    start = {"type": "message_start", "message": {"model": "glm-4.6", "usage": {"input_tokens": 0, "output_tokens": 0}}}
    totals = {"input_tokens": 900, "cache_read_input_tokens": 40, "output_tokens": 7}
    late = [
        sse_event("message_start", start),
        sse_event("message_delta", {"type": "message_delta", "usage": {"output_tokens": 3}}),
        sse_event("message_delta", {"type": "message_delta", "usage": totals}),
        sse_event("message_stop", {"type": "message_stop"}),
    ]
    figures, _ = meter_after(late)
    assert figures == ("glm-4.6", 900, 7, 0, 40, True, True, False)
    repeated = [*sse_events("m", Usage(input=50, output_steps=(2,)))[:-1]]
    repeated.append(
        sse_event("message_delta", {"type": "message_delta", "usage": {"input_tokens": 0, "output_tokens": 4}})
    )
    repeated.append(sse_event("message_stop", {"type": "message_stop"}))
    figures, _ = meter_after(repeated)
    assert figures[1:3] == (50, 4)


def test_the_meter_skips_an_over_long_line_and_reads_on() -> None:
    usage = Usage(input=12, output_steps=(3,))
    events = sse_events("m", usage)
    huge = b"event: content_block_delta\ndata: " + b"x" * (3 << 20) + b"\n\n"
    stream = events[0] + huge + b"".join(events[1:])
    figures, _ = meter_after(odd_split(stream, 4, 30))
    assert figures == ("m", 12, 3, 0, 0, True, True, False)


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=12)


@given(pairs=st.lists(st.tuples(names, names), min_size=1, max_size=5))
def test_backends_round_trip(pairs: list[tuple[str, str]]) -> None:
    text = ",".join(f"{pattern}={provider}" for pattern, provider in pairs)
    assert parse_backends(text) == tuple(pairs)


@given(text=st.text(max_size=80))
def test_option_parsers_accept_or_name_the_shape(text: str) -> None:
    for parser, shape in ((parse_backends, "tracker_backends: expected"), (parse_routes, "tracker_routes: expected")):
        try:
            parser(text)
        except ValueError as error:
            assert str(error).startswith(shape) and "\n" not in str(error)


def test_routes_parse_the_documented_shape() -> None:
    (route,) = parse_routes("GLM=https://api.z.ai/api/anthropic/@ZAI_API_KEY")
    assert (route.name, route.base_url, route.env_key) == ("glm", "https://api.z.ai/api/anthropic", "ZAI_API_KEY")
    (plain,) = parse_routes("glm=http://127.0.0.1:8081")
    assert (plain.base_url, plain.env_key) == ("http://127.0.0.1:8081", None)


def test_one_line_per_flow_even_if_both_end_hooks_fired(tmp_path: Path) -> None:
    """mitmproxy promises `response` or `error`, not both; the addon does not count on it (a real flow object)."""
    from mitmproxy.test import tflow

    from gittracker.proxy.addon import Settings, Tracker, parse_backends

    tracker = Tracker()
    telemetry = tmp_path / "t.jsonl"
    tracker.settings = Settings(str(telemetry), "x-claude-code-session-id", parse_backends("haiku=haiku"), ())
    flow = tflow.tflow(resp=True)
    flow.request.method, flow.request.path = "POST", "/v1/messages?beta=true"
    tracker.request(flow)
    tracker.responseheaders(flow)
    tracker.response(flow)
    tracker.error(flow)
    tracker.response(flow)
    (line,) = [json.loads(text) for text in telemetry.read_text().splitlines()]
    assert (line["status"], line["latency_ms"], line["cut_off"]) == (200, 3000.0, False)


def test_capacity_keeps_a_window_only_when_both_numbers_parse() -> None:
    from mitmproxy.http import Headers

    from gittracker.proxy.addon import capacity

    prefix = "anthropic-ratelimit-unified-"
    measured = Headers(
        [
            (f"{prefix}5h-utilization".encode(), b"0.91"),
            (f"{prefix}5h-reset".encode(), b"1796037201.6"),
            (f"{prefix}7d-utilization".encode(), b"42%"),  # not a number: the window is dropped
            (f"{prefix}7d-reset".encode(), b"1796465601"),
        ]
    )
    assert capacity(measured) == {"five_hour": {"utilization": 0.91, "resets_at": 1796037201.6}, "status": None}
    assert capacity(Headers([(f"{prefix}status".encode(), b"rejected")])) == {"status": "rejected"}
    assert capacity(Headers([(b"request-id", b"req_1")])) is None


@given(text=st.text(max_size=400))
def test_clipped_strings_stay_within_200_json_characters(text: str) -> None:
    from gittracker.proxy.addon import clip

    clipped = clip(text)
    assert text.startswith(clipped)
    assert len(json.dumps(clipped)) - 2 <= 200
    assert clipped == text[: len(clipped)] and (len(clipped) == len(text) or len(json.dumps(text[:201])) - 2 > 200)
