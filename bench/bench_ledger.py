"""What ledger and notes writes cost, and whether that grows with the data (DESIGN §2: "Append cost must
not grow with the ledger's size").

Measured in the same run:

1. Ledger append, in process: ``Repo.append_records([one record])`` on a ledger of 10 records and on one of
   100,000 (``--quick``: 5,000) records spread over two years of sharded paths
   (``<kind>/<yyyy>/<mm>/<dd>/<id>.json``). "warm" reuses one open repository; "cold" opens it afresh
   for every append, as a CLI process does. Target: the big ledger costs at most 1.5x the small one.
2. Notes, in process: ``Repo.add_note_lines({sha: [line]})`` (two-hex-digit fanout) against pygit2's
   ``Repository.create_note`` on a flat notes tree, with 10 and 20,000 (``--quick``: 5,000) notes
   already there. Target: ``add_note_lines`` on the big tree at most 1.5x the small one; ``create_note``
   is the reference (libgit2, flat and fanout).
3. ``git tracker start`` and ``git tracker end`` as real CLI processes, on the small and the big ledger.
   Target: under 250 ms each (median). Baseline: ``git-tracker --version`` (interpreter + CLI start-up).

Run from the repository root: ``python bench/bench_ledger.py [--quick] [--strict]``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pygit2
from benchlib import (
    Cli,
    Verdicts,
    arg_parser,
    cli_variants,
    fmt,
    git_init,
    hermetic_env,
    machine_line,
    median,
    percentile,
    print_table,
    run,
    scratch_dir,
    timed,
)

from gittracker import clock
from gittracker.git import LEDGER_REF, NOTES_REF, Repo
from gittracker.records import Record, note_line, record_path

SAME_RATIO = 1.5
CLI_TARGET_MS = 250.0
SPAN_DAYS = 730
SIGNATURE = pygit2.Signature("bench", "bench@bench.invalid", 1_700_000_000, 0)
Nested = dict[str, Any]


# -- seeding -------------------------------------------------------------------------------------------


def _id(rng: random.Random) -> str:
    return clock.new_id(datetime.now(UTC) - timedelta(seconds=rng.randrange(1, 10**6)))


def window_records(rng: random.Random, opened: datetime) -> list[Record]:
    """The five records one window leaves: before, open, after, close, completion."""
    provider = rng.choice(("codex", "claude", "glm"))
    unit = "prompts" if provider == "glm" else "percent"
    window_id = clock.new_id(opened)
    closed = opened + timedelta(minutes=rng.randrange(10, 240))
    judged = closed + timedelta(minutes=rng.randrange(1, 600))
    start_sha = rng.randbytes(20).hex()
    end_sha = rng.randbytes(20).hex()
    used = float(rng.randrange(0, 60))

    def reading(value: float) -> dict[str, Any]:
        return {
            "five_hour_used": None if unit == "prompts" else value,
            "weekly_used": float(rng.randrange(0, 100)),
            "resets_at": None,
            "weekly_resets_at": None,
            "prompts": int(value) if unit == "prompts" else None,
            "tokens": rng.randrange(0, 10**6),
            "parse_errors": [],
        }

    def new(kind: str, moment: datetime, **body: Any) -> Record:
        return Record.new(kind, source="cli", agent_id="main", ts=clock.format_ts(moment), **body)

    before = new("snapshot", opened, provider=provider, phase="before", window_id=window_id, **reading(used))
    opening = new(
        "window-open",
        opened,
        window_id=window_id,
        provider=provider,
        commit_start=start_sha,
        snapshot_id=before.id,
        feature_id=f"F-{rng.randrange(1000)}",
        methodology=None,
        note=None,
    )
    delta = float(rng.randrange(1, 30))
    after = new("snapshot", closed, provider=provider, phase="after", window_id=window_id, **reading(used + delta))
    closing = new(
        "window-close",
        closed,
        window_id=window_id,
        provider=provider,
        commit_start=start_sha,
        commit_end=end_sha,
        snapshot_id=after.id,
        opened_ts=opening.ts,
        delta=delta,
        unit=unit,
        errors=[],
        notes=[],
        feature_id=opening["feature_id"],
        methodology=None,
        note=None,
    )
    outcome = new(
        "completion",
        judged,
        window_id=window_id,
        outcome=rng.choice(("shipped", "partial", "failed")),
        quality_score=round(rng.random(), 3),
        feature_id=opening["feature_id"],
    )
    return [before, opening, after, closing, outcome]


def ledger_files(count: int, rng: random.Random) -> dict[str, bytes]:
    """``count`` records (whole windows, then trimmed) at times spread over the last two years."""
    now = datetime.now(UTC)
    windows = (count + 4) // 5
    files: dict[str, bytes] = {}
    for _ in range(windows):
        opened = now - timedelta(days=SPAN_DAYS) + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400 - 86400))
        for record in window_records(rng, opened):
            if len(files) < count:
                files[record_path(record.id, record.kind)] = (record.to_json() + "\n").encode()
    return files


def write_tree(repo: pygit2.Repository, nested: Mapping[str, Any]) -> pygit2.Oid:
    """A tree from ``{name: bytes | Oid (a blob) | dict (a subtree)}``, written bottom-up with TreeBuilder."""
    builder = repo.TreeBuilder()
    for name in sorted(nested):
        child = nested[name]
        if isinstance(child, dict):
            builder.insert(name, write_tree(repo, child), pygit2.enums.FileMode.TREE)
        else:
            oid = child if isinstance(child, pygit2.Oid) else repo.create_blob(child)
            builder.insert(name, oid, pygit2.enums.FileMode.BLOB)
    return builder.write()


def nest(files: Mapping[str, bytes | pygit2.Oid]) -> Nested:
    root: Nested = {}
    for path, content in files.items():
        node = root
        *dirs, name = path.split("/")
        for part in dirs:
            node = node.setdefault(part, {})
        node[name] = content
    return root


def seed_ref(repo: pygit2.Repository, ref: str, files: Mapping[str, bytes | pygit2.Oid]) -> None:
    tree = write_tree(repo, nest(files))
    repo.create_commit(ref, SIGNATURE, SIGNATURE, f"bench: seed {len(files)} entries", tree, [])


def seed_notes(repo: pygit2.Repository, count: int, rng: random.Random, *, fanout: bool) -> None:
    """``count`` notes on fake commit ids; 20 commits share each window's note line, as in real use."""
    blobs: list[pygit2.Oid] = []
    files: dict[str, bytes | pygit2.Oid] = {}
    for index in range(count):
        if index % 20 == 0:
            line = note_line(_id(rng), rng.choice(("codex", "claude", "glm")), "main", "2025-01-01T00:00:00.000Z")
            blobs.append(repo.create_blob((line + "\n").encode()))
        sha = rng.randbytes(20).hex()
        files[f"{sha[:2]}/{sha[2:]}" if fanout else sha] = blobs[-1]
    seed_ref(repo, NOTES_REF, files)


