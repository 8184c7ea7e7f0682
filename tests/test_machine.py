"""Who wrote what: each clone's machine id (``git config tracker.machine``), the ``machine`` every record of
schema 3 carries, the ``--machine``/``--agent`` filters and ``preview --by``, with real git, real clones and a
bare remote on disk."""

from __future__ import annotations

import getpass
import json
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gittracker.gitfiles import local_config_value
from gittracker.records import record_path
from gittracker.synth import ClaudeSpec, write_claude_transcripts
from tests.conftest import Sandbox
from tests.test_sync import clone, make_remote, sync

MACHINE_ID = re.compile(r"^[a-z2-7]{12}$")


def machine_of(box: Sandbox) -> str:
    return box.git("config", "--local", "--get-all", "tracker.machine").strip()


def forget_machine_as_an_older_version(box: Sandbox) -> None:
    """A clone set up by a version before machine ids: no ``tracker.machine``, nothing remembered."""
    box.git("config", "--local", "--unset-all", "tracker.machine")
    (box.path / ".git" / "tracker" / "machine").unlink(missing_ok=True)


def window(box: Sandbox, before: float, after: float, quality: float, agent: str = "main") -> None:
    env = {"AGENT_ID": agent}
    box.ok("start", "codex", "--used", f"{before:g}", env=env)
    box.commit(f"{agent}-{box.counter}.txt", env=env, lines=int(after - before))
    box.ok("end", "codex", "--used", f"{after:g}", env=env)
    box.ok("complete", "--outcome", "shipped", "--quality", f"{quality:g}", env=env)


def json_of(box: Sandbox, *args: str) -> Any:
    return json.loads(box.ok(*args, "--json"))


# -- the id ---------------------------------------------------------------------------------------------------


def test_init_gives_the_clone_a_random_id_that_names_neither_host_nor_user_and_stays(tracked: Sandbox) -> None:
    first = machine_of(tracked)
    assert MACHINE_ID.fullmatch(first), first
    private = {socket.gethostname().lower(), getpass.getuser().lower()}
    assert not any(name and (name in first or first in name) for name in private)
    tracked.ok("init")
    window(tracked, 10, 20, 0.9)
    assert machine_of(tracked) == first
    stamped = tracked.records()
    assert stamped and {record["machine"] for record in stamped} == {first}
    assert {record["schema_version"] for record in stamped} == {3}
    assert f"this clone is machine {first}" in tracked.ok("status")
    assert json_of(tracked, "status")["machine"] == first

    tracked.git("worktree", "add", "-q", "-b", "side", str(tracked.path.parent / "side"))
    side = Sandbox(tracked.path.parent / "side")
    assert json_of(side, "status")["machine"] == first  # the worktrees of a clone are one machine

    config = (tracked.path / ".git" / "config").read_bytes()
    tracked.ok("uninstall")
    assert b"machine" not in (tracked.path / ".git" / "config").read_bytes()
    assert config != (tracked.path / ".git" / "config").read_bytes()
    tracked.ok("init")
    assert machine_of(tracked) == first  # kept with the data while uninstalled


def test_another_clone_gets_another_id(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    ids = {machine_of(clone(tmp_path, remote, name)) for name in ("a", "b", "c")}
    assert len(ids) == 3


def test_a_clone_an_older_version_set_up_gets_its_id_when_it_first_writes(tracked: Sandbox) -> None:
    forget_machine_as_an_older_version(tracked)
    tracked.ok("log")  # reading writes nothing
    assert tracked.git("config", "--local", "--get-all", "tracker.machine", check=False) == ""
    window(tracked, 10, 20, 0.9)
    made = machine_of(tracked)
    assert MACHINE_ID.fullmatch(made)
    assert {record["machine"] for record in tracked.records()} == {made}


RACE = """
import sys, time
from gittracker.git import Repo
from gittracker.machine import ensure_machine
repo = Repo.discover(sys.argv[1])
start = float(sys.argv[2])
while time.time() < start:
    pass
print(ensure_machine(repo))
"""


def test_processes_racing_to_create_the_id_all_end_with_one(tracked: Sandbox) -> None:
    for _ in range(3):
        forget_machine_as_an_older_version(tracked)
        start = time.time() + 1.5
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", RACE, str(tracked.path), str(start)], stdout=subprocess.PIPE, text=True
            )
            for _ in range(8)
        ]
        answers = {racer.communicate(timeout=60)[0].strip() for racer in racers}
        assert all(racer.returncode == 0 for racer in racers)
        kept = tracked.git("config", "--local", "--get-all", "tracker.machine").split()
        assert len(kept) == 1 and answers == set(kept), (answers, kept)


# -- reading the config without git ---------------------------------------------------------------------------


def git_config_answer(config: Path) -> str | None:
    done = subprocess.run(
        ["git", "config", "--file", str(config), "--get", "tracker.machine"], capture_output=True, text=True
    )
    return done.stdout.rstrip("\n") if done.returncode == 0 else None


