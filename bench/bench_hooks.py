"""What the git-tracker hooks cost a ``git commit`` (DESIGN §3: "fast, chained, never in the way").

Three throwaway repositories, measured in the same run:

* plain: ``git init`` only, no hooks — the baseline;
* hooks: ``git tracker init`` done, no window open — target: at most 1.3x the baseline;
* window: ``git tracker init`` and ``git tracker start codex --used 10`` — target: the hook adds at most
  15 ms per commit (goal 8 ms). The post-commit hook queues a stamp and spawns a detached flusher that
  writes the notes, so this is measured two ways:
    - paced: each commit waits until the flusher is done before the next one; the commit is timed
      alternately with a baseline commit, so neither competes with a background flusher;
    - burst: commits back to back, as an agent makes them; the flusher runs beside the commits, which
      is what a user sees on a busy machine. Baseline: a burst in the plain repository.
  Also reported: how long after a commit (paced) or after the last commit (burst) its note exists,
  and whether every commit made inside the window got its note.

Run from the repository root: ``python bench/bench_hooks.py [--quick] [--strict] [--reps N]``.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchlib import (
    Cli,
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

COMMIT = ("git", "commit", "--allow-empty", "-q", "-m", "x")
RATIO_TARGET = 1.3
ADDED_MS_TARGET = 15.0
ADDED_MS_GOAL = 8.0
IDLE_TIMEOUT_S = 60.0


@dataclass
class Bench:
    env: dict[str, str]
    cli: Cli
    plain: Path
    hooks: Path
    window: Path
    hook_warnings: int = 0

    def commit(self, repo: Path) -> float:
        elapsed, stderr = timed(COMMIT, repo, self.env)
        if stderr.strip():
            self.hook_warnings += 1
            if self.hook_warnings <= 3:
                print(f"  warning from a commit in {repo.name}: {stderr.strip()}", file=sys.stderr)
        return elapsed


def flushers_alive(repo: Path) -> int:
    """Background flushers (``python -m gittracker.hookrun flush <repo>``) still running (Linux /proc)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return 0
    needle = str(repo).encode()
    count = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"gittracker.hookrun" in cmdline and needle in cmdline:
            count += 1
    return count


def queue_drained(repo: Path) -> bool:
    """No queued stamp and no flush in progress: every stamp queued so far is in ``refs/notes/tracker``."""
    state = repo / ".git" / "tracker"
    if (state / "queue").exists() or (state / "flush.running").exists():
        return False
    return not any(state.glob("queue.*.taken"))


def wait_drained(repo: Path) -> float:
    """Poll until the queue is drained; return the ms it took."""
    start = time.perf_counter()
    deadline = start + IDLE_TIMEOUT_S
    while not queue_drained(repo):
        if time.perf_counter() > deadline:
            raise SystemExit(f"bench: the note queue in {repo} did not drain within {IDLE_TIMEOUT_S:.0f} s")
        time.sleep(0.0005)
    return (time.perf_counter() - start) * 1000


def wait_quiet(repo: Path) -> None:
    """Drained and no flusher process left (a burst can spawn several), so the next phase runs alone."""
    wait_drained(repo)
    deadline = time.perf_counter() + IDLE_TIMEOUT_S
    while flushers_alive(repo):
        if time.perf_counter() > deadline:
            raise SystemExit(f"bench: background flushers for {repo} still running after {IDLE_TIMEOUT_S:.0f} s")
        time.sleep(0.005)
    wait_drained(repo)


def missing_notes(repo: Path, env: dict[str, str], since: str) -> tuple[int, int]:
    """(commits made since ``since`` without a tracker note, commits made since ``since``)."""
    commits = set(run(["git", "rev-list", f"{since}..HEAD"], repo, env).split())
    listing = run(["git", "notes", "--ref=refs/notes/tracker", "list"], repo, env)
    annotated = {line.split()[1] for line in listing.splitlines() if len(line.split()) == 2}
    return len(commits - annotated), len(commits)


def setup(root: Path) -> Bench:
    env = hermetic_env(root)
    cli = primary_cli()
    plain = git_init(root / "plain", env)
    hooks = git_init(root / "hooks", env)
    window = git_init(root / "window", env)
    for repo in (hooks, window):
        run([*cli.argv, "init"], repo, env)
    run([*cli.argv, "start", "codex", "--used", "10"], window, env)
    return Bench(env, cli, plain, hooks, window)


def goal(added: float) -> str:
    return "goal met" if added <= ADDED_MS_GOAL else f"goal {ADDED_MS_GOAL:g} ms missed"


