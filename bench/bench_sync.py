"""bench_sync: `git tracker sync` between two clones of a bare remote on disk, against plain git push and fetch.

Set-up (untimed): a bare remote and two clones, both with `git tracker init`; a shared ledger of 1,000 records
(``--quick``: 200) synced to both; then 10,000 new records (``--quick``: 1,000) on clone A, written as a real
ledger grows (one commit per window of five records, by ``git fast-import``), with a note for every window's
commit; then ``git gc`` everywhere, as git's own ``gc --auto`` leaves a repository that has grown this much. These
three repositories are the templates: every timed run starts from fresh copies of them, so every run moves the
same objects.

Measured, interleaved (shuffled order per round), medians:

1. ``sync``: ``git tracker sync`` in A (pushes the new records and notes), then in B (fetches them). Targets:
   the two together under 3 s, and under 2x the baseline.
2. baseline: plain ``git push origin tracker-ledger refs/notes/tracker`` in A, then ``git fetch`` of both refs in
   B: the same objects over the same transport, with nothing merged, counted or checked.
3. ``sync`` with nothing new, in B right after (1). Target: under 300 ms. Reference: ``git-tracker --version``.
4. Information: B has 200 new records of its own as well, so its sync fetches, merges and pushes.

Run from the repository root: ``python bench/bench_sync.py [--quick] [--strict] [--records N]``.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_ledger import window_records
from benchlib import (
    Verdicts,
    arg_parser,
    fmt,
    git_init,
    hermetic_env,
    machine_line,
    median,
    percentile,
    primary_cli,
    print_table,
    run,
    scratch_dir,
    timed,
)

from gittracker.noteline import note_line
from gittracker.overlaps import anomaly, overlapping_pairs, span_of
from gittracker.records import Record, record_path

TOTAL_TARGET_MS = 3000.0
RATIO_TARGET = 2.0
NOTHING_NEW_TARGET_MS = 300.0
OWN_RECORDS_ON_B = 200
LEDGER = "refs/heads/tracker-ledger"
NOTES = "refs/notes/tracker"


# -- seeding ---------------------------------------------------------------------------------------------


def append_windows(
    path: Path, count: int, rng: random.Random, env: dict[str, str], agent_tag: str, closes: list[Record]
) -> int:
    """``count`` records appended to the ledger of ``path`` as windows of five, one commit each, and one note per
    window on a commit of its own; by ``git fast-import``. Returns how many notes were written.

    ``closes``: the windows already on that ledger, extended with these. The windows overlap at random, and each
    overlapping pair gets its anomaly in a commit of its own, as ``end`` would have recorded it, so a sync finds
    no new pair among them (one that did would record it, and the clones' tips would differ until the next)."""
    parents = {ref: tip_of(path, ref, env) for ref in (LEDGER, NOTES)}
    chunks: list[bytes] = []
    now = datetime.now(UTC)
    written = notes = 0
    mark = 0
    new_closes: list[Record] = []
    while written < count:
        opened = now - timedelta(days=60) + timedelta(seconds=rng.randrange(55 * 86400))
        records = window_records(rng, opened)[: count - written]
        new_closes += [record for record in records if record.kind == "window-close"]
        mark += 1
        chunks.append(
            _commit_header(LEDGER, f"tracker: append {len(records)} record(s) ({agent_tag})", parents[LEDGER])
        )
        parents[LEDGER] = ""  # later commits continue the branch fast-import is building
        for record in records:
            data = (record.to_json() + "\n").encode()
            chunks.append(
                b"M 100644 inline %s\ndata %d\n%s\n" % (record_path(record.id, record.kind).encode(), len(data), data)
            )
        written += len(records)
    marks = overlap_marks(closes, new_closes)
    closes += new_closes
    if marks:
        chunks.append(_commit_header(LEDGER, f"tracker: mark overlapping windows ({agent_tag})", parents[LEDGER]))
        parents[LEDGER] = ""
        for record in marks:
            data = (record.to_json() + "\n").encode()
            chunks.append(
                b"M 100644 inline %s\ndata %d\n%s\n" % (record_path(record.id, record.kind).encode(), len(data), data)
            )
    chunks.append(_commit_header(NOTES, f"Notes added by 'git tracker' ({agent_tag})", parents[NOTES]))
    for _ in range(0, count, 5):
        sha = rng.randbytes(20).hex()
        line = (
            note_line(f"01{rng.randbytes(12).hex().upper()[:24]}", "codex", agent_tag, "2026-01-01T00:00:00.000Z")
            + "\n"
        ).encode()
        chunks.append(b"M 100644 inline %s/%s\ndata %d\n%s\n" % (sha[:2].encode(), sha[2:].encode(), len(line), line))
        notes += 1
    chunks.append(b"done\n")
    done = subprocess.run(
        ["git", "fast-import", "--quiet", "--done"],
        cwd=path,
        env=env,
        input=b"".join(chunks),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: git fast-import failed: {done.stderr.decode(errors='replace').strip()}")
    return notes


def overlap_marks(old: list[Record], new: list[Record]) -> list[Record]:
    """The anomalies of the overlapping pairs that involve at least one of the ``new`` windows."""
    fresh = {close["window_id"] for close in new}
    pairs = overlapping_pairs(span_of(close) for close in [*old, *new])
    marks = {
        mark.id: mark
        for a, b in pairs
        if a.window_id in fresh or b.window_id in fresh
        for mark in [anomaly(a, b, "benchmachine")]
    }
    return list(marks.values())


def tip_of(path: Path, ref: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", ref], cwd=path, env=env, capture_output=True, text=True
    )
    return done.stdout.strip()


def _commit_header(ref: str, message: str, parent: str) -> bytes:
    who = "committer git-tracker <git-tracker@localhost> 1700000000 +0000"
    text = f"commit {ref}\n{who}\ndata {len(message)}\n{message}\n"
    if parent:
        text += f"from {parent}\n"
    return text.encode()


def build_templates(
    root: Path, env: dict[str, str], cli: tuple[str, ...], base: int, new: int, rng: random.Random
) -> dict[str, Path]:
    templates = root / "templates"
    remote = templates / "remote.git"
    run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], root, env)
    seed = git_init(templates / "seed", env)
    run(["git", "push", "-q", str(remote), "main"], seed, env)
    a, b = templates / "a", templates / "b"
    for clone in (a, b):
        run(["git", "clone", "-q", str(remote), str(clone)], root, env)
        run([*cli, "init"], clone, env)
    closes: list[Record] = []
    append_windows(a, base, rng, env, "shared", closes)
    run([*cli, "sync"], a, env)
    run([*cli, "sync"], b, env)
    shared_closes = list(closes)
    append_windows(a, new, rng, env, "new-on-a", closes)
    own = templates / "b-own"
    shutil.copytree(b, own, symlinks=True)
    append_windows(own, OWN_RECORDS_ON_B, rng, env, "new-on-b", shared_closes)
    for repo in (remote, a, b, own):
        run(["git", "gc", "-q"], repo, env)
    return {"remote": remote, "a": a, "b": b, "b-own": own}


