"""git-tracker's mitmproxy addon: one telemetry line per Anthropic-compatible `POST …/v1/messages` (docs/proxy.md).

Run it with `mitmdump -s PATH --set tracker_telemetry=FILE` (PATH: this file; docs/proxy.md). It runs inside
mitmproxy's own Python, which may not have git-tracker installed, so it imports only the standard library and
mitmproxy. Streamed (SSE) answers pass through chunk by chunk while a small parser reads the usage from them; the
line is written when the flow ends (`response`) or fails (`error`), never both. Nothing the addon does may slow or
break the proxied request: every failure of its own ends in a log line, never in the flow.

The line's fields and their rules are the telemetry contract documented in docs/proxy.md.
"""

# No `from __future__ import annotations`: mitmproxy runs this file without registering it in sys.modules, and
# @dataclass then fails on string annotations (it looks the module up to resolve ClassVar / KW_ONLY).
import contextlib
import json
import logging
import math
import os
import re
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader

log = logging.getLogger("git-tracker.proxy")

DEFAULT_SESSION_HEADER = "x-claude-code-session-id"
AGENT_HEADER = "x-claude-code-agent-id"
DEFAULT_BACKENDS = "glm=glm,bigmodel=glm,z.ai=glm,haiku=haiku"
FALLBACK_PROVIDER = "anthropic"
MAX_STRING = 200  # every string in a line is cut to this: a line stays far under 4 KiB, one atomic append
METADATA_KEY = "git-tracker"
MAX_LINE_TAIL = 1 << 20  # an SSE line longer than this is skipped, not buffered: usage events are small
CAPACITY_PREFIX = "anthropic-ratelimit-unified-"
CAPACITY_WINDOWS = (("five_hour", "5h"), ("seven_day", "7d"))
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The stream events whose data the meter decodes; every other event (the many content_block_delta) is skipped.
USAGE_EVENTS = frozenset({"message_start", "message_delta", "message_stop"})


# ---------------------------------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Route:
    """Requests whose model names this route go to `base_url` (+ the request's path), with `env_key`'s key if set."""

    name: str
    base_url: str
    env_key: str | None


def parse_backends(text: str) -> tuple[tuple[str, str], ...]:
    """`pattern=provider,…` → ((pattern, provider), …), lower-cased; ValueError naming the expected shape."""
    pairs = []
    for item in _items(text):
        pattern, sep, provider = item.partition("=")
        pattern, provider = pattern.strip().lower(), provider.strip().lower()
        if not sep or not pattern or not provider or "=" in provider:
            raise ValueError(f"tracker_backends: expected pattern=provider,… (e.g. {DEFAULT_BACKENDS}), got {item!r}")
        pairs.append((pattern, provider))
    return tuple(pairs)


def parse_routes(text: str) -> tuple[Route, ...]:
    """`name=BASE_URL[@ENVVAR],…` → routes; ValueError naming the expected shape."""
    shape = "tracker_routes: expected name=BASE_URL[@ENVVAR],… (e.g. glm=https://api.z.ai/api/anthropic@ZAI_API_KEY)"
    routes = []
    for item in _items(text):
        name, sep, target = item.partition("=")
        name, target = name.strip().lower(), target.strip()
        env_key = None
        base, at, tail = target.rpartition("@")
        if at and ENV_NAME.fullmatch(tail):
            target, env_key = base, tail
        parts = urlsplit(target)
        if not sep or not name or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{shape}, got {item!r}")
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError(f"{shape} (a base URL without query, fragment or user), got {item!r}")
        routes.append(Route(name, target.rstrip("/"), env_key))
    return tuple(routes)


def parse_header_name(text: str) -> str:
    """One HTTP header name (an RFC 9110 token), lower-cased; ValueError naming the expected shape."""
    name = text.strip()
    if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
        shape = f"tracker_session_header: expected one header name (e.g. {DEFAULT_SESSION_HEADER})"
        raise ValueError(f"{shape}, got {text!r}")
    return name.lower()


