"""The task bank through the real CLI: `bank add|list|show|status`, the status that follows the windows, the size
rule, `start --feature`'s warnings against the plan, and gate G2 of `decide`."""

from __future__ import annotations

import hashlib
import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from gittracker.records import MAX_SPEC_BYTES
from tests.conftest import Sandbox

SPEC = "# F\n\nAdd the widget.\nÜnïcode is fine.\n"


def spec_file(box: Sandbox, text: str = SPEC, name: str = "spec.md") -> Path:
    path = box.path.parent / name
    path.write_text(text, encoding="utf-8")
    return path


def add(box: Sandbox, feature_id: str, size: float = 5, *extra: str) -> dict[str, Any]:
    spec = spec_file(box)
    out = box.ok(
        "bank",
        "add",
        feature_id,
        "--title",
        f"title {feature_id}",
        "--spec",
        str(spec),
        "--size",
        str(size),
        *extra,
        "--json",
    )
    data: dict[str, Any] = json.loads(out)
    return data


def listing(box: Sandbox) -> dict[str, dict[str, Any]]:
    return {row["feature_id"]: row for row in json.loads(box.ok("bank", "list", "--json"))["features"]}


def window(box: Sandbox, provider: str, feature: str, outcome: str | None = "shipped") -> dict[str, Any]:
    """One window on the feature through start, a commit, end and (unless None) complete; start's JSON."""
    meter = ["--prompts", "1"] if provider == "glm" else ["--used", "10"]
    opened: dict[str, Any] = json.loads(box.ok("start", provider, *meter, "--feature", feature, "--json"))
    box.commit()
    box.ok("end", provider, *(["--prompts", "3"] if provider == "glm" else ["--used", "20"]))
    if outcome is not None:
        box.ok("complete", "--outcome", outcome, "--quality", "0.8")
    return opened


# -- bank add, list, show -----------------------------------------------------------------------------------


def test_add_stores_the_spec_and_its_digest_and_show_gives_it_back(tracked: Sandbox) -> None:
    added = add(tracked, "F-01", 3.5)
    (record,) = tracked.records("feature")
    assert record["spec"] == SPEC and record["spec_sha256"] == hashlib.sha256(SPEC.encode()).hexdigest()
    assert record["size"] == 3.5 and record["title"] == "title F-01" and added["record_id"] == record["id"]
    shown = json.loads(tracked.ok("bank", "show", "F-01", "--json"))
    assert shown["spec"] == SPEC and shown["status"] == "ready" and shown["status_origin"] == "added"
    assert shown["windows"] == [] and [e["status"] for e in shown["history"]] == ["ready"]
    assert "Add the widget." in tracked.ok("bank", "show", "F-01")


def test_a_second_add_of_an_id_is_refused_and_replace_appends_a_newer_version(tracked: Sandbox) -> None:
    first = add(tracked, "F-01", 3)
    tip = tracked.git("rev-parse", "tracker-ledger")
    done = tracked.tracker("bank", "add", "F-01", "--title", "again", "--spec", str(spec_file(tracked)), "--size", "4")
    assert done.returncode == 1 and "--replace" in done.stderr and len(done.stderr.splitlines()) == 1
    assert tracked.git("rev-parse", "tracker-ledger") == tip
    tracked.ok("bank", "status", "F-01", "blocked-tooling")
    second = add(tracked, "F-01", 4, "--replace")
    assert second["replaced"] == first["record_id"]
    assert len(tracked.records("feature")) == 2  # nothing edited: both versions stay on the ledger
    row = listing(tracked)["F-01"]
    assert row["size"] == 4 and row["record_id"] == second["record_id"]
    assert row["status"] == "blocked-tooling"  # a new version of the text is no new status


def test_the_size_rule_warns_marks_and_counts_against_the_median(tracked: Sandbox) -> None:
    sizes = {"F-01": 4, "F-02": 5, "F-03": 6, "F-04": 13, "F-05": 2.4}
    warned = {}
    for feature_id, size in sizes.items():
        done = tracked.tracker(
            "bank", "add", feature_id, "--title", "t", "--spec", str(spec_file(tracked)), "--size", str(size)
        )
        assert done.returncode == 0, done.stderr
        warned[feature_id] = "warning:" in done.stderr
    # Computed here: the median over the bank as each was added (none below three features).
    for count, feature_id in enumerate(sizes, start=1):
        so_far = list(sizes.values())[:count]
        median = statistics.median(so_far) if count >= 3 else None
        size = sizes[feature_id]
        far = median is not None and (size < median / 2 or size > 2 * median)
        assert warned[feature_id] == far, feature_id
    median = statistics.median(sizes.values())
    data = json.loads(tracked.ok("bank", "list", "--json"))
    assert data["median_size"] == median
    far_now = {f for f, size in sizes.items() if size < median / 2 or size > 2 * median}
    assert far_now == {"F-04", "F-05"}  # the example covers both sides of the rule
    assert {row["feature_id"] for row in data["features"] if row["size_far"]} == far_now
    assert " 13* " in tracked.ok("bank", "list")


