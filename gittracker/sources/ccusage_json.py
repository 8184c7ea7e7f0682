"""Reports from ``ccusage … --json`` as usage totals (``ingest ccusage``).

Accepted: the per-agent reports (ccusage 18 ``daily|session|blocks``; ccusage 20 ``claude …`` and
``codex …``), keyed ``daily``/``sessions``/``blocks`` with a ``date`` or ``sessionId`` per row, and the
unified reports of ccusage 19+ (``daily``/``session`` rows with ``period``, ``agent`` and
``metadata.agents``). A unified row that mixes several agents is only accepted with its per-agent
breakdown (``--by-agent``), because a total over Claude and Codex together is no one provider's usage.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from gittracker import clock
from gittracker.errors import BadInput
from gittracker.records import PROVIDERS, reject_constant

EXPECTED = (
    "JSON from `ccusage daily|session|blocks --json` ({daily: [{date|period, inputTokens, outputTokens, "
    "cacheCreationTokens, cacheReadTokens, totalTokens, …}], totals} or {sessions: […]} or {blocks: […]})"
)
AGENTS = {"claude": "claude", "codex": "codex"}
Row = tuple[dict[str, Any], str]  # (usage fields, as-of timestamp)


def parse_report(text: str, *, provider: str | None = None) -> list[Row]:
    """Usage bodies (without origin, scope and stamp) and their as-of times; BadInput on anything else."""
    if provider is not None and provider not in PROVIDERS:
        raise BadInput(f"--provider: expected one of {', '.join(PROVIDERS)}, got {provider!r}")
    try:
        data = json.loads(text, parse_constant=reject_constant)
    except (ValueError, RecursionError) as error:
        raise BadInput(f"ccusage: expected {EXPECTED} ({str(error).splitlines()[0]})") from None
    if data == []:
        return []  # ccusage 18 prints a bare [] when it found nothing
    if not isinstance(data, dict):
        raise BadInput(f"ccusage: expected {EXPECTED}, got a JSON {type(data).__name__}")
    for key, granularity in (("daily", "day"), ("sessions", "session"), ("session", "session"), ("blocks", "block")):
        if key in data:
            rows = data[key]
            if not isinstance(rows, list):
                raise BadInput(f"ccusage: {key}: expected a list of rows")
            return list(_rows(key, granularity, rows, provider))
    raise BadInput(
        f"ccusage: expected {EXPECTED}; found keys {', '.join(json.dumps(key) for key in sorted(data))[:200] or 'none'}"
    )


def _rows(key: str, granularity: str, rows: list[Any], provider: str | None) -> Iterator[Row]:
    for index, row in enumerate(rows):
        where = f"ccusage: {key}[{index}]"
        if not isinstance(row, dict):
            raise BadInput(f"{where}: expected an object")
        if granularity == "block":
            if row.get("isGap") is True:
                continue
            yield _block(row, where, provider or "claude")
            continue
        if "agent" in row:
            yield from _unified(row, where, granularity, provider)
            continue
        yield _per_agent(row, where, granularity, provider or _guess(row))


def _guess(row: dict[str, Any]) -> str:
    return "codex" if "reasoningOutputTokens" in row else "claude"


def _per_agent(row: dict[str, Any], where: str, granularity: str, provider: str) -> Row:
    if granularity == "day":
        period = _day(row.get("date"), f"{where}.date")
        as_of = f"{period}T00:00:00Z"
    else:
        period = _label(row.get("sessionId"), f"{where}.sessionId")
        as_of = _as_of(row.get("lastActivity"), f"{where}.lastActivity")
    body = _tokens(row, where)
    project = row.get("projectPath")
    body.update(
        provider=provider,
        granularity=granularity,
        period=period,
        project=project if isinstance(project, str) and project and project != "Unknown Project" else None,
        branch=None,
        models=_models(row),
    )
    return body, as_of


def _unified(row: dict[str, Any], where: str, granularity: str, provider: str | None) -> Iterator[Row]:
    if granularity == "day":
        period = _day(row.get("period"), f"{where}.period")
        as_of = f"{period}T00:00:00Z"
    else:
        period = _label(row.get("period"), f"{where}.period")
        meta = row.get("metadata")
        as_of = _as_of(meta.get("lastActivity") if isinstance(meta, dict) else None, f"{where}.metadata.lastActivity")
    breakdown = row.get("agents")
    if isinstance(breakdown, list):
        parts = [(part, f"{where}.agents[{i}]") for i, part in enumerate(breakdown)]
    else:
        parts = [(row, where)]
    for part, place in parts:
        if not isinstance(part, dict):
            raise BadInput(f"{place}: expected an object")
        agent = _agent_of(part, row, place)
        if agent is None or (provider is not None and agent != provider):
            continue  # an agent git-tracker does not compare (OpenCode, Amp, …), or not the one asked for
        body = _tokens(part, place)
        body.update(
            provider=agent, granularity=granularity, period=period, project=None, branch=None, models=_models(part)
        )
        yield body, as_of


def _agent_of(part: dict[str, Any], row: dict[str, Any], where: str) -> str | None:
    agent = part.get("agent")
    if agent == "all":
        meta = row.get("metadata")
        agents = meta.get("agents") if isinstance(meta, dict) else None
        if not (isinstance(agents, list) and agents and all(isinstance(a, str) for a in agents)):
            raise BadInput(f"{where}.metadata.agents: expected the list of agents in an 'all' row")
        if len(agents) > 1:
            raise BadInput(
                f"{where}: mixes {', '.join(agents)}; expected one agent per row (run ccusage with --by-agent, "
                "or `ccusage claude daily --json`)"
            )
        agent = agents[0]
    if not isinstance(agent, str):
        raise BadInput(f"{where}.agent: expected an agent name")
    return AGENTS.get(agent)


def _block(row: dict[str, Any], where: str, provider: str) -> Row:
    start = _as_of(row.get("startTime"), f"{where}.startTime")
    counts = row.get("tokenCounts")
    if not isinstance(counts, dict):
        raise BadInput(f"{where}.tokenCounts: expected an object of token counts")
    names = {
        "inputTokens": "inputTokens",
        "outputTokens": "outputTokens",
        "cacheCreationTokens": "cacheCreationInputTokens",
        "cacheReadTokens": "cacheReadInputTokens",
    }
    flat = {ours: counts.get(theirs) for ours, theirs in names.items()}
    flat["totalTokens"] = row.get("totalTokens")
    flat["totalCost"] = row.get("costUSD")
    body = _tokens(flat, where)
    end = row.get("actualEndTime")
    as_of = _as_of(end, f"{where}.actualEndTime") if end else start
    body.update(
        provider=provider,
        granularity="block",
        period=start,
        project=None,
        branch=None,
        models=[m for m in row.get("models", []) if isinstance(m, str) and m != "<synthetic>"],
    )
    return body, as_of


def _tokens(row: dict[str, Any], where: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for ours, theirs in (
        ("input_tokens", "inputTokens"),
        ("output_tokens", "outputTokens"),
        ("cache_creation_tokens", "cacheCreationTokens"),
        ("cache_read_tokens", "cacheReadTokens"),
    ):
        value = row.get(theirs, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BadInput(f"{where}.{theirs}: expected a whole number >= 0, got {json.dumps(value)[:40]}")
        body[ours] = value
    total = row.get("totalTokens")
    if total is None:
        total = sum(body.values())
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise BadInput(f"{where}.totalTokens: expected a whole number >= 0, got {json.dumps(total)[:40]}")
    body["total_tokens"] = total
    cost = row.get("totalCost", row.get("costUSD"))
    if cost is not None and (not isinstance(cost, int | float) or isinstance(cost, bool) or not 0 <= cost < 1e12):
        raise BadInput(f"{where}.totalCost: expected a cost >= 0, got {json.dumps(cost)[:40]}")
    body["cost_usd"] = round(float(cost), 6) if cost is not None else None
    return body


def _models(row: dict[str, Any]) -> list[str]:
    models = row.get("modelsUsed", row.get("models", []))
    names = list(models) if isinstance(models, dict | list) else []
    return sorted({name for name in names if isinstance(name, str) and name and "\n" not in name})


def _day(value: Any, where: str) -> str:
    if isinstance(value, str):
        try:
            return datetime.strptime(value, "%Y-%m-%d").strftime("%Y-%m-%d")
        except ValueError:
            pass
    raise BadInput(f"{where}: expected a day YYYY-MM-DD, got {json.dumps(value)[:40]}")


def _label(value: Any, where: str) -> str:
    if isinstance(value, str) and value and "\n" not in value and len(value) <= 4096:
        return value
    raise BadInput(f"{where}: expected a session id, got {json.dumps(value)[:40]}")


def _as_of(value: Any, where: str) -> str:
    """A row's time: an ISO-8601 time, or a bare day (ccusage 18's lastActivity) taken as its start, UTC."""
    if isinstance(value, str):
        try:
            return clock.format_ts(datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC))
        except ValueError:
            pass
        try:
            return clock.format_ts(clock.parse_ts(value, where))
        except BadInput:
            pass
    raise BadInput(f"{where}: expected an ISO-8601 time, got {json.dumps(value)[:40]}")
