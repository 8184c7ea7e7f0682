"""The addon half of bench_proxy.py: the latency and CPU the addon adds to each request a real mitmdump proxies.

Two mitmdumps run side by side in reverse-proxy mode in front of the same fake Anthropic upstream
(tests/proxytools.py), and requests alternate between them in a shuffled order:

- "addon": `mitmdump -s gittracker/proxy/addon.py --set tracker_telemetry=FILE`;
- "baseline": `mitmdump --set stream_large_bodies=1`, without the addon. A bare mitmdump would buffer every SSE
  answer until its end (it only streams bodies when told to), so it would be slower than the addon on streams and
  flatter it; `stream_large_bodies=1` makes it stream every body, as the addon streams SSE. That is the fair
  baseline: the difference is the addon's own work (the request hook, the SSE meter on each chunk, the line).

Each request is a Claude Code-shaped `POST /v1/messages?beta=true` (its headers, a ~50 KB JSON body) on a kept-alive
connection, timed from sending to the last body byte: a plain JSON answer and a streamed one (the whole SSE message,
split into odd-sized chunks). The target (issue 15): the addon adds under 5 ms p50 per request. The proxies' CPU
per request is read from /proc before and after (Linux), so the addon's cost shows even when latency hides it.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import Verdicts, arg_parser, fmt, machine_line, median, percentile, print_table, scratch_dir

from tests.proxytools import FakeUpstream, Mitmdump, Usage, json_reply, stream_reply

TARGET_ADDED_MS = 5.0
ARMS = ("baseline", "addon")
KINDS = ("plain", "stream")


def claude_request(kind: str) -> tuple[bytes, dict[str, str]]:
    filler = " ".join(f"line {n} of a file the agent read" for n in range(1600))  # ~50 KB, as a real turn
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 32000,
        "stream": kind == "stream",
        "system": [{"type": "text", "text": "You are an agent for Claude Code."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": filler}]}],
        "metadata": {"user_id": json.dumps({"device_id": "d" * 64, "account_uuid": "", "session_id": "s-1"})},
    }
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "claude-cli/2.1.332 (external, sdk-cli)",
        "X-Claude-Code-Session-Id": "b073cf51-8c58-45e2-a750-1e781923afe4",
        "x-claude-code-agent-id": "a86f8120a62981bc9",
        "anthropic-version": "2023-06-01",
        "x-api-key": "sk-ant-bench",
        "Accept-Encoding": "gzip, deflate, br, zstd",
        "x-test-reply": kind,
    }
    return json.dumps(body).encode(), headers


class Client:
    """One kept-alive connection to one proxy (reopened if the proxy closed it)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.connect()
        # headers and body leave as two writes: without this, Nagle holds the body for the proxy's delayed ACK
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def timed(self, body: bytes, headers: dict[str, str], expected: bytes) -> float:
        start = time.perf_counter_ns()
        self.connection.request("POST", "/v1/messages?beta=true", body=body, headers=headers)
        response = self.connection.getresponse()
        received = response.read()
        elapsed = (time.perf_counter_ns() - start) / 1e6
        if response.status != 200 or received != expected:
            raise SystemExit(f"bench: the proxy on port {self.port} answered {response.status}, {len(received)} bytes")
        if response.will_close:
            self.connection.close()
            self.connection = self._connect()
        return elapsed

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class Figures:
    """Per (arm, kind): the request times (ms); per arm: the proxy's CPU ms per request; the lines written."""

    times: dict[tuple[str, str], list[float]]
    cpu_ms_per_request: dict[str, float]
    lines_written: int
    requests_per_arm: int

    def p50(self, arm: str, kind: str) -> float:
        return median(self.times[(arm, kind)])

    def added_p50(self, kind: str) -> float:
        return self.p50("addon", kind) - self.p50("baseline", kind)


def measure(root: Path, requests: int, warmup: int = 10) -> Figures:
    """`requests` timed requests of each kind on each arm, interleaved in a shuffled order."""
    usage = Usage(input=1200, output_steps=(5, 11, 23, 40, 64, 90), cache_creation=300, cache_read=4000)
    telemetry = root / "telemetry.jsonl"
    with FakeUpstream() as upstream:
        upstream.expect("plain", json_reply("claude-haiku-4-5", usage))
        upstream.expect("stream", stream_reply("claude-haiku-4-5", usage, seed=11))
        proxies = {
            "addon": Mitmdump(upstream.url, confdir=root / "c1", output=root / "addon.out", telemetry=telemetry),
            "baseline": Mitmdump(
                upstream.url,
                confdir=root / "c2",
                output=root / "baseline.out",
                addon=False,
                options=("stream_large_bodies=1",),
            ),
        }
        for proxy in proxies.values():
            proxy.__enter__()
        try:
            return _run(proxies, upstream, requests, warmup, telemetry)
        finally:
            for proxy in proxies.values():
                proxy.stop()


