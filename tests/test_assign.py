"""`git tracker assign`: a counterbalanced, seeded, recorded plan (issue 16's acceptance), through the real CLI; the
expected plan is computed here from the documented rule (sha256 of ``seed:feature_id``), not by the program."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.test_sync import clone, make_remote, sync


def add_features(box: Sandbox, ids: list[str], size: float = 5) -> None:
    spec = box.path.parent / "spec.md"
    spec.write_text("Build the thing.\nIt has tests.\n")
    for feature_id in ids:
        box.ok("bank", "add", feature_id, "--title", f"feature {feature_id}", "--spec", str(spec), "--size", str(size))


def assign(box: Sandbox, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(box.ok("assign", *args, "--json"))
    return data


def expected_orders(ids: list[str], seed: int) -> tuple[dict[str, str], str | None]:
    """The documented rule, written out here: rank by sha256("seed:id"), first half AB, second half BA, an odd last
    one by the low bit of the first byte of sha256("seed:odd-one-out")."""
    ranked = sorted(ids, key=lambda f: hashlib.sha256(f"{seed}:{f}".encode()).hexdigest())
    half = len(ranked) // 2
    orders = dict.fromkeys(ranked[:half], "AB") | dict.fromkeys(ranked[half : 2 * half], "BA")
    odd = None
    if len(ranked) % 2:
        odd = ranked[-1]
        orders[odd] = "BA" if hashlib.sha256(f"{seed}:odd-one-out".encode()).digest()[0] & 1 else "AB"
    return orders, odd


TEN = [f"F-{n:02d}" for n in range(1, 11)]


def orders_of(plan: dict[str, Any]) -> dict[str, str]:
    return {row["feature_id"]: row["order"] for row in plan["features"]}


def test_seed_7_on_ten_features_is_five_ab_five_ba_the_same_every_time_and_in_another_clone(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    alice = clone(tmp_path, remote, "alice")
    add_features(alice, TEN)
    plan = assign(alice, "--seed", "7")
    assert plan["counts"] == {"AB": 5, "BA": 5} and plan["odd_one_out"] is None
    assert orders_of(plan) == expected_orders(TEN, 7)[0]
    for row in plan["features"]:
        a_then_b = ["codex", "glm"]
        assert row["providers"] == (a_then_b if row["order"] == "AB" else a_then_b[::-1])
    (stored,) = alice.records("assignment")
    assert stored["orders"] == orders_of(plan) and stored["seed"] == 7 and stored["providers"] == ["codex", "glm"]
    # The same seed again (a replan) gives the same plan; another seed another plan, still balanced.
    again = assign(alice, "--seed", "7", "--replan", "same seed, to check")
    assert orders_of(again) == orders_of(plan) and again["replaces"] == plan["record_id"]
    other = assign(alice, "--seed", "8", "--replan", "another seed")
    assert orders_of(other) != orders_of(plan) and other["counts"] == {"AB": 5, "BA": 5}
    assert orders_of(other) == expected_orders(TEN, 8)[0]
    # A second clone reads the plan in force after a sync, and makes the same plan from the same seed.
    sync(alice)
    bob = clone(tmp_path, remote, "bob")
    sync(bob)
    listed = json.loads(bob.ok("bank", "list", "--json"))
    assert listed["plan"]["record_id"] == other["record_id"]
    assert {row["feature_id"]: row["order"] for row in listed["features"]} == orders_of(other)
    assert orders_of(assign(bob, "--seed", "7", "--replan", "bob checks seed 7")) == orders_of(plan)


def test_an_odd_bank_names_its_odd_one_out(tracked: Sandbox) -> None:
    ids = TEN[:7]
    add_features(tracked, ids)
    plan = assign(tracked, "--seed", "3", "--providers", "glm,claude")
    orders, odd = expected_orders(ids, 3)
    assert plan["odd_one_out"] == odd and orders_of(plan) == orders
    assert sorted(plan["counts"].values()) == [3, 4]
    assert plan["providers"] == ["glm", "claude"]
    text = tracked.ok("bank", "list")
    assert f"plan {plan['record_id']}: seed 3, A=glm, B=claude" in text
    shown = tracked.ok("assign", "--seed", "3", "--providers", "glm,claude", "--replan", "the text")
    assert f"{odd} is the odd one out" in shown and "(odd one out)" in shown


def test_a_plan_in_force_is_not_replaced_without_replan_and_nothing_is_written(tracked: Sandbox) -> None:
    add_features(tracked, TEN[:4])
    first = assign(tracked, "--seed", "1")
    tip = tracked.git("rev-parse", "tracker-ledger")
    done = tracked.tracker("assign", "--seed", "2")
    assert done.returncode == 1 and "--replan" in done.stderr and len(done.stderr.splitlines()) == 1
    assert tracked.git("rev-parse", "tracker-ledger") == tip
    replanned = assign(tracked, "--seed", "2", "--replan", "F-05 joined the bank")
    assert replanned["replaces"] == first["record_id"] and replanned["reason"] == "F-05 joined the bank"


@pytest.mark.parametrize("count", [0, 1])
def test_an_empty_or_single_feature_bank_is_refused(tracked: Sandbox, count: int) -> None:
    add_features(tracked, TEN[:count])
    done = tracked.tracker("assign", "--seed", "7")
    assert done.returncode == 1 and "bank add" in done.stderr
    assert tracked.records("assignment") == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--seed", "-1"], "--seed"),
        (["--seed", "1.5"], "--seed"),
        (["--seed", "seven"], "--seed"),
        (["--seed", str(2**63)], "--seed"),
        (["--seed", "7", "--providers", "codex,codex"], "--providers"),
        (["--seed", "7", "--providers", "codex"], "--providers"),
        (["--seed", "7", "--providers", "codex,gpt"], "--providers"),
        (["--seed", "7", "--providers", "codex,glm,claude"], "--providers"),
        (["--seed", "7", "--replan", " "], "--replan"),
    ],
)
def test_bad_seed_or_providers_is_one_line_exit_2_nothing_written(
    tracked: Sandbox, args: list[str], named: str
) -> None:
    add_features(tracked, TEN[:2])
    tip = tracked.git("rev-parse", "tracker-ledger")
    done = tracked.tracker("assign", *args)
    assert done.returncode == 2, done.stderr
    assert named in done.stderr and len(done.stderr.splitlines()) == 1
    assert tracked.git("rev-parse", "tracker-ledger") == tip


def test_a_plan_written_between_reading_the_bank_and_writing_makes_assign_read_again_and_refuse(
    tracked: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal stands on the ledger it read: another writer's plan landing in between is seen, not doubled."""
    from gittracker.context import open_context
    from gittracker.errors import Refused
    from gittracker.experiment import actions

    add_features(tracked, TEN[:4])
    ctx, other = open_context(tracked.path), open_context(tracked.path)
    reads: list[Any] = []
    read = actions._live

    def read_then_another_writer(context: Any) -> Any:
        live = read(context)
        if context is ctx:
            reads.append(live)
            if len(reads) == 1:  # right after our first read, another process writes its plan
                actions.assign(other, "8")
        return live

    monkeypatch.setattr(actions, "_live", read_then_another_writer)
    with pytest.raises(Refused, match="a plan is in force"):
        actions.assign(ctx, "7")
    assert len(reads) == 2  # read, lost the tip, read again
    plans = [line for line in tracked.ok("log", "--kind", "assignment", "--json").splitlines() if line]
    assert [json.loads(line)["seed"] for line in plans] == [8]


def test_six_assign_at_once_write_one_plan(tracked: Sandbox) -> None:
    import subprocess

    from tests.conftest import tracker_command

    add_features(tracked, TEN[:4])
    runs = [
        subprocess.Popen([*tracker_command(), "assign", "--seed", str(seed)], cwd=tracked.path, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for seed in range(6)
    ]  # fmt: skip
    codes = sorted(run.wait(timeout=120) for run in runs)
    assert codes == [0, 1, 1, 1, 1, 1]
    plans = [line for line in tracked.ok("log", "--kind", "assignment", "--json").splitlines() if line]
    assert len(plans) == 1
