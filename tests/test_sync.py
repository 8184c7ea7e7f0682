"""`git tracker sync`: the ledger and the notes travel through a bare repository on disk, between real clones,
with real fetches and pushes (issue 12)."""

from __future__ import annotations

import itertools
import json
import random
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gittracker.git import Repo, parse_push_porcelain
from gittracker.noteline import note_line
from gittracker.records import Record, record_path
from gittracker.sync import cat_sort_uniq
from tests.conftest import Sandbox, tracker_command

LEDGER = "refs/heads/tracker-ledger"
NOTES = "refs/notes/tracker"


# -- a remote and its clones ------------------------------------------------------------------------------


def git_at(where: Path, *args: str, check: bool = True, stdin: str | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, input=stdin, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} in {where} failed: {done.stderr}")
    return done.stdout


def make_remote(root: Path) -> Path:
    """A bare repository holding one commit on main, as a team's shared remote starts."""
    remote = root / "remote.git"
    git_at(root, "init", "-q", "--bare", str(remote))
    seed = root / "seed"
    git_at(root, "clone", "-q", str(remote), str(seed))
    (seed / "README.md").write_text("shared\n")
    git_at(seed, "add", "README.md")
    git_at(seed, "commit", "-q", "-m", "seed")
    git_at(seed, "push", "-q", "origin", "main")
    return remote


def clone(root: Path, remote: Path, name: str, *, init: bool = True) -> Sandbox:
    git_at(root, "clone", "-q", str(remote), str(root / name))
    box = Sandbox(root / name)
    if init:
        box.ok("init")
    return box


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return make_remote(tmp_path)