def fresh_copies(templates: dict[str, Path], where: Path, env: dict[str, str], b_name: str = "b") -> tuple[Path, Path]:
    """Copies of the remote, A and the given B, the clones pointed at the copied remote."""
    if where.exists():
        shutil.rmtree(where)
    remote = where / "remote.git"
    shutil.copytree(templates["remote"], remote, symlinks=True)
    a, b = where / "a", where / "b"
    shutil.copytree(templates["a"], a, symlinks=True)
    shutil.copytree(templates[b_name], b, symlinks=True)
    for clone in (a, b):
        run(["git", "remote", "set-url", "origin", str(remote)], clone, env)
    os.sync()  # the copies' writes go to disk now, not under the timed runs
    return a, b


# -- the run ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench sync")
    parser.add_argument("--records", type=int, help="new records on clone A (default 10000, --quick 1000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    new = args.records or (1_000 if args.quick else 10_000)
    base = 200 if args.quick else 1_000
    reps = 2 if args.quick else 5
    rng = random.Random(args.seed)
    verdicts = Verdicts()
    cli = primary_cli()
    with scratch_dir("gt-bench-sync-", keep=args.keep) as root:
        began = time.perf_counter()
        env = hermetic_env(root, python_env_as_is=args.python_env_as_is)
        print(
            f"bench_sync: {new:,} new records (+{new // 5:,} notes) from clone A to clone B, ledger of {base:,} shared"
        )
        print(f"  ({machine_line(env)})")
        print(f"cli: {' '.join(cli.argv)}")
        seeding = time.perf_counter()
        templates = build_templates(root, env, cli.argv, base, new, rng)
        print(f"  templates built in {time.perf_counter() - seeding:.1f} s")
        # The windows' records and the anomalies of the pairs among them that overlap, as `end` records them.
        on_a = len(run(["git", "ls-tree", "-r", "--name-only", LEDGER], templates["a"], env).split())
        results: dict[str, list[float]] = {}

        def note(label: str, value: float) -> None:
            results.setdefault(label, []).append(value)

        def with_sync() -> None:
            a, b = fresh_copies(templates, root / "run", env)
            pushed, _ = timed([*cli.argv, "sync", "--json"], a, env)
            fetched, _ = timed([*cli.argv, "sync", "--json"], b, env)
            note("sync A (push)", pushed)
            note("sync B (fetch)", fetched)
            note("sync A + B", pushed + fetched)
            for _ in range(3):
                note("sync B, nothing new", timed([*cli.argv, "sync"], b, env)[0])
            check_synced(a, b, env, on_a, cli.argv)

        def with_git() -> None:
            a, b = fresh_copies(templates, root / "run", env)
            pushed, _ = timed(["git", "push", "-q", "origin", "tracker-ledger", NOTES], a, env)
            refspecs = [f"+{LEDGER}:refs/remotes/origin/tracker-ledger", f"+{NOTES}:{NOTES}"]
            fetched, _ = timed(["git", "fetch", "-q", "origin", *refspecs], b, env)
            note("git push A", pushed)
            note("git fetch B", fetched)
            note("git push + fetch", pushed + fetched)
            note("git-tracker --version", timed([*cli.argv, "--version"], b, env)[0])

        def with_merge() -> None:
            a, b = fresh_copies(templates, root / "run", env, "b-own")
            pushed, _ = timed([*cli.argv, "sync"], a, env)
            merged, _ = timed([*cli.argv, "sync"], b, env)
            note("sync B with its own 200 (fetch, merge, push)", merged)
            note("sync A + B, both sides new", pushed + merged)

        configs: list[Callable[[], None]] = [with_sync, with_git, with_merge]
        for _ in range(reps):
            rng.shuffle(configs)
            for config in configs:
                config()
        report(results, verdicts, new, targets=new >= 10_000)
        print(f"\nwall time of this run: {time.perf_counter() - began:.1f} s, load avg now {os.getloadavg()[0]:.2f}")
    return verdicts.summary(args.strict)


def check_synced(a: Path, b: Path, env: dict[str, str], expected: int, cli: tuple[str, ...]) -> None:
    """Both clones hold the same two tips, and B every record: the run measured a sync that did its job."""
    for ref in (LEDGER, NOTES):
        tips = {run(["git", "rev-parse", ref], where, env).strip() for where in (a, b)}
        if len(tips) != 1:
            raise SystemExit(f"bench: {ref} differs between the clones after sync: {tips}")
    count = sum(1 for line in run([*cli, "log", "--json"], b, env).splitlines() if line.strip())
    if count != expected:
        raise SystemExit(f"bench: clone B holds {count} records after sync, expected {expected}")


def report(results: dict[str, list[float]], verdicts: Verdicts, new: int, *, targets: bool) -> None:
    """``targets``: the issue's targets are for 10,000 records; a smaller run (``--quick``) shows its figures
    for information only, as start-up costs that do not grow with the data dominate them."""
    baseline = median(results["git push + fetch"])
    rows = []
    for label in ("git push A", "git fetch B", "git push + fetch", "sync A (push)", "sync B (fetch)", "sync A + B"):
        values = results[label]
        rows.append(
            [
                label,
                str(len(values)),
                fmt(median(values), 0),
                fmt(percentile(values, 90), 0),
                fmt(median(values) / baseline) + "x",
                "",
                "",
            ]
        )
    total = median(results["sync A + B"])
    rows[-1][5] = f"< {TOTAL_TARGET_MS:.0f} ms, < {RATIO_TARGET:g}x"
    if targets:
        under = verdicts.check(
            f"sync of {new:,} records A -> B: {total:.0f} ms < {TOTAL_TARGET_MS:.0f} ms", total < TOTAL_TARGET_MS
        )
        ratio = verdicts.check(
            f"sync A + B vs git push + fetch: {total / baseline:.2f}x < {RATIO_TARGET:g}x",
            total / baseline < RATIO_TARGET,
        )
        rows[-1][6] = f"{under}/{ratio}"
    else:
        rows[-1][6] = "info (targets: 10,000 records)"
    for label in ("sync B with its own 200 (fetch, merge, push)", "sync A + B, both sides new"):
        values = results[label]
        rows.append(
            [
                label,
                str(len(values)),
                fmt(median(values), 0),
                fmt(percentile(values, 90), 0),
                fmt(median(values) / baseline) + "x",
                "",
                "info",
            ]
        )
    print_table(
        f"sync of {new:,} new records between two clones, ms (ratio: vs git push + fetch)",
        ["what", "n", "median", "p90", "ratio", "target", "verdict"],
        rows,
    )

    start_up = median(results["git-tracker --version"])
    idle = results["sync B, nothing new"]
    rows = [
        [
            "git-tracker --version",
            str(len(results["git-tracker --version"])),
            fmt(start_up, 0),
            fmt(percentile(results["git-tracker --version"], 90), 0),
            "1.00x",
            "",
            "reference",
        ],
        [
            "sync, nothing new",
            str(len(idle)),
            fmt(median(idle), 0),
            fmt(percentile(idle, 90), 0),
            fmt(median(idle) / start_up) + "x",
            f"< {NOTHING_NEW_TARGET_MS:.0f}",
            verdicts.check(
                f"sync with nothing new: {median(idle):.0f} ms < {NOTHING_NEW_TARGET_MS:.0f} ms",
                median(idle) < NOTHING_NEW_TARGET_MS,
            ),
        ],
    ]
    print_table(
        "sync with nothing new, ms (ratio: vs the CLI's start-up)",
        ["what", "n", "median", "p90", "ratio", "target", "verdict"],
        rows,
    )


if __name__ == "__main__":
    raise SystemExit(main())
