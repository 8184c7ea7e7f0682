"""bench_team: `git tracker preview` on a team-sized ledger, 20 clones' records (200,000) merged into one clone.

Set-up (untimed): a bare remote and a "team" clone with `git tracker init`. 18 clones' records are written into
the team clone's ledger by ``git fast-import`` (one commit per window, as each command appends one), pushed with
a real ``git tracker sync``; then 2 more clones are made from the remote, each gets its own records the same way
and runs ``sync``, and the team clone runs ``sync`` again, merging theirs in. Each clone's records: windows of
seven (before and after snapshots, open, close, completion, a checkpoint, a usage record with the window's
tokens), under the clone's own agent id, spread over a year. ``git gc`` then packs the team clone, as
``gc --auto`` would have. A second repository with 10,000 records of the same shape is the baseline.

Measured, interleaved (shuffled order per round), wall and CPU (the process and its children), medians:

1. ``preview`` warm on the 200,000 records: the parse cache and indexes under ``.git/tracker/cache`` in place
   (one untimed run first). Target (issue 12): under 2 s.
2. ``preview`` cold on the 200,000: ``.git/tracker/cache`` removed before each run. Stated, no target.
3. ``status`` on the 200,000 (information).
4. baseline: ``preview`` warm on the 10,000-record ledger.

Run from the repository root: ``python bench/bench_team.py [--quick] [--strict] [--records N]``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_ledger import window_records
from benchlib import (
    Verdicts,
    arg_parser,
    fmt,
    git_init,
    hermetic_env,
    interleaved,
    machine_line,
    median,
    primary_cli,
    print_table,
    run,
    scratch_dir,
)

from gittracker.records import Record, record_path

WARM_TARGET_MS = 2000.0
CLONES = 20
SYNCED_CLONES = 2  # of the 20, made from the remote and merged by a real `git tracker sync`
BASELINE_RECORDS = 10_000
LEDGER = "refs/heads/tracker-ledger"
RECORDS_PER_WINDOW = 7


def clone_records(rng: random.Random, count: int, agent: str, now: datetime) -> list[list[Record]]:
    """``count`` records of one clone as windows (lists of seven), under ``agent``."""
    windows: list[list[Record]] = []
    written = 0
    while written < count:
        opened = now - timedelta(days=365) + timedelta(seconds=rng.randrange(360 * 86400))
        machine = machine_of(agent)
        records = [replace(record, agent_id=agent, machine=machine) for record in window_records(rng, opened)]
        close = next(record for record in records if record.kind == "window-close")
        records.append(_checkpoint(rng, close, agent))
        records.append(_usage(rng, close, agent))
        windows.append(records[: count - written])
        written += len(windows[-1])
    return windows


def machine_of(agent: str) -> str:
    """A machine id (12 base32 characters) per clone, as each clone's own `init` would have made one."""
    return base64.b32encode(hashlib.blake2b(agent.encode(), digest_size=10).digest()).decode().lower()[:12]


def _checkpoint(rng: random.Random, close: Record, agent: str) -> Record:
    return Record.new(
        "checkpoint",
        source="cli",
        agent_id=agent,
        machine=machine_of(agent),
        ts=close.ts,
        window_id=close["window_id"],
        provider=close["provider"],
        phase="final",
        commit=close["commit_end"],
        tokens=rng.randrange(10**6),
        added=rng.randrange(500),
        deleted=rng.randrange(200),
        files=rng.randrange(1, 30),
        commits=rng.randrange(1, 10),
    )


def _usage(rng: random.Random, close: Record, agent: str) -> Record:
    tokens = [rng.randrange(10**5) for _ in range(4)]
    return Record.new(
        "usage",
        source="ingest",
        agent_id=agent,
        machine=machine_of(agent),
        ts=close.ts,
        provider=close["provider"] if close["provider"] != "glm" else "claude",
        origin="claude-logs" if close["provider"] != "codex" else "codex-sessions",
        granularity="window",
        period=close["opened_ts"],
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cache_creation_tokens=tokens[2],
        cache_read_tokens=tokens[3],
        total_tokens=sum(tokens),
        cost_usd=None,
        models=[],
        scope=f"place:{rng.randbytes(8).hex()}",
        project=None,
        branch=None,
        this_repo=None,
        window_id=close["window_id"],
    )


