"""What ledger and notes writes cost, and whether that grows with the data (DESIGN §2: "Append cost must
not grow with the ledger's size").

Measured in the same run, all in one repository: each ledger and notes tree is kept under its own
``refs/bench/<slot>`` and the product's ref (``refs/heads/tracker-ledger`` or ``refs/notes/tracker``) is
pointed at it, untimed, before each measured write. So every configuration writes into the same object
directory, and what differs between them is only the size of the tree being written to (separate
repositories would also differ in where the file system put their directories, which on ext4 alone
moved a 1 ms append to 7 ms in trials).

1. Ledger append, in process: ``Repo.append_records([one record])`` on a ledger of 10 records and on one of
   100,000 (``--quick``: 5,000) records spread over two years of sharded paths
   (``<kind>/<yyyy>/<mm>/<dd>/<id>.json``), seeded with pygit2 (loose objects), and on a twin of it
   written as one pack by ``git fast-import`` (how git keeps it after ``gc --auto``). "warm"
   reuses one open repository; "cold" opens it afresh for every append, as a CLI process does.
   Target: a big ledger costs at most 1.5x the small one.
2. Notes, in process: ``Repo.add_note_lines({sha: [line]})`` (two-hex-digit fanout) against pygit2's
   ``Repository.create_note`` on a flat notes tree, with 10 and 20,000 (``--quick``: 5,000) notes
   already there. Guard: ``add_note_lines`` on the big tree at most 2x the small one (the fanout root
   holds at most 256 subtrees, so the cost is bounded; a flat tree's grows with every note);
   ``create_note`` is the reference (libgit2, flat and fanout).
3. ``git tracker start`` and ``git tracker end`` as real CLI processes, on the small and the big (loose)
   ledger. Target: under 250 ms each (median). Baseline: ``git-tracker --version`` (CLI start-up).
   ``git tracker complete`` is timed too, for information (no target; only a few runs on the big ledger).

Run from the repository root: ``python bench/bench_ledger.py [--quick] [--strict]``.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
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
from gittracker.capacity import Reading
from gittracker.git import LEDGER_REF, NOTES_REF, Repo
from gittracker.noteline import note_line
from gittracker.records import Record, record_path

SAME_RATIO = 1.5
# Notes use a two-hex-digit fanout: the root tree tops out at 256 subtrees, so a write on a big notes tree
# costs a bounded constant more than on a tiny one (a flat tree grows with every note). The bench's
# guard for that bound; the issue sets no number for notes.
NOTES_RATIO = 2.0
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
        return Reading.of(
            five_hour_used=None if unit == "prompts" else value,
            weekly_used=float(rng.randrange(0, 100)),
            prompts=int(value) if unit == "prompts" else None,
            tokens=rng.randrange(0, 10**6),
        ).snapshot_fields()

    def new(kind: str, moment: datetime, **body: Any) -> Record:
        return Record.new(
            kind, source="cli", agent_id="main", machine="benchmachine", ts=clock.format_ts(moment), **body
        )

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
        meter="prompts" if unit == "prompts" else "five_hour",
        other_deltas={},
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


def seed_fast_import(path: Path, ref: str, files: Mapping[str, bytes], env: dict[str, str]) -> None:
    """One commit holding ``files`` on ``ref``, written into a single pack by ``git fast-import``."""
    chunks = [f"commit {ref}\ncommitter bench <bench@bench.invalid> 1700000000 +0000\ndata 5\nseed\n".encode()]
    for name, data in files.items():
        chunks.append(b"M 100644 inline %s\ndata %d\n%s\n" % (name.encode(), len(data), data))
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


def seed_notes(repo: pygit2.Repository, ref: str, count: int, rng: random.Random, *, fanout: bool) -> None:
    """``count`` notes on fake commit ids; 20 commits share each window's note line, as in real use."""
    blobs: list[pygit2.Oid] = []
    files: dict[str, bytes | pygit2.Oid] = {}
    for index in range(count):
        if index % 20 == 0:
            line = note_line(_id(rng), rng.choice(("codex", "claude", "glm")), "main", "2025-01-01T00:00:00.000Z")
            blobs.append(repo.create_blob((line + "\n").encode()))
        sha = rng.randbytes(20).hex()
        files[f"{sha[:2]}/{sha[2:]}" if fanout else sha] = blobs[-1]
    seed_ref(repo, ref, files)


def open_repo(path: Path) -> Repo:
    return Repo(path, path / ".git", path / ".git")