def test_list_of_an_empty_bank_says_how_to_start(tracked: Sandbox) -> None:
    assert "bank add" in tracked.ok("bank", "list")
    assert json.loads(tracked.ok("bank", "list", "--json"))["features"] == []


# -- bad input: one line, exit 2, nothing written -----------------------------------------------------------------


def bad_spec_files(tmp: Path) -> dict[str, tuple[str, str]]:
    """name -> (path, what the message must say)."""
    (tmp / "binary.bin").write_bytes(b"PK\x03\x04\x00\x00binary")
    (tmp / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (tmp / "huge.md").write_bytes(b"a" * (MAX_SPEC_BYTES + 1))
    (tmp / "empty.md").write_text("")
    (tmp / "folder").mkdir()
    return {
        "binary": (str(tmp / "binary.bin"), "binary"),
        "not utf-8": (str(tmp / "latin1.txt"), "UTF-8"),
        "huge": (str(tmp / "huge.md"), "bytes"),
        "empty": (str(tmp / "empty.md"), "empty"),
        "missing": (str(tmp / "missing.md"), "cannot read"),
        "a folder": (str(tmp / "folder"), "--spec"),
    }


@pytest.mark.parametrize("case", ["binary", "not utf-8", "huge", "empty", "missing", "a folder"])
def test_a_bad_spec_is_refused_with_one_line_naming_it(tracked: Sandbox, tmp_path: Path, case: str) -> None:
    path, says = bad_spec_files(tmp_path)[case]
    done = tracked.tracker("bank", "add", "F-01", "--title", "t", "--spec", path, "--size", "1")
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "--spec" in done.stderr and says in done.stderr
    assert tracked.records("feature") == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--size", "nan"], "--size"),
        (["--size", "inf"], "--size"),
        (["--size", "0"], "--size"),
        (["--size", "-1"], "--size"),
        (["--size", "abc"], "--size"),
        (["--size", "1", "--title", " "], "--title"),
        (["--size", "1", "--title", "two\nlines"], "--title"),
        (["--size", "1", "--id", "-F"], "FEATURE"),
        (["--size", "1", "--id", "F 1"], "FEATURE"),
    ],
)
def test_bad_size_title_or_id_is_one_line_exit_2_nothing_written(tracked: Sandbox, args: list[str], named: str) -> None:
    options = dict(zip(args[::2], args[1::2], strict=True))
    feature_id = options.pop("--id", "F-01")
    title = options.pop("--title", "t")
    spec = str(spec_file(tracked))
    done = tracked.tracker(
        "bank", "add", "--title", title, "--spec", spec, "--size", options["--size"], "--", feature_id
    )
    assert done.returncode == 2, done.stderr
    assert named in done.stderr and len(done.stderr.splitlines()) == 1
    assert tracked.records("feature") == []