def _run(proxies: dict[str, Mitmdump], upstream: FakeUpstream, requests: int, warmup: int, telemetry: Path) -> Figures:
    clients = {arm: Client(proxies[arm].port) for arm in ARMS}
    requests_of = {kind: claude_request(kind) for kind in KINDS}
    expected = {kind: upstream.replies[kind].body for kind in KINDS}
    plan = [(arm, kind) for arm in ARMS for kind in KINDS]
    for _ in range(warmup):
        for arm, kind in plan:
            clients[arm].timed(*requests_of[kind], expected[kind])
    times: dict[tuple[str, str], list[float]] = {pair: [] for pair in plan}
    cpu_before = {arm: proxies[arm].cpu_seconds for arm in ARMS}
    rng = random.Random(15)
    for _ in range(requests):
        rng.shuffle(plan)
        for arm, kind in plan:
            times[(arm, kind)].append(clients[arm].timed(*requests_of[kind], expected[kind]))
    cpu = {arm: (proxies[arm].cpu_seconds - cpu_before[arm]) * 1000 / (requests * len(KINDS)) for arm in ARMS}
    for client in clients.values():
        client.close()
    time.sleep(0.2)  # the last stream's line is written when its flow ends
    lines = telemetry.read_bytes().count(b"\n") if telemetry.exists() else 0
    return Figures(times, cpu, lines, requests * len(KINDS))


def report(figures: Figures, verdicts: Verdicts) -> None:
    rows = []
    for kind in KINDS:
        base, addon = figures.times[("baseline", kind)], figures.times[("addon", kind)]
        added = figures.added_p50(kind)
        verdict = verdicts.check(
            f"{kind}: the addon adds {added:.2f} ms p50 < {TARGET_ADDED_MS:g} ms", added < TARGET_ADDED_MS
        )
        rows.append(
            [
                kind,
                str(len(addon)),
                fmt(median(base)),
                fmt(median(addon)),
                fmt(percentile(base, 90)),
                fmt(percentile(addon, 90)),
                f"{median(addon) / median(base):.2f}x",
                fmt(added),
                f"< {TARGET_ADDED_MS:g}",
                verdict,
            ]
        )
    print_table(
        "wall time per request, ms (baseline: mitmdump --set stream_large_bodies=1, no addon)",
        ["answer", "n", "base p50", "addon p50", "base p90", "addon p90", "ratio", "added p50", "target", "verdict"],
        rows,
    )
    base_cpu, addon_cpu = figures.cpu_ms_per_request["baseline"], figures.cpu_ms_per_request["addon"]
    print_table(
        "proxy CPU per request (user + system of the mitmdump process, /proc), ms",
        ["arm", "cpu/request", "ratio"],
        [["baseline", fmt(base_cpu), "1.00x"], ["addon", fmt(addon_cpu), f"{addon_cpu / base_cpu:.2f}x"]],
    )
    written = figures.lines_written
    total = figures.requests_per_arm + 10 * len(KINDS)  # the warm-up requests are metered too
    print(f"\n  telemetry lines written by the addon: {written} of {total} requests")
    verdicts.check(f"one telemetry line per request through the addon ({written} of {total})", written == total)


def figures_for(quick: bool = False, requests: int | None = None) -> Figures:
    """The figures of one run (for bench_proxy.py): `requests` of each kind per arm (default 300; quick 40)."""
    with scratch_dir("gt-bench-proxy-addon-") as root:
        return measure(root, requests or (40 if quick else 300))


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench proxy addon")
    parser.add_argument(
        "--requests", type=int, default=None, help="timed requests of each kind per arm (300; quick 40)"
    )
    args = parser.parse_args(argv)
    requests = args.requests or (40 if args.quick else 300)
    verdicts = Verdicts()
    with scratch_dir("gt-bench-proxy-addon-", keep=args.keep) as root:
        print(f"bench_proxy (addon): {requests} requests of each kind per arm, interleaved (after 10 warm-up each)")
        print(f"  ({machine_line({})})")
        figures = measure(root, requests)
        report(figures, verdicts)
    return verdicts.summary(args.strict)


def as_json(figures: Figures) -> dict[str, Any]:
    """The figures as plain numbers (p50s, added p50s, CPU per request) for a merged report."""
    return {
        "p50_ms": {f"{arm}/{kind}": figures.p50(arm, kind) for arm in ARMS for kind in KINDS},
        "added_p50_ms": {kind: figures.added_p50(kind) for kind in KINDS},
        "cpu_ms_per_request": figures.cpu_ms_per_request,
        "requests_per_arm": figures.requests_per_arm,
    }


if __name__ == "__main__":
    raise SystemExit(main())