def count_blobs(repo: pygit2.Repository, tip: pygit2.Oid, under: str = "") -> int:
    tree: Any = repo[tip].peel(pygit2.Tree)
    if under:
        try:
            tree = repo[tree[under].id]
        except KeyError:
            return 0
    total = 0
    stack = [tree]
    while stack:
        for entry in stack.pop():
            if entry.type_str == "tree":
                stack.append(repo[entry.id])
            else:
                total += 1
    return total


@dataclass
class Slots:
    """Many ledgers (or notes trees) in one repository, each under ``refs/bench/<slot>``.

    ``load`` points the product's ref at a slot's tip before a write; ``save`` keeps the new tip. Both are
    done outside the timed part.
    """

    path: Path
    ref: str

    def __post_init__(self) -> None:
        self.repo = pygit2.Repository(str(self.path))

    @staticmethod
    def name(slot: str) -> str:
        return f"refs/bench/{slot}"

    def tip(self, slot: str) -> pygit2.Oid:
        target = self.repo.references[self.name(slot)].target
        if not isinstance(target, pygit2.Oid):
            raise SystemExit(f"bench: {self.name(slot)} is a symbolic reference")
        return target

    def _index(self, slot: str | None = None) -> Path:
        # The window index is local state that belongs to one ledger (it follows the ledger as the
        # ledger grows); swapping ledgers under one repository must swap their indexes too, or every
        # start would see a foreign ledger and rebuild it from scratch.
        cache = Path(self.repo.path) / "tracker" / "cache"
        return cache / (f"window-index.bench-{slot}.json" if slot else "window-index.json")

    def load(self, slot: str) -> None:
        self.repo.references.create(self.ref, self.tip(slot), force=True)
        if self.ref == LEDGER_REF:
            mine, live = self._index(slot), self._index()
            if mine.exists():
                shutil.copyfile(mine, live)
            else:
                live.unlink(missing_ok=True)

    def save(self, slot: str) -> None:
        self.repo.references.create(self.name(slot), self.repo.references[self.ref].target, force=True)
        if self.ref == LEDGER_REF and self._index().exists():
            shutil.copyfile(self._index(), self._index(slot))


# -- timing --------------------------------------------------------------------------------------------


def _nothing() -> None:
    return None


@dataclass
class Series:
    label: str
    action: Callable[[], None]
    before: Callable[[], None] = _nothing
    after: Callable[[], None] = _nothing
    values: list[float] = field(default_factory=list)


def interleaved(series: list[Series], reps: int, rng: random.Random) -> None:
    """Run each series' action ``reps`` times, in a shuffled order per round, so drift hits all alike."""
    for _ in range(reps):
        order = list(series)
        rng.shuffle(order)
        for item in order:
            item.before()
            start = time.perf_counter_ns()
            item.action()
            item.values.append((time.perf_counter_ns() - start) / 1e6)
            item.after()


def row(label: str, values: list[float], base: float) -> list[str]:
    mid = median(values)
    return [label, str(len(values)), fmt(mid, 3), fmt(percentile(values, 90), 3), fmt(mid / base) + "x"]


# -- the run ----------------------------------------------------------------------------------------------


def bench_appends(
    path: Path, ledgers: list[tuple[str, str]], reps: int, rng: random.Random, verdicts: Verdicts
) -> None:
    """``ledgers``: (label, slot); the first is the small one every other is compared with."""
    slots = Slots(path, LEDGER_REF)
    series: dict[tuple[str, bool], Series] = {}
    for label, slot in ledgers:
        for cold in (False, True):
            records = [
                Record.new(
                    "anomaly",
                    source="cli",
                    agent_id="bench",
                    machine="benchmachine",
                    code="bench-append",
                    window_id=None,
                    detail="x",
                )
                for _ in range(reps)
            ]
            warm = open_repo(path)

            def action(records: list[Record] = records, warm: Repo = warm, cold: bool = cold) -> None:
                repo = open_repo(path) if cold else warm
                repo.append_records([records.pop()])

            series[(slot, cold)] = Series(
                f"{label}, {'cold' if cold else 'warm'}",
                action,
                before=partial(slots.load, slot),
                after=partial(slots.save, slot),
            )
    interleaved(list(series.values()), reps, rng)
    for _label, slot in ledgers:
        landed = count_blobs(slots.repo, slots.tip(slot), "anomaly")
        if landed != 2 * reps:
            raise SystemExit(f"bench: expected {2 * reps} appended records in slot {slot}, found {landed}")

    rows = []
    small = ledgers[0]
    for cold in (False, True):
        base = median(series[(small[1], cold)].values)
        mode = "cold (repository opened per append)" if cold else "warm (one open repository)"
        rows.append([*row(series[(small[1], cold)].label, series[(small[1], cold)].values, base), "", ""])
        for label, slot in ledgers[1:]:
            big = series[(slot, cold)]
            ratio = median(big.values) / base
            verdict = verdicts.check(f"append {mode}: {label} vs {small[0]} {ratio:.2f}x", ratio <= SAME_RATIO)
            rows.append([*row(big.label, big.values, base), f"<= {SAME_RATIO}x", verdict])
    print_table(
        "Repo.append_records([one record]) in process, ms (ratio: vs the same mode on the small ledger)",
        ["ledger", "n", "median", "p90", "ratio", "target", "verdict"],
        rows,
    )