def default_telemetry_path() -> str:
    """`$XDG_STATE_HOME/git-tracker/proxy-telemetry.jsonl`, else under `~/.local/state` (read in the proxy)."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "git-tracker", "proxy-telemetry.jsonl")


def _items(text: str) -> list[str]:
    return [item for item in (part.strip() for part in text.split(",")) if item]


@dataclass(frozen=True)
class Settings:
    telemetry: str
    session_header: str
    backends: tuple[tuple[str, str], ...]
    routes: tuple[Route, ...]


# ---------------------------------------------------------------------------------------------------- the stream


@dataclass
class Usage:
    """What a response said about itself: the model and the token counts (0 when never seen)."""

    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0

    def take_start(self, usage: Any) -> None:
        """Input and cache tokens (and a first output count) from `message_start.message.usage` or a plain body."""
        if not isinstance(usage, dict):
            return
        self.prompt_tokens = _count(usage.get("input_tokens"), self.prompt_tokens)
        self.completion_tokens = _count(usage.get("output_tokens"), self.completion_tokens)
        self.cache_creation_tokens = _count(usage.get("cache_creation_input_tokens"), self.cache_creation_tokens)
        self.cache_read_tokens = _count(usage.get("cache_read_input_tokens"), self.cache_read_tokens)

    def take_delta(self, usage: Any) -> None:
        """`message_delta.usage` counts are cumulative: the last output count is the total (summing double counts).

        Newer servers also repeat the input and cache counts there, and some Anthropic-compatible ones (GLM's) are
        said to send 0 input tokens in `message_start` and the real count only here; being totals, the larger of
        the two is the count."""
        if not isinstance(usage, dict):
            return
        self.completion_tokens = _count(usage.get("output_tokens"), self.completion_tokens)
        self.prompt_tokens = max(self.prompt_tokens, _count(usage.get("input_tokens"), 0))
        self.cache_creation_tokens = max(
            self.cache_creation_tokens, _count(usage.get("cache_creation_input_tokens"), 0)
        )
        self.cache_read_tokens = max(self.cache_read_tokens, _count(usage.get("cache_read_input_tokens"), 0))


def _count(value: Any, otherwise: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return otherwise


class SseMeter:
    """The `flow.response.stream` callable: reads usage from an SSE body as it passes, returns every chunk as is.

    Chunk boundaries are arbitrary (a line or a multi-byte character may be split anywhere), so the unfinished
    last line is kept until the next chunk. mitmproxy does not catch exceptions raised here: one would drop the
    chunk or, on the final call, hang the client until the inactivity timeout. So the whole body of `__call__`
    is guarded, and a meter that failed once stops reading (the stream itself is never touched).
    Lines end in LF or CRLF (what Anthropic and compatible servers send); a lone-CR stream is passed on unread.
    """

    def __init__(self, content_encoding: str = "") -> None:
        self.usage = Usage()
        self.started = False
        self.stopped = False
        self.readable = True
        self.failed = False
        self._tail = b""
        self._skipping_line = False
        self._event = ""
        self._data: list[bytes] = []
        self._inflate: Any = None
        encoding = content_encoding.strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)  # | 32: accepts a gzip or a zlib header
        elif encoding not in ("", "identity"):
            self.readable = False  # br, zstd, …: not in the standard library; the tokens stay unknown

    def __call__(self, chunk: bytes) -> bytes:
        try:
            if self.readable and not self.failed:
                self.feed(chunk)
        except Exception:  # the stream must pass whatever the meter thinks of it
            self.failed = True
        return chunk

    def feed(self, chunk: bytes) -> None:
        if self._inflate is not None:
            chunk = self._decompressed(chunk)
        self._read_lines(chunk)

    def _decompressed(self, chunk: bytes) -> bytes:
        out = [self._inflate.decompress(chunk, MAX_LINE_TAIL)]
        while self._inflate.unconsumed_tail:
            out.append(self._inflate.decompress(self._inflate.unconsumed_tail, MAX_LINE_TAIL))
        return b"".join(out)

    def _read_lines(self, chunk: bytes) -> None:
        lines = chunk.split(b"\n")
        if self._tail:
            lines[0] = self._tail + lines[0]
        self._tail = lines.pop()
        for line in lines:
            if self._skipping_line:
                self._skipping_line = False  # the rest of an over-long line ends here
                continue
            self._read_line(line[:-1] if line.endswith(b"\r") else line)
        if len(self._tail) > MAX_LINE_TAIL:
            self._tail, self._skipping_line = b"", True

    def _read_line(self, line: bytes) -> None:
        if not line:
            self._dispatch()
        elif line.startswith(b"data:"):
            if not self._event or self._event in USAGE_EVENTS:
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
        elif line.startswith(b"event:"):
            self._event = line[6:].strip().decode("utf-8", "replace")

    def _dispatch(self) -> None:
        event, data = self._event, self._data
        self._event, self._data = "", []
        if not data:
            return
        payload = json.loads(b"\n".join(data))
        if not isinstance(payload, dict):
            return
        kind = payload.get("type", event)
        if kind == "message_start":
            message = payload.get("message")
            if isinstance(message, dict):
                self.started = True
                if isinstance(message.get("model"), str):
                    self.usage.model = message["model"]
                self.usage.take_start(message.get("usage"))
        elif kind == "message_delta":
            self.usage.take_delta(payload.get("usage"))
        elif kind == "message_stop":
            self.stopped = True


class ChainedStream:
    """Our meter in front of a stream callable another addon set: we read what the upstream sent, then hand on."""

    def __init__(self, meter: SseMeter, then: Callable[[bytes], Iterable[bytes] | bytes]) -> None:
        self.meter, self.then = meter, then

    def __call__(self, chunk: bytes) -> Iterable[bytes] | bytes:
        return self.then(self.meter(chunk))


# ---------------------------------------------------------------------------------------------------- one flow


@dataclass
class FlowState:
    """What the addon keeps about one metered flow until its line is written (in `flow.metadata`)."""

    route: str | None = None
    meter: SseMeter | None = None
    written: bool = False
    body: dict[str, Any] | None = None  # the request's JSON, parsed only when needed (it can be megabytes)

    def request_body(self, flow: http.HTTPFlow) -> dict[str, Any]:
        if self.body is None:
            self.body = request_body(flow)
        return self.body


def is_metered(flow: http.HTTPFlow) -> bool:
    request = flow.request
    return request.method == "POST" and request.path.partition("?")[0].endswith("/v1/messages")


def request_body(flow: http.HTTPFlow) -> dict[str, Any]:
    """The request's JSON object, or {} (not JSON, not an object, compressed beyond reading)."""
    try:
        body = json.loads(flow.request.get_content(strict=False) or b"")
    except (ValueError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}


def session_from_body(body: dict[str, Any]) -> str | None:
    """Claude Code's `metadata.user_id` is a JSON string holding the session id."""
    metadata = body.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if not isinstance(user_id, str):
        return None
    try:
        inner = json.loads(user_id)
    except ValueError:
        return None
    session = inner.get("session_id") if isinstance(inner, dict) else None
    return session if isinstance(session, str) and session else None


def capacity(headers: http.Headers) -> dict[str, Any] | None:
    """The subscription's rate-limit windows from the `anthropic-ratelimit-unified-*` headers; None when absent."""
    found: dict[str, Any] = {}
    seen = False
    for key, short in CAPACITY_WINDOWS:
        utilization = headers.get(f"{CAPACITY_PREFIX}{short}-utilization")
        reset = headers.get(f"{CAPACITY_PREFIX}{short}-reset")
        seen = seen or utilization is not None or reset is not None
        util_value, reset_value = _number(utilization), _number(reset)
        if util_value is not None and reset_value is not None:
            found[key] = {"utilization": util_value, "resets_at": reset_value}
    status = headers.get(f"{CAPACITY_PREFIX}status")
    if not seen and status is None:
        return None
    found["status"] = clip(status) if status is not None else None
    return found


def _number(text: str | None) -> int | float | None:
    """A header's number as sent (an integral one as int); None when it is not a finite number."""
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def clip(text: str) -> str:
    """At most MAX_STRING characters, counted as JSON writes them (a non-ASCII one may take six)."""
    text = text[:MAX_STRING]
    if text.isascii() and '"' not in text and "\\" not in text and text.isprintable():
        return text
    budget, kept = MAX_STRING, []
    for char in text:
        budget -= len(json.dumps(char)) - 2
        if budget < 0:
            break
        kept.append(char)
    return "".join(kept)


def clip_or_none(text: Any) -> str | None:
    return clip(text) if isinstance(text, str) else None


def provider_for(backends: tuple[tuple[str, str], ...], host: str, model: str | None) -> str:
    """The first pattern found in the upstream host, else the first found in the model, else anthropic."""
    for subject in (host.lower(), (model or "").lower()):
        for pattern, provider in backends:
            if pattern in subject:
                return provider
    return FALLBACK_PROVIDER


def iso_millis(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------------- the addon


class Tracker:
    """The addon: options, the hooks, and the one-line append."""

    def __init__(self) -> None:
        self.settings = Settings(
            telemetry=default_telemetry_path(),
            session_header=DEFAULT_SESSION_HEADER,
            backends=parse_backends(DEFAULT_BACKENDS),
            routes=(),
        )
        self.write_failures = 0
        self.addon_failures = 0
        self._warned: set[str] = set()

    # ---- options

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "tracker_telemetry",
            str,
            "",
            "git-tracker: the JSON-lines file each metered request is appended to "
            "(default $XDG_STATE_HOME/git-tracker/proxy-telemetry.jsonl, else ~/.local/state/git-tracker/…).",
        )
        loader.add_option(
            "tracker_session_header",
            str,
            DEFAULT_SESSION_HEADER,
            "git-tracker: the request header holding the session id.",
        )
        loader.add_option(
            "tracker_backends",
            str,
            DEFAULT_BACKENDS,
            "git-tracker: pattern=provider,… matched against the upstream host, then the model (else anthropic).",
        )
        loader.add_option(
            "tracker_routes",
            str,
            "",
            "git-tracker: name=BASE_URL[@ENVVAR],… sends a request whose model contains name to BASE_URL, "
            "with the key from ENVVAR.",
        )

    def configure(self, updated: set[str]) -> None:
        if not updated & {"tracker_telemetry", "tracker_session_header", "tracker_backends", "tracker_routes"}:
            return
        options = ctx.options
        try:
            backends = parse_backends(options.tracker_backends)
            routes = parse_routes(options.tracker_routes)
            header = parse_header_name(options.tracker_session_header)
        except ValueError as error:
            # Not `raise exceptions.OptionsError`: from a script mitmproxy prints that with a whole traceback. An
            # error logged while starting makes mitmdump exit ("Error logged during startup") with just this line;
            # later (an option set in mitmweb) the value is refused and the settings before it stay.
            log.error("git-tracker: %s", error)
            return
        telemetry = options.tracker_telemetry.strip()
        path = os.path.abspath(os.path.expanduser(telemetry)) if telemetry else default_telemetry_path()
        self.settings = Settings(path, header, backends, routes)
        self._make_parent()

    # ---- hooks (each guarded: a failure of the addon is a log line, the flow goes on)

    def request(self, flow: http.HTTPFlow) -> None:
        if not is_metered(flow):
            return
        try:
            state = FlowState()
            flow.metadata[METADATA_KEY] = state
            # Ask for an uncompressed answer: the stream callable sees the body before mitmproxy decodes it, and
            # br/zstd (which Claude Code offers) are not in the standard library. The proxy sits next to the
            # client, so the identity encoding costs nothing where it matters (the upstream leg is unchanged size
            # for SSE, which is mostly small events).
            flow.request.headers["accept-encoding"] = "identity"
            if self.settings.routes:
                self._route(flow, state)
        except Exception as error:
            self._addon_failed("request", error)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        state = flow.metadata.get(METADATA_KEY)
        if not isinstance(state, FlowState) or flow.response is None:
            return
        try:
            response = flow.response
            if "text/event-stream" not in response.headers.get("content-type", "").lower():
                return  # plain JSON and errors stay buffered: read whole in `response`
            meter = SseMeter(response.headers.get("content-encoding", ""))
            state.meter = meter
            earlier = response.stream
            response.stream = ChainedStream(meter, earlier) if callable(earlier) else meter
        except Exception as error:
            self._addon_failed("responseheaders", error)

    def response(self, flow: http.HTTPFlow) -> None:
        self._finish(flow, errored=False)

    def error(self, flow: http.HTTPFlow) -> None:
        self._finish(flow, errored=True)

    # ---- steps

    def _route(self, flow: http.HTTPFlow, state: FlowState) -> None:
        model = state.request_body(flow).get("model")
        if not isinstance(model, str):
            return
        route = next((route for route in self.settings.routes if route.name in model.lower()), None)
        if route is None:
            return
        flow.request.url = route.base_url + flow.request.path
        state.route = route.name
        if route.env_key is None:
            return
        key = os.environ.get(route.env_key)
        if not key:
            self._warn_once(f"env:{route.env_key}", f"route {route.name}: ${route.env_key} is not set; key unchanged")
            return
        flow.request.headers["x-api-key"] = key
        flow.request.headers.pop("authorization", None)

    def _finish(self, flow: http.HTTPFlow, *, errored: bool) -> None:
        state = flow.metadata.get(METADATA_KEY)
        if not isinstance(state, FlowState) or state.written:
            return
        state.written = True
        try:
            line = self.line(flow, state, errored=errored)
        except Exception as error:
            self._addon_failed("line", error)
            return
        self._append(line)

    def line(self, flow: http.HTTPFlow, state: FlowState, *, errored: bool) -> bytes:
        """The telemetry line for a finished flow (field order and rules: docs/proxy.md)."""
        request, response = flow.request, flow.response
        usage, cut_off = self._usage(flow, state, errored=errored)
        model = usage.model
        if model is None:
            asked = state.request_body(flow).get("model")
            model = asked if isinstance(asked, str) else None
        session = request.headers.get(self.settings.session_header) or session_from_body(state.request_body(flow))
        ended = (response.timestamp_end if response is not None and not errored else None) or time.time()
        status = response.status_code if response is not None else 0
        trace = response.headers.get("request-id") if response is not None else None
        provider = state.route or provider_for(self.settings.backends, request.host, model)
        record = {
            "timestamp": iso_millis(request.timestamp_start),
            "session_id": clip_or_none(session),
            "subagent_id": clip_or_none(request.headers.get(AGENT_HEADER) or None),
            "backend_provider": clip(provider),
            "model": clip_or_none(model),
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cache_creation_tokens": usage.cache_creation_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
            "latency_ms": round(max(0.0, (ended - request.timestamp_start) * 1000), 1),
            "status": status,
            "trace_id": clip(trace) if trace else f"gt_{uuid.uuid4().hex}",
            "cut_off": cut_off,
            "capacity": capacity(response.headers) if response is not None else None,
        }
        return (json.dumps(record, separators=(",", ":")) + "\n").encode()

    def _usage(self, flow: http.HTTPFlow, state: FlowState, *, errored: bool) -> tuple[Usage, bool]:
        """The response's usage, and whether a 2xx answer ended before its end."""
        response = flow.response
        if response is None:
            return Usage(), False
        success = 200 <= response.status_code < 300
        meter = state.meter
        if meter is not None:
            # a stream is complete only with its message_stop; one we could not read is judged by the hook alone
            unfinished = errored or (meter.readable and not meter.failed and not meter.stopped)
            return meter.usage, success and unfinished
        usage = Usage()
        if not errored and not response.stream:
            try:
                body = json.loads(response.get_content(strict=False) or b"")
            except (ValueError, TypeError):
                body = None
            if isinstance(body, dict):
                usage.model = body.get("model") if isinstance(body.get("model"), str) else None
                usage.take_start(body.get("usage"))
        return usage, success and errored

    # ---- writing

    def _append(self, line: bytes) -> None:
        """One `write` of the whole line on an O_APPEND descriptor: concurrent proxies' lines never interleave
        on a local filesystem. Any failure is counted and logged once; the proxied flow never sees it."""
        path = self.settings.telemetry
        try:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except FileNotFoundError:
                self._make_parent()
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                written = os.write(fd, line)
            finally:
                os.close(fd)
            if written != len(line):
                raise OSError(f"short write: {written} of {len(line)} bytes")
        except OSError as error:
            self.write_failures += 1
            self._warn_once("write", f"cannot append to {path}: {error} (requests still pass; lines are lost)")

    def _make_parent(self) -> None:
        with contextlib.suppress(OSError):  # reported by the first failed append
            os.makedirs(os.path.dirname(self.settings.telemetry), exist_ok=True)

    def _addon_failed(self, where: str, error: Exception) -> None:
        self.addon_failures += 1
        self._warn_once(f"failed:{where}", f"addon error in {where}: {type(error).__name__}: {error}")

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("git-tracker: %s", message)


addons = [Tracker()]