LINES = st.sampled_from(
    [
        "[core]",
        "\tbare = false",
        "[tracker]",
        "[Tracker]",
        '[tracker "x"]',
        "[tracker.sub]",
        "\tmachine = abcdefghijk2",
        "\tmachine=zzzzzzzzzzz7",
        "\tMACHINE = qqqqqqqqqqqq",
        "\tmachine",
        '\tmachine = "quoted"',
        "\tmachine = a # note",
        "\tother = 1 \\",
        "# machine = commented",
        "[include]",
        "\tpath = elsewhere",
        '[remote "origin"]',
        "\turl = /tmp/x",
        "[tracker] machine = inline",
        "",
    ]
)


@given(st.lists(LINES, max_size=12))
def test_the_config_read_without_git_agrees_with_git_or_says_it_cannot_tell(lines: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as where:
        config = Path(where) / "config"
        config.write_text("".join(line + "\n" for line in lines))
        known, value = local_config_value(where, "tracker", "machine")
        if known:
            assert value == git_config_answer(config), config.read_text()


# -- records --------------------------------------------------------------------------------------------------


def stored(kind: str, record_id: str, schema: int, **extra: Any) -> tuple[str, bytes]:
    body = {
        "id": record_id,
        "kind": kind,
        "ts": "2026-06-01T10:00:00.000Z",
        "schema_version": schema,
        "tool_version": "0.0.9",
        "source": "cli",
        "agent_id": "main",
        "code": "written-by-hand",
        "window_id": None,
        "detail": f"schema {schema}",
        **extra,
    }
    return record_path(record_id, kind), json.dumps(body).encode()


def test_schema_2_records_still_read_as_machine_unknown_and_schema_3_without_machine_is_skipped(
    tracked: Sandbox,
) -> None:
    old_id, bad_id = "01KT0000000000000000000001", "01KT0000000000000000000002"
    tracked.write_ledger_files(dict([stored("anomaly", old_id, 2), stored("anomaly", bad_id, 3)]))
    done = tracked.tracker("log", "--json")
    assert done.returncode == 0, done.stderr
    ids = [json.loads(line)["id"] for line in done.stdout.splitlines()]
    assert ids == [old_id]
    assert "machine" not in json.loads(done.stdout)  # shown as stored
    assert "1 ledger record skipped (1 invalid)" in done.stderr
    assert [json.loads(line)["id"] for line in tracked.ok("log", "--json", "--machine", "unknown").splitlines()] == [
        old_id
    ]
    assert tracked.ok("log", "--json", "--machine", machine_of(tracked)) == ""
    everything = tracked.ok("log", "--all", "--json").splitlines()
    assert [json.loads(line)["id"] for line in everything] == [old_id, bad_id]


def test_a_cache_entry_an_older_version_made_of_a_schema_3_record_without_machine_is_not_trusted(
    tracked: Sandbox,
) -> None:
    bad_id = "01KT0000000000000000000003"
    path, data = stored("anomaly", bad_id, 3)
    tracked.write_ledger_files({path: data})
    blob = tracked.git("rev-parse", f"tracker-ledger:{path}").strip()
    cache = tracked.path / ".git" / "tracker" / "cache" / "records.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({blob: json.loads(data)}))  # what a version before schema 3 cached: valid then
    done = tracked.tracker("log", "--json")
    assert done.returncode == 0 and done.stdout == "", done.stdout
    assert "1 ledger record skipped (1 invalid)" in done.stderr


def test_a_derived_records_id_leaves_out_who_wrote_it() -> None:
    from gittracker.records import Record

    body = {"code": "c", "window_id": None, "detail": "d"}
    one = Record.derived("anomaly", source="ingest", agent_id="a", machine="aaaaaaaaaaaa", ts=TS, **body)
    two = Record.derived("anomaly", source="cli", agent_id="b", machine="bbbbbbbbbbbb", ts=TS, **body)
    assert one.id == two.id and one.machine != two.machine
    three = Record.derived(
        "anomaly", source="ingest", agent_id="a", machine="aaaaaaaaaaaa", ts=TS, **{**body, "detail": "e"}
    )
    assert three.id != one.id


TS = "2026-06-01T10:00:00.000Z"


# -- filters --------------------------------------------------------------------------------------------------


def test_filters_choose_the_windows_of_one_agent_and_say_when_none_match(tracked: Sandbox) -> None:
    window(tracked, 10, 20, 0.9, agent="main")
    window(tracked, 20, 26, 0.5, agent="w2")
    window(tracked, 26, 40, 0.8, agent="w2")
    tracked.ok("start", "codex", "--used", "40", env={"AGENT_ID": "main"})
    records = tracked.records()
    mine = machine_of(tracked)

    for agent in ("main", "w2"):
        shown = [json.loads(line) for line in tracked.ok("log", "--json", "--agent", agent).splitlines()]
        assert shown == [record for record in records if record["agent_id"] == agent]
        report = json_of(tracked, "preview", "--agent", agent)["providers"]["codex"]
        closes = [r for r in records if r["kind"] == "window-close" and r["agent_id"] == agent]
        assert report["windows"] == len(closes)
        assert report["capacity_used"] == pytest.approx(sum(r["delta"] for r in closes))
        assert (
            json_of(tracked, "preview", "--agent", agent, "--machine", mine)["providers"]
            == json_of(tracked, "preview", "--agent", agent)["providers"]
        )

    assert list(json_of(tracked, "status", "--agent", "main")["agents"]) == ["main"]
    assert json_of(tracked, "status", "--agent", "w2")["agents"]["w2"]["open"] == []
    assert json_of(tracked, "status", "--machine", "aaaaaaaaaaaa")["agents"] == {}
    assert "no open windows matching --machine aaaaaaaaaaaa" in tracked.ok("status", "--machine", "aaaaaaaaaaaa")
    assert json_of(tracked, "preview", "--machine", "aaaaaaaaaaaa")["providers"] == {}
    assert tracked.ok("log", "--agent", "nobody").strip() == "no records match --agent nobody"

    by_agent = json_of(tracked, "preview", "--by", "agent")
    assert by_agent["by"] == "agent" and sorted(by_agent["groups"]) == ["main", "w2"]
    assert by_agent["groups"]["w2"]["providers"]["codex"]["windows"] == 2
    text = tracked.ok("preview", "--by", "agent")
    assert "== agent main ==" in text and "== agent w2 ==" in text

    for bad in (["--machine", "HOST-1"], ["--machine", "abc"], ["--agent", "../x"], ["--by", "host"]):
        done = tracked.tracker("preview", *bad)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr


# -- two clones, one remote -----------------------------------------------------------------------------------


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "filters"}