def bench_notes(path: Path, sizes: tuple[int, int], reps: int, rng: random.Random, verdicts: Verdicts) -> None:
    methods = (
        ("add_note_lines", True, "Repo.add_note_lines, 2-hex fanout"),
        ("create_note", False, "pygit2 create_note, flat tree"),
        ("create_note", True, "pygit2 create_note, 2-hex fanout tree"),
    )
    slots = Slots(path, NOTES_REF)
    product = open_repo(path)
    line = note_line(_id(rng), "codex", "main", "2025-01-01T00:00:00.000Z")
    series: dict[tuple[int, int], Series] = {}
    for index, (method, fanout, label) in enumerate(methods):
        for size in sizes:
            slot = f"notes-{index}-{size}"
            seed_notes(slots.repo, Slots.name(slot), size, rng, fanout=fanout)

            def action(method: str = method) -> None:
                sha = rng.randbytes(20).hex()
                if method == "add_note_lines":
                    product.add_note_lines({sha: [line]})
                else:
                    slots.repo.create_note(line + "\n", SIGNATURE, SIGNATURE, sha, NOTES_REF, False)

            series[(index, size)] = Series(
                f"{label}, {size:,} notes",
                action,
                before=partial(slots.load, slot),
                after=partial(slots.save, slot),
            )
    interleaved(list(series.values()), reps, rng)
    for index, _method in enumerate(methods):
        for size in sizes:
            found = count_blobs(slots.repo, slots.tip(f"notes-{index}-{size}"))
            if found != size + reps:
                raise SystemExit(f"bench: expected {size + reps} notes in slot notes-{index}-{size}, found {found}")

    rows = []
    for index, (method, _fanout, label) in enumerate(methods):
        base = median(series[(index, sizes[0])].values)
        big = series[(index, sizes[1])]
        ratio = median(big.values) / base
        rows.append([*row(series[(index, sizes[0])].label, series[(index, sizes[0])].values, base), "", ""])
        if method == "add_note_lines":
            verdict = verdicts.check(f"{label}: {sizes[1]:,} vs {sizes[0]:,} notes {ratio:.2f}x", ratio <= NOTES_RATIO)
            rows.append([*row(big.label, big.values, base), f"<= {NOTES_RATIO}x", verdict])
        else:
            rows.append([*row(big.label, big.values, base), "", "reference"])
    print_table(
        "one note written for a new commit, in process, ms (ratio: vs the same method with few notes)",
        ["method", "n", "median", "p90", "ratio", "target", "verdict"],
        rows,
    )


COMPLETE = ("complete", "--outcome", "shipped", "--quality", "0.8")
COMPLETE_REPS_ON_BIG = 1