def open_repo(path: Path) -> Repo:
    return Repo(path, path / ".git", path / ".git")


# -- timing --------------------------------------------------------------------------------------------


@dataclass
class Series:
    label: str
    action: Callable[[], None]
    values: list[float]


def interleaved(series: list[Series], reps: int, rng: random.Random) -> None:
    """Run each series' action ``reps`` times, in a shuffled order per round, so drift hits all alike."""
    for _ in range(reps):
        order = list(series)
        rng.shuffle(order)
        for item in order:
            start = time.perf_counter_ns()
            item.action()
            item.values.append((time.perf_counter_ns() - start) / 1e6)


def row(label: str, values: list[float], base: float) -> list[str]:
    mid = median(values)
    return [label, str(len(values)), fmt(mid, 3), fmt(percentile(values, 90), 3), fmt(mid / base) + "x"]


def appender(repo_path: Path, records: list[Record], *, cold: bool) -> Callable[[], None]:
    pending = list(reversed(records))
    warm = open_repo(repo_path)

    def action() -> None:
        repo = open_repo(repo_path) if cold else warm
        repo.append_records([pending.pop()])

    return action


def note_writer(repo_path: Path, rng: random.Random, method: str) -> Callable[[], None]:
    repo = open_repo(repo_path)
    line = note_line(_id(rng), "codex", "main", "2025-01-01T00:00:00.000Z")

    def action() -> None:
        sha = rng.randbytes(20).hex()
        if method == "add_note_lines":
            repo.add_note_lines({sha: [line]})
        else:
            repo.pygit.create_note(line + "\n", SIGNATURE, SIGNATURE, sha, NOTES_REF, False)

    return action