def sync(box: Sandbox, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(box.ok("sync", "--json", *args))
    return data


def ledger_ids(where: Path, ref: str = LEDGER) -> list[str]:
    """Record ids on a ledger, read from git's own listing of the tree (not through git-tracker)."""
    listing = git_at(where, "ls-tree", "-r", "--name-only", ref, check=False)
    return [Path(path).stem for path in listing.split() if path.endswith(".json")]


def tip(where: Path, ref: str) -> str:
    return git_at(where, "rev-parse", "-q", "--verify", ref, check=False).strip()


def append(box: Sandbox, count: int, agent: str = "main") -> set[str]:
    """Records appended the way every command appends them (``Repo.append_records``), faster than the CLI."""
    records = [
        Record.new(
            "anomaly",
            source="automation",
            agent_id=agent,
            machine="testmachinea",
            code="sync-test",
            window_id=None,
            detail=f"{i}",
        )
        for i in range(count)
    ]
    Repo.discover(box.path).append_records(records)
    return {record.id for record in records}


def window_with_commits(box: Sandbox, commits: int, agent: str = "main", tag: str = "") -> list[str]:
    env = {"AGENT_ID": agent}
    box.ok("start", "codex", "--used", "10", env=env)
    made = [box.commit(f"{agent}-{tag}{box.counter}.txt", env=env) for _ in range(commits)]
    box.ok("end", "codex", "--used", "30", env=env)
    box.wait_for_flush()
    return made


def notes_of(where: Path) -> dict[str, str]:
    """commit -> note blob, as git itself lists the notes (any fanout)."""
    pairs = git_at(where, "notes", "--ref", "tracker", "list", check=False).split()
    return dict(zip(pairs[1::2], pairs[0::2], strict=True))


def fsck_clean(where: Path) -> None:
    done = subprocess.run(["git", "fsck", "--no-dangling", "--no-progress"], cwd=where, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error" not in done.stderr.lower() and "missing" not in done.stdout.lower(), done.stdout + done.stderr


# -- fetch, merge, push ----------------------------------------------------------------------------------


def test_first_sync_creates_the_remote_refs_and_a_fresh_clone_gets_ledger_and_notes(
    tmp_path: Path, remote: Path
) -> None:
    alice = clone(tmp_path, remote, "alice")
    noted = window_with_commits(alice, 2)
    assert tip(remote, LEDGER) == "" and tip(remote, NOTES) == ""

    first = sync(alice)
    assert first["pushed"]["records"] == {"snapshot": 2, "window-close": 1, "window-open": 1}
    assert first["pushed"]["notes"] == 2 and first["fetched"] == {"records": {}, "notes": 0}
    assert tip(remote, LEDGER) == tip(alice.path, LEDGER) and tip(remote, NOTES) == tip(alice.path, NOTES)
    assert sync(alice)["pushed"]["records"] == {}  # nothing new: nothing pushed again

    # `git clone` brings neither the ledger branch as a local branch nor any note; sync brings both, even
    # before `init` (it moves nothing but the tracker's own refs).
    fresh = clone(tmp_path, remote, "fresh", init=False)
    assert tip(fresh.path, LEDGER) == "" and notes_of(fresh.path) == {}
    got = sync(fresh)
    assert got["fetched"]["records"] == first["pushed"]["records"] and got["fetched"]["notes"] == 2
    assert sorted(ledger_ids(fresh.path)) == sorted(ledger_ids(alice.path))
    assert notes_of(fresh.path) == notes_of(alice.path) and set(notes_of(fresh.path)) == set(noted)
    assert git_at(fresh.path, "for-each-ref", "--format=%(refname)", "refs/tracker-remotes/").split() == [
        "refs/tracker-remotes/origin/notes/tracker",
        "refs/tracker-remotes/origin/tracker-ledger",
    ]
    fsck_clean(fresh.path)


def test_two_clones_that_both_appended_end_with_the_union(tmp_path: Path, remote: Path) -> None:
    alice, bob = clone(tmp_path, remote, "alice"), clone(tmp_path, remote, "bob")
    from_alice, from_bob = append(alice, 30, "alice"), append(bob, 20, "bob")
    alice_notes = window_with_commits(alice, 1, "alice")
    bob_notes = window_with_commits(bob, 2, "bob")
    sync(alice)
    merged = sync(bob)
    assert merged["fetched"]["records"]["anomaly"] == 30 and merged["pushed"]["records"]["anomaly"] == 20
    assert merged["merged"] == {"ledger": "merge", "notes": "merge"}
    # A merge commit with both tips as parents: nobody's history is rewritten.
    parents = git_at(bob.path, "rev-list", "--parents", "-n", "1", LEDGER).split()[1:]
    assert len(parents) == 2 and tip(remote, LEDGER) == tip(bob.path, LEDGER)
    back = sync(alice)
    assert back["merged"]["ledger"] == "fast-forward" and back["pushed"]["records"] == {}
    for box in (alice, bob):
        ids = ledger_ids(box.path)
        assert len(ids) == len(set(ids)) and (from_alice | from_bob) <= set(ids)
        assert set(notes_of(box.path)) == set(alice_notes + bob_notes)
    assert sorted(ledger_ids(alice.path)) == sorted(ledger_ids(bob.path)) == sorted(ledger_ids(remote))
    assert tip(alice.path, LEDGER) == tip(bob.path, LEDGER) == tip(remote, LEDGER)
    for box in (alice, bob):
        fsck_clean(box.path)
    fsck_clean(remote)


def test_a_forced_notes_refspec_in_the_users_config_cannot_throw_unsynced_notes_away(
    tmp_path: Path, remote: Path
) -> None:
    """git-ai #907: `+refs/notes/*:refs/notes/*` in remote.origin.fetch makes every fetch replace the local notes.
    sync fetches with --refmap= into its own tracking refs, so even that config does not reach refs/notes/tracker;
    and sync says the refspec is there."""
    alice, bob = clone(tmp_path, remote, "alice"), clone(tmp_path, remote, "bob")
    window_with_commits(alice, 1, "alice")
    sync(alice)
    bob.git("config", "--add", "remote.origin.fetch", "+refs/notes/*:refs/notes/*")
    unsynced = window_with_commits(bob, 1, "bob")
    done = bob.tracker("sync")
    assert done.returncode == 0, done.stderr
    assert "remote.origin.fetch has +refs/notes/*:refs/notes/*" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert set(unsynced) <= set(notes_of(bob.path)) and set(unsynced) <= set(notes_of(remote))


def test_a_hand_written_junk_commit_on_the_remote_ledger_still_merges_and_is_reported(
    tmp_path: Path, remote: Path
) -> None:
    alice, mallory = clone(tmp_path, remote, "alice"), clone(tmp_path, remote, "mallory")
    mine = append(alice, 5)
    theirs = append(mallory, 3, "mallory")
    sync(mallory)
    # Someone commits a stray file onto the shared ledger by hand and pushes it with plain git.
    mallory.write_ledger_files({"junk/notes.txt": b"not a record\n", "README": b"hello\n"}, "hand-written")
    mallory.git("push", "-q", "origin", "tracker-ledger")

    done = alice.tracker("sync")
    assert done.returncode == 0, done.stderr
    assert "kept, but no record: README (not a record file)" in done.stdout
    assert "kept, but no record: junk/notes.txt (not a record file)" in done.stdout
    assert "2 ledger records skipped (2 not a record file)" in done.stderr
    assert (mine | theirs) <= set(ledger_ids(alice.path)) and mine <= set(ledger_ids(remote))
    assert git_at(alice.path, "show", f"{LEDGER}:junk/notes.txt") == "not a record\n"  # kept, never deleted

    as_json = sync(mallory)  # the other side reports it in --json too
    assert as_json["skipped"] == [] and as_json["fetched"]["records"] == {"anomaly": 5}
    bob = clone(tmp_path, remote, "bob")
    assert sync(bob)["skipped"] == [
        {"path": "README", "reason": "not a record file"},
        {"path": "junk/notes.txt", "reason": "not a record file"},
    ]


def test_a_junk_file_whose_name_is_not_utf8_is_reported_not_fatal(tmp_path: Path, remote: Path) -> None:
    alice, mallory = clone(tmp_path, remote, "alice"), clone(tmp_path, remote, "mallory")
    mine, theirs = append(alice, 2), append(mallory, 2, "mallory")
    sync(mallory)
    blob = mallory.git("hash-object", "-w", "--stdin", stdin="junk\n").strip()
    listing = subprocess.run(["git", "ls-tree", "-z", LEDGER], cwd=mallory.path, capture_output=True, check=True).stdout
    listing += f"100644 blob {blob}\t".encode() + b"caf\xe9.txt\0"
    tree = subprocess.run(["git", "mktree", "-z"], cwd=mallory.path, input=listing, capture_output=True, check=True)
    commit = mallory.git("commit-tree", tree.stdout.decode().strip(), "-p", LEDGER, "-m", "by hand").strip()
    mallory.git("push", "-q", "origin", f"{commit}:{LEDGER}")
    done = alice.tracker("sync", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["skipped"] == [{"path": "caf\\xe9.txt", "reason": "name not UTF-8"}]
    assert (mine | theirs) <= set(ledger_ids(alice.path)) and mine <= set(ledger_ids(remote))
    text = alice.tracker("sync")
    assert text.returncode == 0 and text.stdout.startswith("origin: in sync"), text.stderr


def test_two_versions_of_one_record_are_settled_the_same_way_everywhere(tmp_path: Path, remote: Path) -> None:
    """Records are immutable, so two different files at one record path were edited by hand (or damaged): the
    valid record wins, else the smaller blob id; both clones keep the same one, the other stays in history."""
    alice, bob = clone(tmp_path, remote, "alice"), clone(tmp_path, remote, "bob")
    record = Record.new(
        "anomaly", source="cli", agent_id="main", machine="testmachinea", code="sync-test", window_id=None, detail="one"
    )
    path = record_path(record.id, record.kind)
    Repo.discover(alice.path).append_records([record])
    edited = (record.to_json().replace('"detail":"one"', '"detail":"edited by hand"') + "\n").encode()
    damaged = b"{not json\n"
    bob.write_ledger_files({path: damaged})
    sync(alice)
    reported = sync(bob)
    assert len(reported["conflicts"]) == 1 and reported["conflicts"][0]["path"] == path
    valid_blob = git_at(alice.path, "rev-parse", f"{LEDGER}:{path}").strip()
    assert reported["conflicts"][0]["kept"] == valid_blob  # the valid record beats the damaged file
    sync(alice)
    assert git_at(bob.path, "show", f"{LEDGER}:{path}") == git_at(alice.path, "show", f"{LEDGER}:{path}")
    assert git_at(bob.path, "show", f"{LEDGER}:{path}") == record.to_json() + "\n"

    # Two valid versions: the smaller blob id is kept, by every clone, whichever syncs first.
    carol = clone(tmp_path, remote, "carol")
    carol.write_ledger_files({path: edited})
    edited_blob = git_at(carol.path, "rev-parse", f"{LEDGER}:{path}").strip()
    settled = sync(carol)
    kept, other = sorted((valid_blob, edited_blob))
    assert settled["conflicts"] == [{"path": path, "kept": kept, "other": other}]
    for box in (alice, bob, carol):
        sync(box)
    assert {git_at(box.path, "rev-parse", f"{LEDGER}:{path}").strip() for box in (alice, bob, carol)} == {
        min(valid_blob, edited_blob)
    }
    assert sync(alice)["conflicts"] == []  # settled: nothing to report any more


def test_notes_in_mixed_fanouts_merge_line_by_line(tmp_path: Path, remote: Path) -> None:
    """Notes on the same commits written flat by `git notes` in one clone and with git-tracker's fanout in the
    other: every commit ends with the union of both notes' lines, once each (not two notes that git would print
    concatenated)."""
    alice = clone(tmp_path, remote, "alice")
    shared = [alice.commit(f"shared{i}.txt") for i in range(3)]
    alice.git("push", "-q", "origin", "main")
    bob = clone(tmp_path, remote, "bob")
    lines_a = {sha: [note_line(f"A{i}", "codex", "alice", "2026-06-01T10:00:00.000Z")] for i, sha in enumerate(shared)}
    Repo.discover(alice.path).add_note_lines(lines_a)
    for i, sha in enumerate(shared):  # git's own layout: a flat tree for a handful of notes
        bob.git("notes", "--ref", "tracker", "add", "-f", "-m", f'{{"v":1,"id":"B{i}"}}\n{{"v":1,"id":"Z"}}', sha)
    assert "/" not in bob.git("ls-tree", "--name-only", NOTES)
    assert all("/" in path for path in alice.git("ls-tree", "-r", "--name-only", NOTES).split())
    sync(alice)
    sync(bob)
    sync(alice)
    for i, sha in enumerate(shared):
        expected = sorted({lines_a[sha][0], f'{{"v":1,"id":"B{i}"}}', '{"v":1,"id":"Z"}'})
        for box in (alice, bob):
            assert box.git("notes", "--ref", "tracker", "show", sha).splitlines() == expected


def test_the_notes_union_is_what_git_notes_merge_cat_sort_uniq_makes(sandbox: Sandbox) -> None:
    """Cross-check with git's own strategy, where git can do it (the same fanout on both sides)."""
    commits = [sandbox.commit(f"f{i}.txt") for i in range(4)]
    texts = [("b\na\n", "a\nc\n"), ("x\n", "x\n"), ("", "only theirs\n"), ("z\n\n\ny\n", "y\nw\n")]
    for sha, (ours, theirs) in zip(commits, texts, strict=True):
        if ours:
            sandbox.git("notes", "--ref", "ours", "add", "-f", "-F", "-", sha, stdin=ours)
        sandbox.git("notes", "--ref", "theirs", "add", "-f", "-F", "-", sha, stdin=theirs)
    sandbox.git("notes", "--ref", "ours", "merge", "-q", "-s", "cat_sort_uniq", "refs/notes/theirs")
    for sha, (ours, theirs) in zip(commits, texts, strict=True):
        by_git = sandbox.git("notes", "--ref", "ours", "show", sha)
        assert cat_sort_uniq(ours.encode(), theirs.encode()).decode() == by_git


# -- refusals and retries --------------------------------------------------------------------------------


def write_hook(remote: Path, name: str, body: str) -> None:
    hook = remote / "hooks" / name
    hook.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    hook.chmod(0o755)


def local_state(box: Sandbox) -> tuple[str, str, str, str]:
    return tip(box.path, LEDGER), tip(box.path, NOTES), box.head(), box.git("status", "--porcelain")


@pytest.mark.parametrize("refusal", ["pre-receive hook", "hidden ref"])
def test_a_remote_that_refuses_for_good_is_one_line_and_changes_nothing_here(
    tmp_path: Path, remote: Path, refusal: str
) -> None:
    alice, bob = clone(tmp_path, remote, "alice"), clone(tmp_path, remote, "bob")
    append(alice, 4)
    window_with_commits(alice, 1)
    sync(alice)  # the remote has something bob lacks, and bob has something of his own
    append(bob, 2)
    window_with_commits(bob, 1)
    if refusal == "pre-receive hook":
        write_hook(remote, "pre-receive", "echo 'protected: read-only mirror' >&2\nexit 1\n")
        reason = "pre-receive hook declined"
    else:
        git_at(remote, "config", "receive.hideRefs", "refs/notes")
        reason = "deny updating a hidden ref"
    before, remote_before = local_state(bob), (tip(remote, LEDGER), tip(remote, NOTES))
    done = bob.tracker("sync")
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("git-tracker: origin refused the push of ")
    assert reason in done.stderr and "nothing here was changed" in done.stderr
    assert local_state(bob) == before
    if refusal == "pre-receive hook":
        assert (tip(remote, LEDGER), tip(remote, NOTES)) == remote_before


def test_an_unreachable_or_unknown_remote_is_one_line(tmp_path: Path, remote: Path) -> None:
    alice = clone(tmp_path, remote, "alice")
    append(alice, 1)
    before = local_state(alice)
    unknown = alice.tracker("sync", "nowhere")
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert "REMOTE: expected the name of one of this repository's remotes" in unknown.stderr
    alice.git("remote", "add", "gone", str(tmp_path / "no-such-repository.git"))
    gone = alice.tracker("sync", "gone")
    assert gone.returncode == 1 and gone.stderr.count("\n") == 1
    assert gone.stderr.startswith("git-tracker: could not reach remote gone: ")
    assert local_state(alice) == before


# A pre-receive hook that, while a push is in flight, makes another "clone's" ledger commit land first (once, or
# every time): the server's own compare-and-swap then rejects the push, as when two clones push at once.
RACING_HOOK = """
    marker="$GIT_DIR/raced"
    if [ "{times}" = once ] && [ -e "$marker" ]; then exit 0; fi
    touch "$marker"
    unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
    old=$(git rev-parse -q --verify refs/heads/tracker-ledger) || exit 0
    blob=$(printf 'raced\\n' | git hash-object -w --stdin)
    n=$(ls "$GIT_DIR" | wc -l)-$$
    tree=$( (git ls-tree "$old"; printf '100644 blob %s\\traced-%s.txt\\n' "$blob" "$n") | git mktree)
    new=$(git commit-tree "$tree" -p "$old" -m raced)
    git update-ref refs/heads/tracker-ledger "$new" "$old"
    exit 0
"""


def test_a_push_that_loses_a_race_is_fetched_merged_and_pushed_again(tmp_path: Path, remote: Path) -> None:
    alice, bob = clone(tmp_path, remote, "alice"), clone(tmp_path, remote, "bob")
    append(alice, 3)
    sync(alice)
    mine = append(bob, 2)
    write_hook(remote, "pre-receive", RACING_HOOK.format(times="once"))
    result = sync(bob)
    assert result["attempts"] == 2
    assert mine <= set(ledger_ids(remote))
    raced = [path for path in git_at(remote, "ls-tree", "--name-only", LEDGER).split() if path.startswith("raced")]
    assert len(raced) == 1 and raced[0] in git_at(bob.path, "ls-tree", "--name-only", LEDGER).split()
    assert tip(bob.path, LEDGER) == tip(remote, LEDGER)


def test_a_remote_that_keeps_moving_is_given_up_on_after_bounded_attempts(tmp_path: Path, remote: Path) -> None:
    alice, bob = clone(tmp_path, remote, "alice"), clone(tmp_path, remote, "bob")
    append(alice, 1)
    sync(alice)
    append(bob, 1)
    write_hook(remote, "pre-receive", RACING_HOOK.format(times="always"))
    before = local_state(bob)
    started = time.monotonic()
    done = bob.tracker("sync")
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("git-tracker: could not sync with origin: other clones kept pushing to it")
    assert local_state(bob) == before and time.monotonic() - started < 30


def test_a_server_without_atomic_pushes_gets_the_refs_one_by_one(tmp_path: Path, remote: Path) -> None:
    git_at(remote, "config", "receive.advertiseAtomic", "false")
    alice = clone(tmp_path, remote, "alice")
    window_with_commits(alice, 1)
    result = sync(alice)
    assert result["pushed"]["atomic"] is False and result["pushed"]["notes"] == 1
    assert tip(remote, LEDGER) == tip(alice.path, LEDGER) and tip(remote, NOTES) == tip(alice.path, NOTES)
    git_at(remote, "config", "receive.advertiseAtomic", "true")
    append(alice, 1)
    assert sync(alice)["pushed"]["atomic"] is True


def test_sync_runs_no_hook_and_leaves_the_users_branches_index_and_work_tree_alone(
    tmp_path: Path, remote: Path
) -> None:
    alice, bob = clone(tmp_path, remote, "alice"), clone(tmp_path, remote, "bob")
    window_with_commits(alice, 1)
    sync(alice)
    window_with_commits(bob, 1)
    marker = tmp_path / "hook-ran"
    for name in ("pre-push", "reference-transaction", "post-merge", "post-checkout"):
        hook = bob.path / ".git" / "hooks" / name
        hook.write_text(f"#!/bin/sh\necho {name} >> {marker}\nexit 1\n")
        hook.chmod(0o755)
    (bob.path / "README.md").write_text("edited, not staged\n")
    (bob.path / "staged.txt").write_text("staged\n")
    bob.git("add", "staged.txt")
    # The user's refs: branches, tags, and git's remote-tracking refs other than the ledger's (which `git push`
    # itself moves to what it pushed, as it does for every push to a named remote).
    user_refs = ("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/main", "refs/remotes/origin/main")
    refs_before = bob.git(*user_refs, "refs/tags")
    head_before = (bob.path / ".git" / "HEAD").read_text()
    status_before, index_before = bob.git("status", "--porcelain"), (bob.path / ".git" / "index").read_bytes()
    # A caller's GIT_* location variables (as inside a hook) must not aim sync at another repository.
    env = {"GIT_INDEX_FILE": str(tmp_path / "elsewhere-index"), "GIT_WORK_TREE": str(tmp_path)}
    done = bob.tracker("sync", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["merged"]["ledger"] == "merge"
    assert not marker.exists()
    assert bob.git(*user_refs, "refs/tags") == refs_before
    assert (bob.path / ".git" / "HEAD").read_text() == head_before
    assert bob.git("status", "--porcelain") == status_before
    assert (bob.path / ".git" / "index").read_bytes() == index_before
    assert not (tmp_path / "elsewhere-index").exists()
    assert git_at(remote, "for-each-ref", "--format=%(refname)").split() == ["refs/heads/main", LEDGER, NOTES]


def test_sync_refuses_while_the_ledger_is_checked_out(tmp_path: Path, remote: Path) -> None:
    alice, bob = clone(tmp_path, remote, "alice"), clone(tmp_path, remote, "bob")
    append(alice, 1)
    sync(alice)
    append(bob, 1)
    bob.git("worktree", "add", "-q", str(tmp_path / "ledger-wt"), "tracker-ledger")
    before = local_state(bob)
    done = bob.tracker("sync")
    assert done.returncode == 1 and "tracker-ledger is checked out in" in done.stderr
    assert local_state(bob) == before


def test_init_remote_names_the_remote_sync_uses(tmp_path: Path, remote: Path) -> None:
    alice = clone(tmp_path, remote, "alice", init=False)
    alice.git("remote", "rename", "origin", "team")
    alice.ok("init", "--remote", "team")
    assert 'remote = "team"' in (alice.path / ".git-tracker.toml").read_text()
    append(alice, 2)
    assert sync(alice)["remote"] == "team"
    assert len(ledger_ids(remote)) == 2
    assert "origin" in alice.tracker("sync", "origin").stderr  # an explicit REMOTE still wins
    # init again naming another remote: the user's settings file is not rewritten, and init says so.
    again = alice.ok("init", "--remote", "backup")
    assert "kept .git-tracker.toml as it is: sync uses its sync.remote 'team'; set it to 'backup' there" in again
    assert 'remote = "team"' in (alice.path / ".git-tracker.toml").read_text()


def test_a_quiet_sync_keeps_to_its_time_bound(tmp_path: Path, remote: Path) -> None:
    """For hooks (`init --sync-on-push`, later): a remote that hangs is given up on in time, with one line and no
    exception, and the helpers git started are stopped with it."""
    alice = clone(tmp_path, remote, "alice")
    append(alice, 1)
    alice.git("config", "remote.origin.uploadpack", "sleep 30; git-upload-pack")
    code = "import sys; from gittracker.sync import sync_quietly; print(sync_quietly(sys.argv[1], within=1.5))"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code, str(alice.path)], capture_output=True, text=True, timeout=60)
    took = time.monotonic() - started
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.startswith("sync not done: ") and "did not finish in time" in done.stdout
    assert took < 8, took
    alice.git("config", "--unset", "remote.origin.uploadpack")
    ok = subprocess.run([sys.executable, "-c", code, str(alice.path)], capture_output=True, text=True, timeout=60)
    assert ok.stdout.startswith("origin: fetched nothing; pushed 1 record (1 anomaly)"), ok.stdout + ok.stderr


# -- rewritten commits ------------------------------------------------------------------------------------


def test_amended_and_rebased_commits_keep_their_notes_through_a_sync_round_trip(tmp_path: Path, remote: Path) -> None:
    carol = clone(tmp_path, remote, "carol")  # never fetches the rewritten commits until the end
    alice = clone(tmp_path, remote, "alice")
    alice.ok("start", "codex", "--used", "10")
    alice.commit("a1.txt")
    alice.commit("a2.txt")
    alice.git("commit", "--amend", "-q", "-m", "a2, amended")
    alice.git("checkout", "-q", "-b", "base", "origin/main")
    alice.commit("base.txt", env={"GIT_COMMITTER_DATE": "2026-06-01T10:05:00+0000"})
    alice.git("checkout", "-q", "main")
    alice.git("rebase", "-q", "base", env={"GIT_COMMITTER_DATE": "2026-06-01T10:06:00+0000"})
    alice.ok("end", "codex", "--used", "20")
    alice.wait_for_flush()
    window = alice.records("window-open")[0]["window_id"]
    rewritten = alice.git("rev-list", "base..main").split()
    assert len(rewritten) == 2
    for sha in rewritten:  # git-tracker's own rewrite support gave them their notes: the premise of this test
        assert window in {line["id"] for line in alice.note(sha)}
    alice.git("push", "-q", "origin", "main")  # the user's own push of the rewritten branch
    sync(alice)

    bob = clone(tmp_path, remote, "bob")
    sync(bob)
    for sha in rewritten:
        assert bob.note(sha) == alice.note(sha)
    # The round trip: another agent's stamp added on bob's side comes back to alice, next to alice's own lines.
    extra = note_line("01KBOBSWINDOW0000000000000", "claude", "bob", "2026-06-01T11:00:00.000Z")
    Repo.discover(bob.path).add_note_lines({rewritten[0]: [extra]})
    sync(bob)
    sync(alice)
    assert alice.git("notes", "--ref", "tracker", "show", rewritten[0]).splitlines() == sorted(
        {*bob.git("notes", "--ref", "tracker", "show", rewritten[0]).splitlines(), extra}
    )
    assert bob.note(rewritten[1]) == alice.note(rewritten[1])

    # carol has none of these commits: her sync merges their notes all the same, without error.
    assert carol.git("cat-file", "-e", rewritten[0], check=False) == ""
    assert subprocess.run(["git", "cat-file", "-e", rewritten[0]], cwd=carol.path).returncode != 0
    merged = sync(carol)
    assert merged["fetched"]["notes"] >= 2
    assert set(rewritten) <= set(notes_of(carol.path))
    carol.git("fetch", "-q", "origin")
    for sha in rewritten:
        assert carol.note(sha) == alice.note(sha)
    fsck_clean(carol.path)


# -- the acceptance runs: many writers, and sync killed ------------------------------------------------------

# One agent of one clone: windows through the CLI (start, a commit, a mid snapshot, end, complete: six records
# each), and between them more snapshots appended through gittracker's own append (``Repo.append_records``, what
# the commands call), because the CLI alone would take minutes to write a few hundred records. Prints what it
# did as JSON.
AGENT = textwrap.dedent(
    """
    import fcntl, json, os, random, subprocess, sys
    from gittracker.git import Repo
    from gittracker.records import STAMP_FIELDS, Record

    path, agent, windows, lock_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    tracker = sys.argv[5:]
    env = {**os.environ, "AGENT_ID": agent}
    rng = random.Random(agent)

    def run(*args):
        done = subprocess.run([*tracker, *args], cwd=path, env=env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{agent}: {args} -> {done.returncode}: {done.stderr}")

    def commit(n):
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the agents of one clone share its index: one commit at a time
            name = f"{agent}-{n}.txt"
            with open(os.path.join(path, name), "w") as handle:
                handle.write(f"{agent} {n}\\n")
            subprocess.run(["git", "add", name], cwd=path, env=env, check=True)
            subprocess.run(["git", "commit", "-q", "-m", f"{agent} {n}"], cwd=path, env=env, check=True)
            return subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True).stdout.strip()

    repo = Repo.discover(path)
    commits, extra = [], 0
    for n in range(windows):
        run("start", "codex", "--used", str(10 + n))
        commits.append(commit(n))
        run("snapshot", "codex", "--used", str(12 + n))
        run("end", "codex", "--used", str(20 + n))
        run("complete", "--outcome", "shipped", "--quality", "0.8")
        mid = [r for r in repo.read_records(["snapshot"]) if r.agent_id == agent and r["phase"] == "mid"][-1]
        body = {k: v for k, v in mid.to_dict().items() if k not in STAMP_FIELDS and k != "window_id"}
        for _ in range(rng.randint(30, 50)):
            batch = [Record.new("snapshot", source="automation", agent_id=agent, machine="testmachinea",
                                window_id=None, **body)
                     for _ in range(rng.randint(1, 7))]
            repo.append_records(batch)
            extra += len(batch)
    print(json.dumps({"agent": agent, "records": 6 * windows + extra, "commits": commits}))
    """
)

SYNC_LOOP = textwrap.dedent(
    """
    import json, os, subprocess, sys, time
    path, stop = sys.argv[1], sys.argv[2]
    tracker = sys.argv[3:]
    codes, errors = [], []
    while not os.path.exists(stop):
        done = subprocess.run([*tracker, "sync"], cwd=path, capture_output=True, text=True)
        codes.append(done.returncode)
        if done.returncode:
            errors.append(done.stderr)
        time.sleep(0.3)  # leave the agents some of the machine
    print(json.dumps([codes, errors]))
    """
)


@pytest.mark.slow
def test_three_clones_with_two_agents_each_syncing_in_loops_end_with_exactly_the_union(
    tmp_path: Path, remote: Path
) -> None:
    clones = [clone(tmp_path, remote, f"clone{n}") for n in range(3)]
    seed = tip(remote, "refs/heads/main")
    stop = tmp_path / "stop"
    loops = [
        subprocess.Popen(
            [sys.executable, "-c", SYNC_LOOP, str(box.path), str(stop), *tracker_command()],
            stdout=subprocess.PIPE,
            text=True,
        )
        for box in clones
    ]
    command = tracker_command()
    agents = [
        subprocess.Popen(
            [sys.executable, "-c", AGENT, str(box.path), f"c{n}-a{a}", "4", str(tmp_path / f"lock{n}"), *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, box in enumerate(clones)
        for a in range(2)
    ]
    outcomes = [proc.communicate(timeout=900) for proc in agents]
    assert all(proc.returncode == 0 for proc in agents), [err for _, err in outcomes]
    stop.touch()
    looped = [json.loads(proc.communicate(timeout=300)[0]) for proc in loops]
    did = {data["agent"]: data for data in (json.loads(out) for out, _ in outcomes)}
    for box in clones:
        box.wait_for_flush()
    for _ in range(2):  # quiet now: two rounds bring every clone to the union
        for box in clones:
            sync(box)

    for codes, errors in looped:  # every loop synced while the agents wrote; a sync that gave up said so in a line
        assert codes.count(0) >= 3, (codes, errors)
        assert set(codes) <= {0, 1}, errors
        assert all(e.startswith("git-tracker: could not sync with origin: other clones kept pushing") for e in errors)
    expected = {agent: data["records"] for agent, data in did.items()}
    assert all(count >= 150 for count in expected.values()), expected
    # The agents' codex windows were open at the same time: end and sync recorded one overlapping-windows anomaly
    # per pair, the same record wherever it was found (every pair, counted here from the windows themselves).
    overlaps = overlap_anomalies(clones[0])
    assert sorted(overlaps) == overlapping_pairs_of(clones[0].records("window-close"))
    union = sorted(ledger_ids(remote))
    assert len(union) == len(set(union)) == sum(expected.values()) + len(overlaps)
    for n, box in enumerate(clones):
        assert sorted(ledger_ids(box.path)) == union
        assert overlap_anomalies(box) == overlaps
        counted: dict[str, int] = {}
        for record in box.records():
            if record["id"] not in overlaps.values():
                counted[record["agent_id"]] = counted.get(record["agent_id"], 0) + 1
        assert counted == expected
        mine = did[f"c{n}-a0"]["commits"] + did[f"c{n}-a1"]["commits"]
        assert sorted(box.git("rev-list", f"{seed}..main").split()) == sorted(mine)  # user branch: only its own
        assert box.git("symbolic-ref", "HEAD").strip() == "refs/heads/main"
        assert box.git("status", "--porcelain") == ""
        fsck_clean(box.path)
    all_commits = {sha for data in did.values() for sha in data["commits"]}
    noted = [notes_of(box.path) for box in clones]
    assert noted[0] == noted[1] == noted[2] == notes_of(remote) and set(noted[0]) == all_commits
    assert tip(remote, "refs/heads/main") == seed
    assert git_at(remote, "for-each-ref", "--format=%(refname)").split() == ["refs/heads/main", LEDGER, NOTES]
    fsck_clean(remote)


def overlap_anomalies(box: Sandbox) -> dict[tuple[str, str], str]:
    """The overlapping-windows anomalies of a clone: (window id, window id) named in the detail -> record id."""
    found: dict[tuple[str, str], str] = {}
    for record in box.records("anomaly"):
        if record["code"] == "overlapping-windows":
            first, second = re.findall(r"\b[0-9A-HJKMNP-TV-Z]{26}\b", record["detail"])
            assert (first, second) not in found, "one record per pair"
            found[(first, second)] = record["id"]
    return found


def overlapping_pairs_of(closes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Every pair of one provider's windows each opened before the other closed (brute force)."""
    return sorted(
        (min(a["window_id"], b["window_id"]), max(a["window_id"], b["window_id"]))
        for a, b in itertools.combinations(closes, 2)
        if a["provider"] == b["provider"] and a["opened_ts"] < b["ts"] and b["opened_ts"] < a["ts"]
    )


def lock_files(*places: Path) -> list[Path]:
    return [lock for place in places for lock in place.rglob("*.lock")]


@pytest.mark.slow
def test_a_sync_killed_at_random_points_loses_nothing_and_leaves_nothing_in_the_way(
    tmp_path: Path, remote: Path
) -> None:
    alice, bob = clone(tmp_path, remote, "alice"), clone(tmp_path, remote, "bob")
    rng = random.Random(20)
    expected = append(alice, 5) | append(bob, 5, "bob")
    sync(bob)
    started = time.monotonic()
    sync(alice)
    one_sync = time.monotonic() - started
    killed, noted = 0, {}
    repo = Repo.discover(alice.path)
    for attempt in range(20):
        expected |= append(alice, rng.randint(1, 30))
        sha = rng.randbytes(20).hex()  # a note on a commit no clone has
        noted[sha] = note_line(f"01KILL{attempt:020d}", "codex", "main", "2026-06-01T10:00:00.000Z")
        repo.add_note_lines({sha: [noted[sha]]})
        if attempt % 3 == 0:
            expected |= append(bob, rng.randint(1, 5), "bob")
            sync(bob)
        silent = subprocess.DEVNULL
        proc = subprocess.Popen([*tracker_command(), "sync"], cwd=alice.path, stdout=silent, stderr=silent)
        time.sleep(rng.uniform(0, one_sync))
        proc.kill()
        killed += proc.wait() == -9
        # At once, with whatever git children the killed sync left running: the next sync completes.
        done = alice.tracker("sync")
        assert done.returncode == 0, (attempt, done.stderr)
        deadline = time.monotonic() + 5
        while lock_files(alice.path / ".git", remote) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lock_files(alice.path / ".git", remote) == []
    sync(bob)
    sync(alice)
    assert killed >= 5  # most attempts really were cut short
    for where in (alice.path, bob.path, remote):
        ids = ledger_ids(where)
        assert len(ids) == len(set(ids)) and set(ids) == expected
        fsck_clean(where)
    assert notes_of(alice.path) == notes_of(bob.path) == notes_of(remote)
    for sha, line in noted.items():
        assert bob.git("notes", "--ref", "tracker", "show", sha).strip() == line


# -- parsers ----------------------------------------------------------------------------------------------

FLAGS = st.sampled_from([" ", "+", "-", "*", "=", "!"])
REFNAMES = st.from_regex(r"refs/(heads|notes)/[a-z][a-z0-9-]{0,12}", fullmatch=True)
REASONS = st.sampled_from(
    [None, "non-fast-forward", "fetch first", "pre-receive hook declined", "failed to update ref", "hook declined"]
)


@given(st.lists(st.tuples(FLAGS, REFNAMES, REASONS), max_size=6), st.lists(st.text(max_size=30), max_size=4))
def test_push_porcelain_lines_are_read_back_and_noise_is_ignored(
    lines: list[tuple[str, str, str | None]], noise: list[str]
) -> None:
    text = "To /some/remote.git\n"
    expected = {}
    for flag, ref, reason in lines:
        summary = "[rejected]" if flag == "!" else "abc1234..def5678"
        text += f"{flag}\t{'a' * 40}:{ref}\t{summary}" + (f" ({reason})" if reason else "") + "\n"
        expected[ref] = (flag, summary, reason)
    text += "".join(line.replace("\t", " ") + "\n" for line in noise) + "Done\n"
    parsed = parse_push_porcelain(text)
    assert {ref: (line.flag, line.summary, line.reason) for ref, line in parsed.items()} == expected
    for line in parsed.values():
        assert line.accepted == (line.flag != "!")
        retry_reasons = ("non-fast-forward", "fetch first", "failed to update ref")
        assert line.retryable == (line.flag == "!" and line.reason in retry_reasons)


NOTE_TEXT = st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=6).map(
    lambda lines: b"".join(line + b"\n" for line in lines)
)


@given(NOTE_TEXT, NOTE_TEXT, NOTE_TEXT)
def test_cat_sort_uniq_is_a_set_union_of_lines(a: bytes, b: bytes, c: bytes) -> None:
    merged = cat_sort_uniq(a, b)
    lines = merged.split(b"\n")[:-1] if merged else []
    assert lines == sorted({line for note in (a, b) for line in note.split(b"\n") if line})
    assert merged == cat_sort_uniq(b, a) == cat_sort_uniq(merged, a) == cat_sort_uniq(merged)
    assert cat_sort_uniq(cat_sort_uniq(a, b), c) == cat_sort_uniq(a, cat_sort_uniq(b, c))
    assert merged == b"" or merged.endswith(b"\n")
