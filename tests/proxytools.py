"""A fake Anthropic upstream and a real `mitmdump` in front of it, for the proxy addon's tests and bench.

The upstream plays scripted replies: the client names one with the request header `x-test-reply`, and the reply
says exactly what goes on the wire (status, headers, body pieces written and flushed one by one, chunked or not,
gzip or not, cut off after a piece, held back until the test opens a gate). So a test knows what was sent and
can compare every telemetry field with it. Not a test module.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from gittracker.proxy import addon_path

REPLY_HEADER = "x-test-reply"
LISTENING = re.compile(r"listening at [^ ]*:(\d+)\.")


# ---------------------------------------------------------------------------------------------------- replies


@dataclass
class Reply:
    """One scripted answer. `parts` are written and flushed one at a time (a chunk each when chunked)."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    parts: list[bytes] = field(default_factory=list)
    framing: str = "length"  # length | chunked | close (read until the connection closes)
    pause: float = 0.0  # seconds between parts
    cut_after: int | None = None  # close the socket after this many parts (no terminating chunk)
    gate: threading.Event | None = None  # wait for it after the first part
    gzip: bool = False  # the body gzip-compressed (flushed per part), whatever the request accepted

    @property
    def body(self) -> bytes:
        """What a client receives when the reply is complete (decoded)."""
        return b"".join(self.parts)


@dataclass(frozen=True)
class Usage:
    input: int
    output_steps: tuple[int, ...]  # cumulative message_delta output counts
    cache_creation: int = 0
    cache_read: int = 0
    start_output: int = 1  # message_start's output_tokens


def capacity_headers(
    five: tuple[str, str] | None, seven: tuple[str, str] | None, status: str | None
) -> list[tuple[str, str]]:
    headers = []
    for short, pair in (("5h", five), ("7d", seven)):
        if pair is not None:
            headers.append((f"anthropic-ratelimit-unified-{short}-utilization", pair[0]))
            headers.append((f"anthropic-ratelimit-unified-{short}-reset", pair[1]))
    if status is not None:
        headers.append(("anthropic-ratelimit-unified-status", status))
    return headers


def sse_event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def sse_events(model: str, usage: Usage, text: str = "Hello there, friend.") -> list[bytes]:
    """A whole Anthropic message stream: message_start, text deltas with cumulative message_deltas, message_stop."""
    start_usage = {
        "input_tokens": usage.input,
        "cache_creation_input_tokens": usage.cache_creation,
        "cache_read_input_tokens": usage.cache_read,
        "output_tokens": usage.start_output,
    }
    message = {
        "id": "msg_x",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "usage": start_usage,
    }
    events = [sse_event("message_start", {"type": "message_start", "message": message})]
    events.append(
        sse_event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        )
    )
    events.append(sse_event("ping", {"type": "ping"}))
    words = text.split(" ")
    for step, output in enumerate(usage.output_steps):
        piece = " ".join(words[step :: len(usage.output_steps)])
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
        events.append(sse_event("content_block_delta", delta))
        events.append(
            sse_event(
                "message_delta",
                {"type": "message_delta", "delta": {"stop_reason": None}, "usage": {"output_tokens": output}},
            )
        )
    events.append(sse_event("content_block_stop", {"type": "content_block_stop", "index": 0}))
    events.append(sse_event("message_stop", {"type": "message_stop"}))
    return events