# -- the run ----------------------------------------------------------------------------------------------


def bench_appends(
    small: Path, large: Path, sizes: tuple[int, int], reps: int, rng: random.Random, verdicts: Verdicts
) -> None:
    def records(n: int) -> list[Record]:
        return [
            Record.new("anomaly", source="cli", agent_id="bench", code="bench-append", window_id=None, detail="x")
            for _ in range(n)
        ]

    series = {
        (size, cold): Series(
            f"{size:,} records, {'cold' if cold else 'warm'}", appender(path, records(reps), cold=cold), []
        )
        for size, path in zip(sizes, (small, large), strict=True)
        for cold in (False, True)
    }
    interleaved(list(series.values()), reps, rng)
    rows = []
    for cold in (False, True):
        base = median(series[(sizes[0], cold)].values)
        big = series[(sizes[1], cold)]
        ratio = median(big.values) / base
        kind = "cold (repository opened per append)" if cold else "warm (one open repository)"
        rows.append([*row(series[(sizes[0], cold)].label, series[(sizes[0], cold)].values, base), "", ""])
        rows.append(
            [
                *row(big.label, big.values, base),
                f"<= {SAME_RATIO}x",
                verdicts.check(
                    f"append {kind}: {sizes[1]:,} vs {sizes[0]:,} records {ratio:.2f}x", ratio <= SAME_RATIO
                ),
            ]
        )
    print_table(
        "Repo.append_records([one record]) in process, ms (ratio: vs the same mode on the small ledger)",
        ["ledger", "n", "median", "p90", "ratio", "target", "verdict"],
        rows,
    )


def bench_notes(root: Path, sizes: tuple[int, int], reps: int, rng: random.Random, verdicts: Verdicts) -> None:
    methods = (
        ("add_note_lines", True, "Repo.add_note_lines, 2-hex fanout"),
        ("create_note", False, "pygit2 create_note, flat tree"),
        ("create_note", True, "pygit2 create_note, 2-hex fanout tree"),
    )
    series: dict[tuple[int, int], Series] = {}
    for index, (method, fanout, label) in enumerate(methods):
        for size in sizes:
            path = root / f"notes-{index}-{size}"
            pygit2.init_repository(str(path))
            seed_notes(pygit2.Repository(str(path)), size, rng, fanout=fanout)
            series[(index, size)] = Series(f"{label}, {size:,} notes", note_writer(path, rng, method), [])
    interleaved(list(series.values()), reps, rng)
    rows = []
    for index, (method, _fanout, label) in enumerate(methods):
        base = median(series[(index, sizes[0])].values)
        big = series[(index, sizes[1])]
        ratio = median(big.values) / base
        rows.append([*row(series[(index, sizes[0])].label, series[(index, sizes[0])].values, base), "", ""])
        if method == "add_note_lines":
            verdict = verdicts.check(f"{label}: {sizes[1]:,} vs {sizes[0]:,} notes {ratio:.2f}x", ratio <= SAME_RATIO)
            rows.append([*row(big.label, big.values, base), f"<= {SAME_RATIO}x", verdict])
        else:
            rows.append([*row(big.label, big.values, base), "", "reference"])
    print_table(
        "one note written for a new commit, in process, ms (ratio: vs the same method with few notes)",
        ["method", "n", "median", "p90", "ratio", "target", "verdict"],
        rows,
    )