def test_two_clones_with_agent_main_stay_apart_and_preview_by_machine_gives_each_clones_own_numbers(
    tmp_path: Path,
) -> None:
    remote = make_remote(tmp_path)
    a, b = clone(tmp_path, remote, "a"), clone(tmp_path, remote, "b")
    a.git("checkout", "-q", "-b", "from-a")
    b.git("checkout", "-q", "-b", "from-b")
    for before, after, quality in ((10, 20, 0.9), (20, 26, 0.7), (26, 41, 0.8), (41, 45, 1.0)):
        window(a, before, after, quality)
    for before, after, quality in ((5, 30, 0.4), (30, 33, 0.9), (33, 52, 0.6)):
        window(b, before, after, quality)
    alone = {machine_of(box): json_of(box, "preview") for box in (a, b)}
    assert len(alone) == 2

    for box, branch in ((a, "from-a"), (b, "from-b")):
        box.git("push", "-q", "origin", branch)  # the commits, so both clones can count every window's lines
        sync(box)
    sync(a)
    a.git("fetch", "-q", "origin")

    both = json_of(a, "preview", "--by", "machine")
    assert sorted(both["groups"]) == sorted(alone)
    for machine, report in both["groups"].items():
        assert comparable(report) == comparable(alone[machine])
    assert json_of(a, "preview")["providers"]["codex"]["windows"] == 7  # together, neither lost
    agents = {record["agent_id"] for record in a.records("window-close")}
    assert agents == {"main"}


def test_two_clones_ingesting_the_same_logs_write_one_record_and_sync_reports_no_conflict(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    a, b = clone(tmp_path, remote, "a"), clone(tmp_path, remote, "b")
    claude = tmp_path / "claude"
    write_claude_transcripts(claude, ClaudeSpec(lines=300, days=2, start=datetime(2026, 6, 1, 8, tzinfo=UTC)))
    a.ok("ingest", "claude-logs", "--dir", str(claude))
    b.ok("ingest", "claude-logs", "--dir", str(claude), env={"AGENT_ID": "other"})
    usage_a = {r["id"]: r for r in a.records("usage")}
    usage_b = {r["id"]: r for r in b.records("usage")}
    assert usage_a and set(usage_a) == set(usage_b)  # one record each, at one path
    assert all(usage_a[key]["machine"] != usage_b[key]["machine"] for key in usage_a)

    sync(a)
    merged = sync(b)
    assert merged["conflicts"] == []
    assert merged["same_record"] == len(usage_a)
    assert merged["fetched"]["records"].get("usage", 0) == 0
    kept = {r["id"]: r["machine"] for r in b.records("usage")}
    again = sync(a)  # a takes b's merge: where the one kept is b's copy, a settles on it too, again no conflict
    assert again["conflicts"] == []
    assert again["same_record"] == sum(1 for key, machine in kept.items() if machine != usage_a[key]["machine"])
    assert {r["id"]: r["machine"] for r in a.records("usage")} == kept  # every clone keeps the same one
    assert sorted(kept) == sorted(usage_a)
    assert sync(b)["same_record"] == 0 and sync(a)["same_record"] == 0