def fast_import(path: Path, windows: Sequence[Sequence[Record]], env: dict[str, str], agent: str) -> None:
    """Append the windows to the ledger of ``path``, one commit each, by ``git fast-import``."""
    parent = tip_of(path, LEDGER, env)
    chunks: list[bytes] = []
    who = b"committer git-tracker <git-tracker@localhost> 1700000000 +0000\n"
    for records in windows:
        message = f"tracker: append {len(records)} record(s) ({agent})".encode()
        chunks.append(b"commit %s\n%sdata %d\n%s\n" % (LEDGER.encode(), who, len(message), message))
        if parent:
            chunks.append(f"from {parent}\n".encode())
            parent = ""  # later commits continue the branch fast-import is building
        for record in records:
            data = (record.to_json() + "\n").encode()
            where = record_path(record.id, record.kind).encode()
            chunks.append(b"M 100644 inline %s\ndata %d\n%s\n" % (where, len(data), data))
    chunks.append(b"done\n")
    done = subprocess.run(
        ["git", "fast-import", "--quiet", "--done"], cwd=path, env=env, input=b"".join(chunks), capture_output=True
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: git fast-import failed: {done.stderr.decode(errors='replace').strip()}")


def tip_of(path: Path, ref: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", ref], cwd=path, env=env, capture_output=True, text=True
    )
    return done.stdout.strip()


def count_records(path: Path, env: dict[str, str]) -> tuple[int, int]:
    """The records the clones wrote, and the anomalies ``sync`` added for their windows that overlap (the clones'
    windows are spread at random over a year, so some do, as a team's would)."""
    listing = run(["git", "ls-tree", "-r", "--name-only", LEDGER], path, env)
    files = [line for line in listing.splitlines() if line.endswith(".json")]
    marks = sum(1 for line in files if line.startswith("anomaly/"))
    return len(files) - marks, marks


def build(root: Path, env: dict[str, str], cli: tuple[str, ...], total: int, rng: random.Random) -> tuple[Path, Path]:
    """The team clone holding ``total`` records from 20 clones, and the baseline repository."""
    now = datetime.now(UTC)
    per_clone = total // CLONES
    remote = root / "remote.git"
    run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], root, env)
    seed = git_init(root / "seed", env)
    run(["git", "push", "-q", str(remote), "main"], seed, env)
    team = root / "team"
    run(["git", "clone", "-q", str(remote), str(team)], root, env)
    run([*cli, "init"], team, env)
    for number in range(CLONES - SYNCED_CLONES):
        agent = f"clone-{number:02d}"
        fast_import(team, clone_records(rng, per_clone, agent, now), env, agent)
    run([*cli, "sync"], team, env)
    for number in range(CLONES - SYNCED_CLONES, CLONES):
        agent = f"clone-{number:02d}"
        other = root / agent
        run(["git", "clone", "-q", str(remote), str(other)], root, env)
        run([*cli, "init"], other, env)
        run([*cli, "sync"], other, env)
        fast_import(other, clone_records(rng, per_clone, agent, now), env, agent)
        run([*cli, "sync"], other, env)
    run([*cli, "sync"], team, env)
    run(["git", "gc", "-q"], team, env)
    baseline = git_init(root / "baseline", env)
    run([*cli, "init"], baseline, env)
    fast_import(baseline, clone_records(rng, BASELINE_RECORDS, "baseline", now), env, "baseline")
    run(["git", "gc", "-q"], baseline, env)
    return team, baseline


def timed_cpu(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system, the process and every child it waited for) in ms of one command."""
    start = time.perf_counter_ns()
    process = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = (time.perf_counter_ns() - start) / 1e6
    if process.returncode != 0:
        raise SystemExit(f"bench: `{' '.join(cmd)}` failed in {cwd}: {errors.decode(errors='replace').strip()}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def clear_caches(repo: Path) -> None:
    shutil.rmtree(repo / ".git" / "tracker" / "cache", ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench team")
    parser.add_argument("--records", type=int, help="records in the team ledger (default 200000, --quick 20000)")
    parser.add_argument("--rounds", type=int, help="timed rounds (default 5, --quick 2)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    total = args.records or (20_000 if args.quick else 200_000)
    rounds = args.rounds or (2 if args.quick else 5)
    rng = random.Random(args.seed)
    verdicts = Verdicts()
    cli = primary_cli()
    with scratch_dir("gt-bench-team-", keep=args.keep) as root:
        env = hermetic_env(root, python_env_as_is=args.python_env_as_is)
        print(f"bench_team: preview on {total:,} records from {CLONES} clones ({SYNCED_CLONES} merged by a real sync)")
        print(f"  ({machine_line(env)})")
        print(f"cli: {' '.join(cli.argv)}")
        began = time.perf_counter()
        team, baseline = build(root, env, cli.argv, total, rng)
        held, marks = count_records(team, env)
        print(
            f"  built in {time.perf_counter() - began:.1f} s: the team ledger holds {held:,} records, and {marks:,} "
            "overlapping-windows anomalies its syncs recorded"
        )
        if held != total:
            raise SystemExit(f"bench: expected {total:,} records on the team ledger, found {held:,}")
        preview = [*cli.argv, "preview"]
        timed_cpu(preview, team, env)  # warm-up: the caches are built
        timed_cpu(preview, baseline, env)
        status = [*cli.argv, "status"]
        timed_cpu(status, team, env)

        def cold() -> tuple[float, float]:
            clear_caches(team)
            measured = timed_cpu(preview, team, env)
            timed_cpu(status, team, env)  # untimed: every cache rebuilt, so the warm measures that follow are warm
            return measured

        measures: dict[str, Callable[[], tuple[float, float]]] = {
            "preview warm, team": lambda: timed_cpu(preview, team, env),
            "preview cold, team": cold,
            "status, team": lambda: timed_cpu(status, team, env),
            "baseline: preview warm, 10k": lambda: timed_cpu(preview, baseline, env),
        }
        walls, cpus = interleaved(measures, rounds, rng)
        base_wall = median(walls["baseline: preview warm, 10k"])
        base_cpu = median(cpus["baseline: preview warm, 10k"])
        rows = [
            [
                name,
                fmt(median(walls[name]), 0),
                fmt(median(cpus[name]), 0),
                fmt(median(walls[name]) / base_wall),
                fmt(median(cpus[name]) / base_cpu),
            ]
            for name in measures
        ]
        print_table(
            f"medians of {rounds} interleaved rounds (ms)",
            ["measure", "wall", "cpu", "wall / baseline", "cpu / baseline"],
            rows,
        )
        warm = median(walls["preview warm, team"])
        scale = f" (at {total:,} records: the target is for 200,000)" if total != 200_000 else ""
        print()
        print(f"preview warm on {total:,} records: {fmt(warm, 0)} ms, target < {WARM_TARGET_MS:.0f} ms{scale}")
        print(f"  {verdicts.check('preview warm under 2 s', warm < WARM_TARGET_MS)}")
        print(f"preview cold: {fmt(median(walls['preview cold, team']), 0)} ms (stated, no target)")
        print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1, 5, 15 min)")
        return verdicts.summary(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