def odd_split(data: bytes, seed: int, pieces: int = 12) -> list[bytes]:
    """`data` cut at random places (inside lines, inside `\\n\\n`, inside multi-byte characters)."""
    cuts = sorted(random.Random(seed).sample(range(1, len(data)), min(pieces, len(data) - 1)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def stream_reply(
    model: str,
    usage: Usage,
    *,
    headers: Sequence[tuple[str, str]] = (),
    seed: int = 1,
    pause: float = 0.0,
    text: str = "Hello there, friend.",
) -> Reply:
    body = b"".join(sse_events(model, usage, text))
    return Reply(
        headers=[("content-type", "text/event-stream; charset=utf-8"), *headers],
        parts=odd_split(body, seed),
        framing="chunked",
        pause=pause,
    )


def json_reply(model: str, usage: Usage, *, headers: Sequence[tuple[str, str]] = (), text: str = "Hi.") -> Reply:
    body = {
        "id": "msg_plain",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "usage": {
            "input_tokens": usage.input,
            "cache_creation_input_tokens": usage.cache_creation,
            "cache_read_input_tokens": usage.cache_read,
            "output_tokens": usage.output_steps[-1],
        },
    }
    return Reply(headers=[("content-type", "application/json"), *headers], parts=[json.dumps(body).encode()])


def error_reply(status: int = 529, *, headers: Sequence[tuple[str, str]] = ()) -> Reply:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    return Reply(
        status=status, headers=[("content-type", "application/json"), *headers], parts=[json.dumps(body).encode()]
    )


# ---------------------------------------------------------------------------------------------------- the upstream


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client the test cut off on purpose: the write's broken pipe is expected


class FakeUpstream:
    """A threaded HTTP/1.1 server on 127.0.0.1 (a free port) that plays the reply each request names."""

    def __init__(self) -> None:
        self.replies: dict[str, Reply] = {}
        self.received: list[Received] = []
        self.finished: dict[str, float] = {}  # reply key -> time.time() when its last byte was written
        self._lock = threading.Lock()
        self.server = QuietServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def expect(self, key: str, reply: Reply) -> str:
        self.replies[key] = reply
        return key

    def requests_for(self, key: str) -> list[Received]:
        return [request for request in self.received if request.header(REPLY_HEADER) == key]

    def __enter__(self) -> FakeUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for reply in self.replies.values():
            if reply.gate is not None:
                reply.gate.set()
        self.server.shutdown()
        self.server.server_close()

    def record(self, request: Received) -> None:
        with self._lock:
            self.received.append(request)


def _handler(upstream: FakeUpstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # each piece leaves when written (no 40 ms wait for the proxy's ACK)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            upstream.record(Received(self.command, self.path, list(self.headers.items()), body))
            key = self.headers.get(REPLY_HEADER, "")
            reply = upstream.replies.get(key) or Reply(status=404, parts=[b'{"type":"error"}'])
            self._play(reply)
            upstream.finished[key] = time.time()

        def _play(self, reply: Reply) -> None:
            parts = reply.parts
            if reply.gzip:
                packer = zlib.compressobj(wbits=31)
                parts = [packer.compress(part) + packer.flush(zlib.Z_SYNC_FLUSH) for part in parts]
                parts[-1] += packer.flush()
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            if reply.gzip:
                self.send_header("content-encoding", "gzip")
            if reply.framing == "length":
                self.send_header("content-length", str(sum(map(len, parts))))
            elif reply.framing == "chunked":
                self.send_header("transfer-encoding", "chunked")
            else:
                self.send_header("connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.flush()
            for index, part in enumerate(parts):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part) if reply.framing == "chunked" else part)
                self.wfile.flush()
                if reply.cut_after is not None and index + 1 >= reply.cut_after:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if index == 0 and reply.gate is not None:
                    reply.gate.wait(30)
                if reply.pause:
                    time.sleep(reply.pause)
            if reply.framing == "chunked":
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

    return Handler


# ---------------------------------------------------------------------------------------------------- mitmdump


def mitmdump_program() -> str:
    beside = Path(sys.executable).parent / "mitmdump"
    found = str(beside) if beside.exists() else shutil.which("mitmdump")
    if not found:
        raise RuntimeError("mitmdump not found: install git-tracker's test extra (it brings mitmproxy)")
    return found


class Mitmdump:
    """A real `mitmdump` in reverse-proxy mode in front of `upstream`, with the addon (unless `addon=False`).

    Its output (every connection it logs) goes to `output`; its CA and state to `confdir`.
    """

    def __init__(
        self,
        upstream: str,
        *,
        confdir: Path,
        output: Path,
        telemetry: Path | None = None,
        addon: bool = True,
        options: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = [
            mitmdump_program(),
            "--mode",
            f"reverse:{upstream}",
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            "0",
            "--set",
            f"confdir={confdir}",
            "--flow-detail",
            "0",
        ]
        if addon:
            self.argv += ["-s", addon_path()]
        if telemetry is not None:
            self.argv += ["--set", f"tracker_telemetry={telemetry}"]
        for option in options:
            self.argv += ["--set", option]
        self.output = output
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def __enter__(self) -> Mitmdump:
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        self.port = self._wait_for_port(20.0)
        return self

    def _wait_for_port(self, timeout: float) -> int:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output.read_text(errors="replace")
            if "error in script" in text:
                break  # mitmdump may still open its port, then exits: the addon did not load
            found = LISTENING.search(text)
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mitmdump did not start listening: {self.output.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def cpu_seconds(self) -> float:
        """The process's user + system CPU so far (Linux /proc; fields 14 and 15 of stat, in clock ticks)."""
        assert self.process is not None
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------------- the client


@dataclass
class Answer:
    """What the client saw: status, headers, the body pieces with their arrival times, how it ended."""

    status: int
    headers: dict[str, str]
    pieces: list[tuple[float, bytes]]
    complete: bool
    sent_at: float

    @property
    def body(self) -> bytes:
        return b"".join(piece for _, piece in self.pieces)


def post(
    port: int,
    body: bytes,
    headers: dict[str, str],
    *,
    path: str = "/v1/messages?beta=true",
    method: str = "POST",
    on_first_piece: threading.Event | None = None,
) -> Answer:
    """One request on a new connection; the body is read as it arrives (each recv with its time)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        sent_at = time.time()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        pieces: list[tuple[float, bytes]] = []
        complete = True
        try:
            while piece := response.read1(65536):
                pieces.append((time.time(), piece))
                if on_first_piece is not None:
                    on_first_piece.set()
        except (http.client.IncompleteRead, ConnectionError):
            complete = False
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, pieces, complete, sent_at)
    finally:
        connection.close()


def ungzip(data: bytes) -> bytes:
    return gzip.decompress(data)


def files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (path for path in root.rglob("*") if path.is_file())