def stats_row(label: str, values: list[float], base: float, target: str, verdict: str) -> list[str]:
    mid = median(values)
    return [
        label,
        str(len(values)),
        fmt(mid),
        fmt(percentile(values, 90)),
        fmt(mid / base) + "x",
        f"{mid - base:+.2f}",
        target,
        verdict,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench hooks")
    parser.add_argument("--reps", type=int, help="commits per configuration (default 60, --quick 15)")
    parser.add_argument("--seed", type=int, default=1, help="seed for the order of interleaved commits")
    args = parser.parse_args(argv)
    reps = args.reps or (15 if args.quick else 60)
    warmup = 3 if args.quick else 5
    shuffle = random.Random(args.seed)
    verdicts = Verdicts()

    with scratch_dir("gt-bench-hooks-", keep=args.keep) as root:
        began = time.perf_counter()
        bench = setup(root)
        print(f"bench_hooks: {reps} commits per configuration ({machine_line()})")
        print(f"cli: {' '.join(bench.cli.argv)}   repos: {root}")
        window_start = run(["git", "rev-parse", "HEAD"], bench.window, bench.env).strip()

        for repo in (bench.plain, bench.hooks, bench.window):
            for _ in range(warmup):
                bench.commit(repo)
        wait_quiet(bench.window)

        # Phase 1: no window open. Plain and hooks interleaved, in a shuffled order per pair.
        plain_1: list[float] = []
        hooks_1: list[float] = []
        for _ in range(reps):
            pair = [(bench.plain, plain_1), (bench.hooks, hooks_1)]
            shuffle.shuffle(pair)
            for repo, sink in pair:
                sink.append(bench.commit(repo))

        # Phase 2: window open, paced. Each window commit waits for its flusher; a baseline commit follows.
        plain_2: list[float] = []
        paced: list[float] = []
        note_latency: list[float] = []
        for _ in range(reps):
            pair = [(bench.plain, plain_2), (bench.window, paced)]
            shuffle.shuffle(pair)
            for repo, sink in pair:
                sink.append(bench.commit(repo))
                if repo == bench.window:
                    note_latency.append(wait_drained(repo))
                    wait_quiet(repo)

        # Phase 3: bursts, back to back. The plain burst first, so the window's flushers cannot slow it.
        plain_3 = [bench.commit(bench.plain) for _ in range(reps)]
        burst_started = time.perf_counter()
        burst = [bench.commit(bench.window) for _ in range(reps)]
        burst_wall = (time.perf_counter() - burst_started) * 1000
        alive_at_end = flushers_alive(bench.window)
        notes_after_burst = wait_drained(bench.window)
        wait_quiet(bench.window)
        missing, made = missing_notes(bench.window, bench.env, window_start)

        base_1, base_2, base_3 = median(plain_1), median(plain_2), median(plain_3)
        ratio = median(hooks_1) / base_1
        added_paced = median(paced) - base_2
        added_burst = median(burst) - base_3
        rows = [
            stats_row("plain repo, no hooks (baseline)", plain_1, base_1, "", ""),
            stats_row(
                "tracker hooks, no window",
                hooks_1,
                base_1,
                f"<= {RATIO_TARGET}x",
                verdicts.check(f"hooks without a window: {ratio:.2f}x <= {RATIO_TARGET}x", ratio <= RATIO_TARGET),
            ),
            stats_row("plain repo (baseline, paced phase)", plain_2, base_2, "", ""),
            stats_row(
                "window open, paced",
                paced,
                base_2,
                f"<= +{ADDED_MS_TARGET:g} ms",
                verdicts.check(
                    f"window open, paced: +{added_paced:.2f} ms <= {ADDED_MS_TARGET:g} ms",
                    added_paced <= ADDED_MS_TARGET,
                )
                + f" ({goal(added_paced)})",
            ),
            stats_row("plain repo (baseline, burst)", plain_3, base_3, "", ""),
            stats_row(
                "window open, burst (flusher running)",
                burst,
                base_3,
                f"<= +{ADDED_MS_TARGET:g} ms",
                verdicts.check(
                    f"window open, burst: +{added_burst:.2f} ms <= {ADDED_MS_TARGET:g} ms",
                    added_burst <= ADDED_MS_TARGET,
                )
                + f" ({goal(added_burst)})",
            ),
        ]
        print_table(
            "git commit --allow-empty wall time (ms)",
            ["configuration", "n", "median", "p90", "ratio", "added ms", "target", "verdict"],
            rows,
        )

        complete = missing == 0
        print_table(
            "notes written by the background flusher",
            ["measure", "value", "verdict"],
            [
                ["paced: commit returned -> its note written, median ms", fmt(median(note_latency)), "info"],
                ["paced: same, p90 ms", fmt(percentile(note_latency, 90)), "info"],
                [f"burst: {reps} commits, wall ms", fmt(burst_wall), "info"],
                ["burst: flusher processes alive at the last commit", str(alive_at_end), "info"],
                ["burst: last commit returned -> all notes written, ms", fmt(notes_after_burst), "info"],
                [
                    "commits in the window without a note",
                    f"{missing} of {made}",
                    verdicts.check(f"every window commit has a note ({missing} of {made} missing)", complete),
                ],
                ["commits that printed a hook warning", str(bench.hook_warnings), "info"],
            ],
        )
        print(f"\nwall time of this run: {time.perf_counter() - began:.1f} s")
        return verdicts.summary(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
