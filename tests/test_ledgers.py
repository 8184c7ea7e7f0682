"""checkpoint and export: records from history, CSVs with a stable header and RFC 4180 quoting."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from gittracker.ledgers import CHURN_COLUMNS, TOKEN_CHURN_COLUMNS
from tests.conftest import Sandbox


def test_checkpoints_record_churn_so_far(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10", "--feature", 'F-1, "quoted"')
    tracked.ok("checkpoint", "--phase", "plan")
    tracked.commit(lines=4)
    mid = json.loads(tracked.ok("checkpoint", "--phase", "mid", "--json"))
    assert (mid["added"], mid["commits"], mid["phase"]) == (4, 1, "mid")
    tracked.commit(lines=6)
    tracked.ok("end", "codex", "--used", "30")
    final = json.loads(tracked.ok("checkpoint", "--phase", "final", "--json"))
    assert (final["added"], final["files"], final["commits"]) == (10, 2, 2)
    assert final["commit"] == tracked.head()
    assert [r["phase"] for r in tracked.records("checkpoint")] == ["plan", "mid", "final"]
    assert tracked.tracker("checkpoint", "--phase", "later").returncode == 2


def test_exports_are_rfc4180_with_stable_columns(tracked: Sandbox, tmp_path: Path) -> None:
    tracked.ok("start", "claude", "--used", "10", "--feature", 'F-1, "quoted"')
    tracked.commit(lines=5)
    tracked.ok("checkpoint", "--phase", "mid")
    tracked.ok("end", "claude", "--used", "18")
    tracked.ok("complete", "--outcome", "shipped", "--quality", "0.9")
    tracked.ok("start", "claude", "--used", "18")
    tracked.ok("end", "claude", "--used", "12")  # negative delta: empty capacity, error listed

    churn_file = tmp_path / "Churn_Ledger.csv"
    tracked.ok("export", "churn", "--out", str(churn_file))
    raw = churn_file.read_bytes().decode()
    assert tracked.ok("export", "churn").replace("\n", "\r\n") == raw  # stdout: same rows (newlines as text)
    assert raw.startswith(",".join(CHURN_COLUMNS) + "\r\n")
    assert '"F-1, ""quoted"""' in raw  # RFC 4180: quotes doubled inside a quoted field
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert len(rows) == 2
    first, second = rows
    assert (first["capacity_delta"], first["outcome"], first["added"], first["commits"]) == ("8.0", "shipped", "5", "1")
    assert first["feature_id"] == 'F-1, "quoted"'
    assert (second["capacity_delta"], second["errors"], second["outcome"]) == ("", "negative-delta", "")
    assert [row["meter"] for row in rows] == ["five_hour", "five_hour"] and CHURN_COLUMNS[-1] == "meter"

    out = tmp_path / "Token_Churn_Ledger.csv"
    handoff = tmp_path / "SESSION_HANDOFF.md"
    handoff.write_text("# Hand-off\n")
    tracked.ok("export", "token-churn", "--out", str(out), "--handoff", str(handoff))
    text = out.read_bytes().decode()
    assert text.startswith(",".join(TOKEN_CHURN_COLUMNS) + "\r\n")
    (row,) = csv.DictReader(io.StringIO(text, newline=""))
    assert (row["phase"], row["added"], row["tokens"]) == ("mid", "5", "")
    assert handoff.read_text() == f"# Hand-off\n- Token_Churn_Ledger.csv: `{out}`\n"
    bad = tracked.tracker("export", "token-churn", "--handoff", str(handoff))
    assert bad.returncode == 2
