"""Checkpoints and the CSV ledgers (``Token_Churn_Ledger.csv``, ``Churn_Ledger.csv``).

The CSVs are views of the ledger branch, written with a header, a stable column order and RFC 4180
quoting (``\\r\\n`` line ends, fields quoted only when needed), so spreadsheets and scripts can rely on
them across versions: new columns are only ever appended at the end.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from gittracker.capacity import window_meter
from gittracker.records import Record, live_records

TOKEN_CHURN_COLUMNS = (
    "checkpoint_id",
    "ts",
    "agent_id",
    "window_id",
    "provider",
    "phase",
    "commit",
    "tokens",
    "added",
    "deleted",
    "files",
    "commits",
)
CHURN_COLUMNS = (
    "window_id",
    "provider",
    "agent_id",
    "opened_ts",
    "closed_ts",
    "commit_start",
    "commit_end",
    "capacity_delta",
    "unit",
    "errors",
    "outcome",
    "quality_score",
    "feature_id",
    "methodology",
    "added",
    "deleted",
    "files",
    "commits",
    "churn_selection",
    "meter",
)
LEDGER_NAMES = {"token-churn": "Token_Churn_Ledger.csv", "churn": "Churn_Ledger.csv"}


def _csv(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(row.get(key)) for key in columns})
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def token_churn_csv(records: Sequence[Record]) -> str:
    rows = [
        {"checkpoint_id": r.id, "ts": r.ts, "agent_id": r.agent_id, **r.body}
        for r in live_records(records)
        if r.kind == "checkpoint"
    ]
    return _csv(TOKEN_CHURN_COLUMNS, rows)


def churn_csv(
    records: Sequence[Record],
    churn_of: Callable[[str, str | None, str | None], dict[str, int] | None],
    selection: str,
) -> str:
    """One row per closed window; its churn from ``churn_of(window_id, commit_start, commit_end)`` (empty
    cells when unknown), with ``churn_selection`` saying which commits it counts (noted or range)."""
    alive = live_records(records)
    opened = {r["window_id"]: r.ts for r in alive if r.kind == "window-open"}
    done = {r["window_id"]: r for r in alive if r.kind == "completion"}
    closes = {r["window_id"]: r for r in alive if r.kind == "window-close"}
    rows = []
    for window_id, close in closes.items():
        completion = done.get(window_id)
        churn = churn_of(window_id, close["commit_start"], close["commit_end"]) or {}
        rows.append(
            {
                "window_id": window_id,
                "provider": close["provider"],
                "agent_id": close.agent_id,
                "opened_ts": opened.get(window_id, close["opened_ts"]),
                "closed_ts": close.ts,
                "commit_start": close["commit_start"],
                "commit_end": close["commit_end"],
                "capacity_delta": close["delta"],
                "unit": close["unit"],
                "meter": window_meter(close.body),
                "errors": close["errors"],
                "outcome": completion["outcome"] if completion else None,
                "quality_score": completion["quality_score"] if completion else None,
                "feature_id": (
                    completion["feature_id"] if completion and completion["feature_id"] else close["feature_id"]
                ),
                "methodology": close["methodology"],
                **churn,
                "churn_selection": selection,
            }
        )
    return _csv(CHURN_COLUMNS, rows)