def bench_cli(path: Path, ledgers: list[tuple[str, str]], env: dict[str, str], reps: int, verdicts: Verdicts) -> None:
    """start and end under the target; ``complete`` as information (the issue gives it no target), and
    on the big ledger only a few times, as it reads the window records of the whole ledger."""
    slots = Slots(path, LEDGER_REF)
    clis = cli_variants()
    primary = clis[0]
    via_git = Cli("git tracker (through git)", ("git", "tracker"))
    (small_label, small), (big_label, big) = ledgers[0], ledgers[1]
    configs: list[tuple[Cli, str, str, bool]] = [(primary, small_label, small, True), (primary, big_label, big, True)]
    configs += [(cli, small_label, small, False) for cli in [*clis[1:], via_git]]
    version: dict[str, list[float]] = {cli.label: [] for cli, *_ in configs}
    results: dict[tuple[str, str, str], list[float]] = {}
    used = 10

    def reading(command: str) -> list[str]:
        nonlocal used
        used += 1
        return [command, "codex", "--used", str(used % 100)]

    for cli, _label, slot, _primary in configs:  # warm-up: bytecode cache, page cache
        slots.load(slot)
        run([*cli.argv, *reading("start")], path, env)
        run([*cli.argv, *reading("end")], path, env)
        slots.save(slot)
    for rep in range(reps):
        for cli, label, slot, primary_config in configs:
            version[cli.label].append(timed([*cli.argv, "--version"], path, env)[0])
            commands = [("start", reading("start")), ("end", reading("end"))]
            if primary_config and (slot == small or rep < COMPLETE_REPS_ON_BIG):
                commands.append(("complete", list(COMPLETE)))
            for name, command in commands:
                slots.load(slot)
                elapsed, _ = timed([*cli.argv, *command], path, env)
                slots.save(slot)
                results.setdefault((cli.label, name, label), []).append(elapsed)
    slots.load(big)  # once, for information: the first start on a big ledger builds the window index
    slots._index().unlink(missing_ok=True)
    first_start, _ = timed([*primary.argv, *reading("start")], path, env)
    run([*primary.argv, *reading("end")], path, env)
    slots.save(big)
    rows = []
    for cli_label, values in version.items():
        rows.append([f"{cli_label} --version (baseline)", "-", *row("", values, median(values))[1:], "", ""])
    for cli, label, _slot, primary_config in configs:
        base = median(version[cli.label])
        for name in ("start", "end", "complete"):
            values = results.get((cli.label, name, label), [])
            if not values:
                continue
            mid = median(values)
            if primary_config and name != "complete":
                verdict = verdicts.check(
                    f"{name} via {cli.label} on {label}: {mid:.0f} ms < {CLI_TARGET_MS:.0f} ms", mid < CLI_TARGET_MS
                )
            else:
                verdict = "info: under" if mid < CLI_TARGET_MS else "info: over"
            target = f"< {CLI_TARGET_MS:g}" if name != "complete" else "none"
            rows.append([f"{cli.label} {name}", label, *row("", values, base)[1:], target, verdict])
    print_table(
        "git tracker start / end / complete as CLI processes, ms (ratio: vs the same CLI's --version)",
        ["command", "ledger", "n", "median", "p90", "ratio", "target", "verdict"],
        rows,
    )
    for name in ("start", "end", "complete"):
        ratio = median(results[(primary.label, name, big_label)]) / median(results[(primary.label, name, small_label)])
        print(f"  {name}: {big_label} vs {small_label}: {ratio:.2f}x")
    print(
        f"  once, not a target: the first start on the {big_label} ledger, which builds the window index "
        f"(<git-dir>/tracker/cache), took {first_start:.0f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench ledger")
    parser.add_argument("--records", type=int, help="records in the big ledger (default 100000, --quick 5000)")
    parser.add_argument("--notes", type=int, help="notes in the big notes tree (default 20000, --quick 5000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    big = args.records or (5_000 if quick else 100_000)
    big_notes = args.notes or (5_000 if quick else 20_000)
    append_reps, note_reps, cli_reps = (40, 30, 4) if quick else (120, 80, 6)
    rng = random.Random(args.seed)
    verdicts = Verdicts()

    with scratch_dir("gt-bench-ledger-", keep=args.keep) as root:
        began = time.perf_counter()
        env = hermetic_env(root, python_env_as_is=args.python_env_as_is)
        print(f"bench_ledger: ledgers of 10 and {big:,} records, notes 10 and {big_notes:,}")
        print(f"  ({machine_line(env)})")
        print(f"cli: {' '.join(cli_variants()[0].argv)}   repo: {root / 'repo'}")
        path = git_init(root / "repo", env)
        run([*cli_variants()[0].argv, "init"], path, env)
        repo = pygit2.Repository(str(path))
        ledgers = [("10 records", "small"), (f"{big:,} records, loose", "big-loose")]
        files: dict[str, bytes] = {}
        for (label, slot), size in zip(ledgers, (10, big), strict=True):
            seeding = time.perf_counter()
            files = ledger_files(size, rng)
            seed_ref(repo, Slots.name(slot), files)
            print(f"  seeded {label} (pygit2 TreeBuilder) in {time.perf_counter() - seeding:.1f} s")
        # A big ledger as git keeps it once `gc --auto` (which the user's own commits run) has packed it:
        # the same paths, with contents that differ (so no object is shared with the loose ledger).
        seeding = time.perf_counter()
        ledgers.append((f"{big:,} records, packed", "big-packed"))
        packed = {name: data.replace(b'"source":"cli"', b'"source":"ingest"') for name, data in files.items()}
        seed_fast_import(path, Slots.name("big-packed"), packed, env)
        print(f"  seeded {big:,} records, packed (git fast-import) in {time.perf_counter() - seeding:.1f} s")

        bench_appends(path, ledgers, append_reps, rng, verdicts)
        bench_notes(path, (10, big_notes), note_reps, rng, verdicts)
        bench_cli(path, ledgers, env, cli_reps, verdicts)
        print(f"\nwall time of this run: {time.perf_counter() - began:.1f} s, load avg now {os.getloadavg()[0]:.2f}")
    return verdicts.summary(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