def test_the_spec_can_come_from_stdin(tracked: Sandbox) -> None:
    import subprocess

    from tests.conftest import tracker_command

    done = subprocess.run(
        [*tracker_command(), "bank", "add", "F-01", "--title", "t", "--spec", "-", "--size", "2"],
        cwd=tracked.path,
        input=SPEC.encode(),
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    assert tracked.records("feature")[0]["spec"] == SPEC


def test_status_and_show_of_an_unknown_feature_say_so(tracked: Sandbox) -> None:
    add(tracked, "F-01")
    shown = tracked.tracker("bank", "show", "F-99")
    assert shown.returncode == 2 and "F-01" in shown.stderr and len(shown.stderr.splitlines()) == 1
    set_ = tracked.tracker("bank", "status", "F-99", "done")
    assert set_.returncode == 1 and "F-99" in set_.stderr
    wrong = tracked.tracker("bank", "status", "F-01", "finished")
    assert wrong.returncode == 2 and "blocked-capacity" in wrong.stderr
    assert tracked.records("feature-status") == []


# -- status follows the windows ---------------------------------------------------------------------------------


def test_status_follows_the_windows_until_set_by_hand_and_again_after(tracked: Sandbox) -> None:
    for feature_id in ("F-01", "F-02"):
        add(tracked, feature_id)
    tracked.ok("assign", "--seed", "7")
    plan = tracked.records("assignment")[0]
    first, second = ("codex", "glm") if plan["orders"]["F-01"] == "AB" else ("glm", "codex")
    window(tracked, first, "F-01")
    assert (listing(tracked)["F-01"]["status"], listing(tracked)["F-01"]["status_origin"]) == (
        "in-progress",
        "from windows",
    )
    tracked.ok("bank", "status", "F-01", "blocked-capacity", "--note", "out of quota")
    assert listing(tracked)["F-01"]["status_origin"] == "set by hand"
    # The plan gives F-01 two providers: one finished is not done; the second one's outcome makes it done.
    window(tracked, second, "F-01", outcome=None)
    assert listing(tracked)["F-01"]["status"] == "in-progress"
    tracked.ok("complete", "--outcome", "partial", "--quality", "0.5")
    row = listing(tracked)["F-01"]
    assert (row["status"], row["status_origin"]) == ("done", "from windows")
    assert listing(tracked)["F-02"]["status"] == "ready"
    shown = json.loads(tracked.ok("bank", "show", "F-01", "--json"))
    assert [e["status"] for e in shown["history"]] == [
        "ready",
        "in-progress",
        "in-progress",
        "blocked-capacity",
        "in-progress",
        "done",
    ]
    assert [(w["provider"], w["outcome"]) for w in shown["windows"]] == [(first, "shipped"), (second, "partial")]
    assert json.loads(tracked.ok("bank", "status", "F-01", "--json"))["status"] == "done"


def test_without_a_plan_any_completed_window_makes_it_done_and_complete_feature_counts(tracked: Sandbox) -> None:
    add(tracked, "F-01")
    add(tracked, "F-02")
    tracked.ok("start", "claude", "--used", "10")  # no --feature: the outcome names it
    tracked.commit()
    tracked.ok("end", "claude", "--used", "15")
    tracked.ok("complete", "--outcome", "shipped", "--quality", "1", "--feature", "F-02")
    assert listing(tracked)["F-02"]["status"] == "done"


# -- start --feature warns ------------------------------------------------------------------------------------


def warnings_of(box: Sandbox, provider: str, feature: str) -> list[str]:
    meter = ["--prompts", "1"] if provider == "glm" else ["--used", "10"]
    done = box.tracker("start", provider, *meter, "--feature", feature, "--json")
    assert done.returncode == 0, done.stderr
    warned: list[str] = json.loads(done.stdout)["warnings"]
    assert [line for line in done.stderr.splitlines() if "warning:" in line] == [
        f"git-tracker: warning: {w}" for w in warned
    ]
    box.ok("undo", provider)
    return warned


def test_start_warns_off_the_bank_and_the_plan_and_still_opens(tracked: Sandbox) -> None:
    assert warnings_of(tracked, "codex", "F-01") == []  # no bank: nothing to check against
    for feature_id in ("F-01", "F-02", "F-03"):
        add(tracked, feature_id)
    (unknown,) = warnings_of(tracked, "codex", "F-99")
    assert "F-99 is not in the task bank" in unknown
    assert warnings_of(tracked, "claude", "F-01") == []  # no plan yet
    tracked.ok("assign", "--seed", "7")
    add(tracked, "F-04")
    orders = tracked.records("assignment")[0]["orders"]
    ab = next(f for f, order in orders.items() if order == "AB")
    assert warnings_of(tracked, "codex", ab) == []
    (out_of_order,) = warnings_of(tracked, "glm", ab)
    assert "out of the plan's order" in out_of_order and "codex then glm" in out_of_order
    (not_planned,) = warnings_of(tracked, "claude", ab)
    assert "claude is not one of the plan's providers" in not_planned
    assert any("F-04 is not in the plan" in w for w in warnings_of(tracked, "codex", "F-04"))
    # After the first provider's window, the second is in order; the first again is too (a redo).
    window(tracked, "codex", ab)
    assert warnings_of(tracked, "glm", ab) == []
    assert warnings_of(tracked, "codex", ab) == []


# -- decide's G2 ----------------------------------------------------------------------------------------------


def g2(box: Sandbox) -> dict[str, Any]:
    gate: dict[str, Any] = json.loads(box.ok("decide", "--json"))["gates"]["G2"]
    return gate


def test_g2_is_green_only_with_two_features_blocked_only_by_capacity_and_names_them(tracked: Sandbox) -> None:
    empty = g2(tracked)
    assert empty == {"pass": False, "detail": "no data: the task bank is empty; fails closed", "features": []}
    for feature_id in ("F-01", "F-02", "F-03", "F-04"):
        add(tracked, feature_id)
    assert g2(tracked)["pass"] is False
    tracked.ok("bank", "status", "F-03", "blocked-capacity")
    tracked.ok("bank", "status", "F-01", "blocked-tooling")
    one = g2(tracked)
    assert one["pass"] is False and one["features"] == ["F-03"]
    tracked.ok("bank", "status", "F-04", "blocked-capacity")
    two = g2(tracked)
    assert two == {
        "pass": True,
        "detail": "F-03, F-04 are ready and blocked only by capacity",
        "features": ["F-03", "F-04"],
    }
    assert "G2: PASS - F-03, F-04 are ready and blocked only by capacity" in tracked.ok("decide")
    # A window on F-04 means it is being worked on again: no longer blocked.
    window(tracked, "codex", "F-04", outcome=None)
    assert g2(tracked)["features"] == ["F-03"] and g2(tracked)["pass"] is False


def test_a_status_set_in_the_millisecond_the_feature_was_added_still_counts(tracked: Sandbox) -> None:
    """Two commands in one millisecond (a script, a pinned clock) write ids in no particular order: the status
    must follow the feature's addition whatever their random bits say."""
    same_moment = {"GIT_TRACKER_NOW": "2026-06-01T10:00:00Z"}
    features = [f"F-{number:02d}" for number in range(1, 7)]
    for feature in features:
        tracked.ok(
            "bank", "add", feature, "--title", "t", "--spec", str(spec_file(tracked)), "--size", "3", env=same_moment
        )
        tracked.ok("bank", "status", feature, "blocked-capacity", env=same_moment)
    assert {row["status"] for row in listing(tracked).values()} == {"blocked-capacity"}
    assert json.loads(tracked.ok("decide", "--json"))["gates"]["G2"]["features"] == features


def test_a_spec_can_come_from_a_pipe_such_as_process_substitution(tracked: Sandbox) -> None:
    import shlex
    import subprocess

    from tests.conftest import tracker_command

    command = " ".join(shlex.quote(part) for part in tracker_command())
    script = f"{command} bank add F-01 --title t --size 2 --spec <(printf '# F-01\\nfrom a pipe\\n') --json"
    done = subprocess.run(["bash", "-c", script], cwd=tracked.path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(tracked.ok("bank", "show", "F-01", "--json"))["spec"] == "# F-01\nfrom a pipe\n"


def test_a_clock_behind_the_ledger_is_refused_rather_than_recorded_to_no_effect(tracked: Sandbox) -> None:
    """The newest record wins by its time: one made by a clock behind the feature's newest (another machine's records
    came with a sync) would say done and change nothing."""
    at = {"GIT_TRACKER_NOW": "2026-06-01T10:00:00Z"}
    behind = {"GIT_TRACKER_NOW": "2026-06-01T09:59:00Z"}
    spec = str(spec_file(tracked))
    tracked.ok("bank", "add", "F-01", "--title", "old", "--spec", spec, "--size", "3", env=at)
    tip = tracked.git("rev-parse", "tracker-ledger")
    for args in (
        ["bank", "add", "F-01", "--title", "new", "--spec", spec, "--size", "5", "--replace"],
        ["bank", "status", "F-01", "blocked-capacity"],
    ):
        done = tracked.tracker(*args, env=behind)
        assert done.returncode == 1 and "check this machine's clock" in done.stderr, done.stderr
        assert len(done.stderr.splitlines()) == 1
    assert tracked.git("rev-parse", "tracker-ledger") == tip
    assert listing(tracked)["F-01"]["title"] == "old" and listing(tracked)["F-01"]["status"] == "ready"


def test_titles_and_specs_with_control_characters_are_refused(tracked: Sandbox) -> None:
    """bank list and bank show print them: an escape sequence would drive the reader's terminal."""
    done = tracked.tracker("bank", "add", "F-01", "--title", "red \x1b[31m", "--spec", str(spec_file(tracked)),
                           "--size", "3")  # fmt: skip
    assert done.returncode == 2 and "--title" in done.stderr and "control character" in done.stderr
    escaped = spec_file(tracked, "# F-01\nfine\n\x1b]0;owned\x07\n", name="escape.md")
    done = tracked.tracker("bank", "add", "F-01", "--title", "t", "--spec", str(escaped), "--size", "3")
    assert done.returncode == 2 and "control character" in done.stderr and "line 3" in done.stderr
    assert tracked.records("feature") == []
    tabbed = spec_file(tracked, "# F-01\n\tindented\r\n", name="tabs.md")
    tracked.ok("bank", "add", "F-01", "--title", "t", "--spec", str(tabbed), "--size", "3")


def test_ids_are_listed_in_the_order_people_number_them_and_an_unknown_one_names_a_few(tracked: Sandbox) -> None:
    for number in (10, 2, 1, 33, 4, 9):
        add(tracked, f"F-{number}", 3)
    assert list(listing(tracked)) == ["F-1", "F-2", "F-4", "F-9", "F-10", "F-33"]
    done = tracked.tracker("bank", "show", "F-99")
    assert done.returncode == 2
    assert "F-1, F-2, F-4, F-9, F-10, … (6 in all: `git tracker bank list`)" in done.stderr
