"""A fake model server for the real `claude` and `codex` clients: Anthropic Messages or OpenAI Responses, over SSE.

Standard library only, run as a script inside the test's network namespace (see runner.py):

    python fakeserver.py --kind anthropic|openai --port 18080 --config C.json --log REQUESTS.jsonl --ready FILE \
        [--loopback-up]

C.json is read again at every request, so a test changes what the next answer carries by rewriting it:

    {"headers": {"name": "value"},                  # sent with every model answer
     "headers_sequence": [{...}, {...}],            # the nth model answer adds entry min(n, len - 1)
     "usage": {...},                                # token usage reported in each answer (defaults below)
     "tool_command": "env > out.txt",               # default command of a shell tool call
     "text": "Hello from the fake server"}          # the assistant's answer text

Answers follow the last user turn: a turn that is a tool result gets the final text "Tool finished"; a user prompt
holding the word RUN_TOOL gets a shell tool call (its command is the text between <<< and >>> in the prompt, else
`tool_command`); one holding SPAWN_AGENT gets a call of Claude Code's sub-agent tool `Agent`, whose prompt holds
SUBAGENT_TASK (answered with `text`); any other prompt gets `text`. Every request is appended to the log as one
JSON line: method, path, headers, the request body and the headers the answer carried (`sent_headers`, with its
`request-id`).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import re
import socket
import struct
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ANTHROPIC_USAGE = {"input_tokens": 123, "cache_creation_input_tokens": 6, "cache_read_input_tokens": 789}
ANTHROPIC_OUTPUT_TOKENS = 45
OPENAI_USAGE = {
    "input_tokens": 1234,
    "input_tokens_details": {"cached_tokens": 1000},
    "output_tokens": 56,
    "output_tokens_details": {"reasoning_tokens": 7},
    "total_tokens": 1290,
}
TOOL_FINISHED = "Tool finished"
COMMAND_IN_PROMPT = re.compile(r"<<<(.*?)>>>", re.DOTALL)


class State:
    """What every handler thread shares: the options, a lock and the count of model answers given."""

    def __init__(self, kind: str, config: Path, log: Path) -> None:
        self.kind = kind
        self.config_path = config
        self.log_path = log
        self.lock = threading.Lock()
        self.answers = 0

    def config(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.config_path.read_text())
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def next_headers(self, config: dict[str, Any]) -> dict[str, str]:
        with self.lock:
            number = self.answers
            self.answers += 1
        headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        sequence = config.get("headers_sequence") or []
        if sequence:
            headers.update({str(k): str(v) for k, v in sequence[min(number, len(sequence) - 1)].items()})
        return headers

    def record(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry) + "\n"
        with self.lock, self.log_path.open("a") as log:
            log.write(line)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _command_for(prompt: str, config: dict[str, Any]) -> str:
    found = COMMAND_IN_PROMPT.search(prompt)
    return found.group(1) if found else str(config.get("tool_command") or "true")


def anthropic_plan(body: dict[str, Any], config: dict[str, Any]) -> tuple[str, str]:
    """("tool", command) or ("text", answer) for a Messages request: follows its last user message."""
    users = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        return "text", str(config.get("text") or "Hello from the fake server")
    content = users[-1].get("content")
    if isinstance(content, list) and any(isinstance(p, dict) and p.get("type") == "tool_result" for p in content):
        return "text", TOOL_FINISHED
    prompt = _text_of(content)
    if "SUBAGENT_TASK" in prompt:  # a sub-agent's own prompt (below): answered in text, so it ends at once
        return "text", str(config.get("text") or "Hello from the fake server")
    if "SPAWN_AGENT" in prompt:
        return "agent", json.dumps(SUB_AGENT_CALL)
    if "RUN_TOOL" in prompt:
        return "tool", _command_for(prompt, config)
    return "text", str(config.get("text") or "Hello from the fake server")


# A prompt holding SPAWN_AGENT gets a call of Claude Code's sub-agent tool, `Agent`; the sub-agent's own requests
# then carry its id in the header x-claude-code-agent-id.
SUB_AGENT_CALL = {
    "description": "a sub-agent",
    "prompt": "SUBAGENT_TASK answer in one line",
    "subagent_type": "general-purpose",
    "run_in_background": False,
}


def openai_plan(body: dict[str, Any], config: dict[str, Any]) -> tuple[str, str]:
    """("tool", command) or ("text", answer) for a Responses request: follows its last input item."""
    items = [i for i in body.get("input") or [] if isinstance(i, dict)]
    relevant = [i for i in items if i.get("type", "message") != "message" or i.get("role") == "user"]
    if relevant and relevant[-1].get("type", "message").endswith("_output"):
        return "text", TOOL_FINISHED
    prompts = [i for i in relevant if i.get("role") == "user"]
    prompt = _text_of(prompts[-1].get("content")) if prompts else ""
    if "RUN_TOOL" in prompt:
        return "tool", _command_for(prompt, config)
    return "text", str(config.get("text") or "Hello from the fake server")


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def anthropic_events(body: dict[str, Any], plan: tuple[str, str], config: dict[str, Any]) -> list[bytes]:
    usage = dict(config.get("usage") or ANTHROPIC_USAGE)
    output_tokens = int(config.get("output_tokens") or ANTHROPIC_OUTPUT_TOKENS)
    message: dict[str, Any] = {
        "id": "msg_fake_" + uuid.uuid4().hex[:16],
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or "claude-fake",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    kind, value = plan
    if kind == "tool":
        block = {"type": "tool_use", "id": "toolu_fake_" + uuid.uuid4().hex[:12], "name": "Bash", "input": {}}
        arguments = json.dumps({"command": value, "description": "run a command"})
        delta = {"type": "input_json_delta", "partial_json": arguments}
        stop_reason = "tool_use"
    elif kind == "agent":
        block = {"type": "tool_use", "id": "toolu_fake_" + uuid.uuid4().hex[:12], "name": "Agent", "input": {}}
        delta = {"type": "input_json_delta", "partial_json": value}
        stop_reason = "tool_use"
    else:
        block = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": value}
        stop_reason = "end_turn"
    return [
        sse("message_start", {"type": "message_start", "message": message}),
        sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}),
        sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        ),
        sse("message_stop", {"type": "message_stop"}),
    ]


def anthropic_json(body: dict[str, Any], plan: tuple[str, str], config: dict[str, Any]) -> dict[str, Any]:
    """A whole (non-streaming) Messages answer, for the client's side requests."""
    usage = dict(config.get("usage") or ANTHROPIC_USAGE)
    return {
        "id": "msg_fake_" + uuid.uuid4().hex[:16],
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or "claude-fake",
        "content": [{"type": "text", "text": plan[1] if plan[0] == "text" else "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": int(config.get("output_tokens") or ANTHROPIC_OUTPUT_TOKENS)},
    }


def openai_events(body: dict[str, Any], plan: tuple[str, str], config: dict[str, Any]) -> list[bytes]:
    response_id = "resp_fake_" + uuid.uuid4().hex[:16]
    usage = dict(config.get("usage") or OPENAI_USAGE)
    kind, value = plan
    item_id = "item_fake_" + uuid.uuid4().hex[:12]
    if kind == "tool":
        tool = _shell_tool(body)
        if tool == "exec_command":
            arguments = json.dumps({"cmd": value})
        elif tool == "shell":
            arguments = json.dumps({"command": ["bash", "-lc", value]})
        else:
            arguments = json.dumps({"command": value})
        call_id = "call_" + uuid.uuid4().hex[:12]
        item: dict[str, Any] = {
            "type": "function_call",
            "id": item_id,
            "call_id": call_id,
            "name": tool,
            "arguments": arguments,
            "status": "completed",
        }
        added = {**item, "arguments": "", "status": "in_progress"}
        middle = [
            sse(
                "response.function_call_arguments.delta",
                {
                    "type": "response.function_call_arguments.delta",
                    "item_id": item_id,
                    "output_index": 0,
                    "delta": arguments,
                },
            )
        ]
    else:
        item = {
            "type": "message",
            "id": item_id,
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": value, "annotations": []}],
        }
        added = {**item, "content": [], "status": "in_progress"}
        middle = [
            sse(
                "response.output_text.delta",
                {
                    "type": "response.output_text.delta",
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": value,
                },
            )
        ]
    base = {"id": response_id, "object": "response", "model": body.get("model") or "gpt-fake"}
    return [
        sse("response.created", {"type": "response.created", "response": {**base, "status": "in_progress"}}),
        sse("response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "item": added}),
        *middle,
        sse("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}),
        sse(
            "response.completed",
            {"type": "response.completed", "response": {**base, "status": "completed", "usage": usage}},
        ),
    ]


def _shell_tool(body: dict[str, Any]) -> str:
    """The name of the shell tool the client offered (the name changes between Codex versions)."""
    names = [str(t.get("name")) for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name")]
    for preferred in ("shell_command", "exec_command", "shell"):
        if preferred in names:
            return preferred
    return "shell_command"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one answer per connection, ended by closing it: SSE needs no length
    state: State

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(raw or b"{}")
        except ValueError:
            return {"_raw": raw.decode(errors="replace")}
        return parsed if isinstance(parsed, dict) else {"_raw": parsed}

    def do_GET(self) -> None:
        self._entry({}, 404, {})
        self.send_response(404)
        self.end_headers()

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.end_headers()

    def do_POST(self) -> None:
        body = self._body()
        config = self.state.config()
        path = self.path.split("?")[0]
        if self.state.kind == "anthropic" and path == "/v1/messages":
            plan = anthropic_plan(body, config)
            if body.get("stream"):
                self._stream(body, config, anthropic_events(body, plan, config))
            else:
                self._json(body, config, anthropic_json(body, plan, config))
        elif self.state.kind == "anthropic" and path == "/v1/messages/count_tokens":
            self._json(body, config, {"input_tokens": 100}, model_answer=False)
        elif self.state.kind == "openai" and path == "/v1/responses":
            self._stream(body, config, openai_events(body, openai_plan(body, config), config))
        else:
            self._entry(body, 404, {})
            self.send_response(404)
            self.end_headers()

    def _entry(self, body: dict[str, Any], status: int, sent: dict[str, str]) -> None:
        self.state.record(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body": body,
                "status": status,
                "sent_headers": sent,
            }
        )

    def _stream(self, body: dict[str, Any], config: dict[str, Any], events: list[bytes]) -> None:
        headers = {"request-id": "req_fake_" + uuid.uuid4().hex[:12], **self.state.next_headers(config)}
        self._entry(body, 200, headers)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        for event in events:
            self.wfile.write(event)
            self.wfile.flush()

    def _json(
        self, body: dict[str, Any], config: dict[str, Any], answer: dict[str, Any], model_answer: bool = True
    ) -> None:
        headers = {"request-id": "req_fake_" + uuid.uuid4().hex[:12]}
        headers.update(self.state.next_headers(config) if model_answer else {})
        self._entry(body, 200, headers)
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def loopback_up() -> None:
    """Bring `lo` up in a fresh network namespace (what `ip link set lo up` does, without needing iproute2)."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(probe.fileno(), siocgifflags, request))[1]
        fcntl.ioctl(probe.fileno(), siocsifflags, struct.pack("16sH14x", b"lo", flags | iff_up))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kind", choices=("anthropic", "openai"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--ready", type=Path, required=True)
    parser.add_argument("--loopback-up", action="store_true", help="first bring lo up (fresh network namespace)")
    options = parser.parse_args()
    if options.loopback_up:
        loopback_up()
    Handler.state = State(options.kind, options.config, options.log)
    server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
    server.daemon_threads = True
    options.ready.write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