def bench_cli(
    small: Path, large: Path, sizes: tuple[int, int], env: dict[str, str], reps: int, verdicts: Verdicts
) -> None:
    clis = cli_variants()
    primary = clis[0]
    via_git = Cli("git tracker (through git)", ("git", "tracker"))
    configs: list[tuple[Cli, Path, int, bool]] = [(primary, small, sizes[0], True), (primary, large, sizes[1], True)]
    configs += [(cli, small, sizes[0], False) for cli in [*clis[1:], via_git]]
    version: dict[str, list[float]] = {cli.label: [] for cli, *_ in configs}
    results: dict[tuple[str, str, int], list[float]] = {}
    used = 10
    for _ in range(reps):
        for cli, repo, size, _target in configs:
            version[cli.label].append(timed([*cli.argv, "--version"], repo, env)[0])
            for command in ("start", "end"):
                used += 1
                elapsed, _ = timed([*cli.argv, command, "codex", "--used", str(used % 100)], repo, env)
                results.setdefault((cli.label, command, size), []).append(elapsed)
    rows = []
    for label, values in version.items():
        rows.append([f"{label} --version (baseline)", "-", *row("", values, median(values))[1:], "", ""])
    for cli, _repo, size, target in configs:
        base = median(version[cli.label])
        for command in ("start", "end"):
            values = results[(cli.label, command, size)]
            mid = median(values)
            verdict = (
                verdicts.check(
                    f"{command} via {cli.label} on {size:,} records: {mid:.0f} ms < {CLI_TARGET_MS:.0f} ms",
                    mid < CLI_TARGET_MS,
                )
                if target
                else ("info: PASS" if mid < CLI_TARGET_MS else "info: over")
            )
            rows.append(
                [f"{cli.label} {command}", f"{size:,}", *row("", values, base)[1:], f"< {CLI_TARGET_MS:g}", verdict]
            )
    print_table(
        "git tracker start / end as CLI processes, ms (ratio: vs the same CLI's --version)",
        ["command", "ledger", "n", "median", "p90", "ratio", "target", "verdict"],
        rows,
    )
    for command in ("start", "end"):
        ratio = median(results[(primary.label, command, sizes[1])]) / median(
            results[(primary.label, command, sizes[0])]
        )
        print(f"  {command}: {sizes[1]:,}-record ledger vs {sizes[0]:,}: {ratio:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench ledger")
    parser.add_argument("--records", type=int, help="records in the big ledger (default 100000, --quick 5000)")
    parser.add_argument("--notes", type=int, help="notes in the big notes tree (default 20000, --quick 5000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    big_ledger = args.records or (5_000 if quick else 100_000)
    big_notes = args.notes or (5_000 if quick else 20_000)
    append_reps, note_reps, cli_reps = (40, 30, 4) if quick else (200, 100, 12)
    rng = random.Random(args.seed)
    verdicts = Verdicts()

    with scratch_dir("gt-bench-ledger-", keep=args.keep) as root:
        began = time.perf_counter()
        env = hermetic_env(root)
        print(f"bench_ledger: ledgers of 10 and {big_ledger:,} records, notes 10 and {big_notes:,} ({machine_line()})")
        print(f"cli: {' '.join(cli_variants()[0].argv)}   repos: {root}")
        sizes = (10, big_ledger)
        paths = []
        for size in sizes:
            path = git_init(root / f"ledger-{size}", env)
            run([*cli_variants()[0].argv, "init"], path, env)
            seeding = time.perf_counter()
            seed_ref(pygit2.Repository(str(path)), LEDGER_REF, ledger_files(size, rng))
            print(f"  seeded {size:,} records in {time.perf_counter() - seeding:.1f} s")
            paths.append(path)
        small, large = paths
        bench_appends(small, large, sizes, append_reps, rng, verdicts)
        bench_notes(root, (10, big_notes), note_reps, rng, verdicts)
        bench_cli(small, large, sizes, env, cli_reps, verdicts)
        print(f"\nwall time of this run: {time.perf_counter() - began:.1f} s")
    return verdicts.summary(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
