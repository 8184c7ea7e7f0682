"""What the git-tracker hooks cost a ``git commit`` (DESIGN §3: "fast, chained, never in the way").

One throwaway repository where ``git tracker init`` ran and agent ``bench`` has a window open
(``AGENT_ID=bench git tracker start codex --used 10``); four configurations, told apart per commit by
``-c core.hooksPath`` and ``AGENT_ID``, so every commit writes into the same directories (separate
repositories would also differ in where the file system put them, which shows in the timings):

* plain: hooks pointed at an empty directory — the baseline;
* empty hook: a post-commit hook that is just ``exit 0`` — the floor any hook costs (reference);
* tracker hooks, no window: the hooks ``git tracker init`` installed, agent ``main`` (no window open)
  — target: at most 1.3x the baseline; also with a Claude Code session in the commit's environment
  (``CLAUDE_CODE_SESSION_ID``, as an agent's own commits carry it) whose agent has no window: every step of
  the attribution (docs/hooks.md#attribution) runs and falls through, still without a fork;
* ``--baseline REV``: the hook script of another revision (``git show REV:hooks/tracker-hook.sh``), no window,
  interleaved with the others: the ratio of this checkout's hook to it, wall and CPU (the commit and its hook);
  and the hook scripts alone, without git's own work around them: blocks of ``SCRIPT_RUNS`` runs of each
  post-commit script (and of the empty hook) in the bench repository, as git runs them (fork and exec of
  ``/bin/sh``), in a shuffled order per round: the ratio of the medians per run, wall and CPU;
* window open: the same hooks, agent ``bench`` — target: the hook adds at most 15 ms per commit (goal
  8 ms). The post-commit hook queues a stamp and spawns a detached flusher that writes the notes, so
  this is measured two ways:
    - paced: each commit waits until the flusher is done before the next one, and is timed alternately
      with a baseline commit, so neither competes with a background flusher;
    - burst: blocks of commits back to back, as an agent makes them; the flushers run beside the
      commits, which is what a user sees. Baseline: equal blocks of plain commits, in a shuffled order
      per round. A diagnostic block with the flusher held off separates the hook's own work from the
      background flusher's competition for the CPU.
  Also reported: how long after a commit (paced) or after a burst's last commit its note exists, what
  ``git tracker flush`` costs, how many flush passes a burst causes, and whether every commit made
  inside the window, and no other, got a note.

Run from the repository root:
``python bench/bench_hooks.py [--quick] [--strict] [--reps N] [--block N] [--baseline REV]``.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
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
    timed_cpu,
)

COMMIT = ("commit", "--allow-empty", "-q", "-m", "x")
RATIO_TARGET = 1.3
ADDED_MS_TARGET = 15.0
ADDED_MS_GOAL = 8.0
IDLE_TIMEOUT_S = 60.0
WINDOW_AGENT = "bench"
SESSION = {"CLAUDE_CODE_SESSION_ID": "5ee55107-0000-4000-8000-000000000000"}  # its agent has no window
SOURCE = Path(__file__).resolve().parents[1]
SCRIPT_RUNS = 200
# Runs the hook given as $1, $2 times, each a fork and exec as git does it.
SCRIPT_LOOP = 'i=0; while [ "$i" -lt "$2" ]; do "$1"; i=$((i + 1)); done'


@dataclass
class Config:
    """One way of committing in the bench repository."""

    label: str
    hooks: Path  # core.hooksPath of its commits
    env: dict[str, str]

    @property
    def argv(self) -> tuple[str, ...]:
        return ("git", "-c", f"core.hooksPath={self.hooks}", *COMMIT)


@dataclass
class Bench:
    repo: Path
    env: dict[str, str]
    cli: Cli
    plain: Config
    empty: Config
    tracker: Config
    window: Config
    session: Config
    baseline: Config | None = None
    window_commits: set[str] = field(default_factory=set)
    hook_warnings: int = 0

    @property
    def state(self) -> Path:
        return self.repo / ".git" / "tracker"

    def commit(self, config: Config) -> float:
        return self.commit_cpu(config)[0]

    def commit_cpu(self, config: Config) -> tuple[float, float]:
        """Wall and CPU ms of one commit (the CPU of git and of the hooks it ran)."""
        elapsed, cpu, stderr = timed_cpu(config.argv, self.repo, config.env)
        if stderr.strip():
            self.hook_warnings += 1
            if self.hook_warnings <= 3:
                print(f"  warning from a commit ({config.label}): {stderr.strip()}", file=sys.stderr)
        return elapsed, cpu

    def note_window_commits(self, count: int) -> None:
        """Remember the last ``count`` commits as made inside the window (read after, untimed)."""
        self.window_commits.update(run(["git", "rev-list", "-n", str(count), "HEAD"], self.repo, self.env).split())


def baseline_hooks(root: Path, revision: str) -> Path:
    """The hook script of ``revision`` of this source tree, rendered as ``init`` renders it, in a folder of its own."""
    done = subprocess.run(
        ["git", "show", f"{revision}:hooks/tracker-hook.sh"], cwd=SOURCE, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: --baseline {revision}: {done.stderr.strip() or 'no hooks/tracker-hook.sh there'}")
    folder = root / "hooks-baseline"
    folder.mkdir()
    python = sys.executable.replace("'", "'\\''")
    for name in ("post-commit", "post-rewrite"):
        (folder / name).write_text(done.stdout.replace("@PYTHON@", python).replace("@HOOK@", name))
        (folder / name).chmod(0o755)
    return folder


def setup(root: Path, *, python_env_as_is: bool, baseline: str | None = None) -> Bench:
    env = hermetic_env(root, python_env_as_is=python_env_as_is)
    cli = primary_cli()
    repo = git_init(root / "repo", env)
    run([*cli.argv, "init"], repo, env)
    run([*cli.argv, "start", "codex", "--used", "10"], repo, {**env, "AGENT_ID": WINDOW_AGENT})
    no_hooks = root / "hooks-none"
    no_hooks.mkdir()
    empty_hooks = root / "hooks-empty"
    empty_hooks.mkdir()
    (empty_hooks / "post-commit").write_text("#!/bin/sh\nexit 0\n")
    (empty_hooks / "post-commit").chmod(0o755)
    tracker_hooks = repo / ".git" / "hooks"
    return Bench(
        repo,
        env,
        cli,
        plain=Config("plain", no_hooks, env),
        empty=Config("empty hook", empty_hooks, env),
        tracker=Config("tracker, no window", tracker_hooks, env),
        window=Config("window open", tracker_hooks, {**env, "AGENT_ID": WINDOW_AGENT}),
        session=Config("tracker, no window, session in env", tracker_hooks, {**env, **SESSION}),
        baseline=Config(f"{baseline} hooks, no window", baseline_hooks(root, baseline), env) if baseline else None,
    )


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


def queue_drained(state: Path) -> bool:
    """No queued stamp and no flush in progress: every stamp queued so far is in ``refs/notes/tracker``."""
    if (state / "queue").exists() or (state / "flush.running").exists():
        return False
    return not any(state.glob("queue.*.taken"))


def wait_drained(bench: Bench) -> float:
    """Poll until the queue is drained; return the ms it took."""
    start = time.perf_counter()
    deadline = start + IDLE_TIMEOUT_S
    while not queue_drained(bench.state):
        if time.perf_counter() > deadline:
            raise SystemExit(f"bench: the note queue in {bench.repo} did not drain within {IDLE_TIMEOUT_S:.0f} s")
        time.sleep(0.0005)
    return (time.perf_counter() - start) * 1000


def wait_quiet(bench: Bench) -> None:
    """Drained and no flusher process left (a burst can start several), so the next phase runs alone."""
    wait_drained(bench)
    deadline = time.perf_counter() + IDLE_TIMEOUT_S
    while flushers_alive(bench.repo):
        if time.perf_counter() > deadline:
            raise SystemExit(f"bench: flushers for {bench.repo} still running after {IDLE_TIMEOUT_S:.0f} s")
        time.sleep(0.005)
    wait_drained(bench)


def notes_check(bench: Bench) -> tuple[int, int]:
    """(window commits without a tracker note, other commits with one)."""
    listing = run(["git", "notes", "--ref=refs/notes/tracker", "list"], bench.repo, bench.env)
    annotated = {line.split()[1] for line in listing.splitlines() if len(line.split()) == 2}
    return len(bench.window_commits - annotated), len(annotated - bench.window_commits)


def notes_commits(bench: Bench) -> int:
    out = run(["git", "rev-list", "--count", "refs/notes/tracker"], bench.repo, bench.env).strip()
    return int(out or 0)


@dataclass
class Results:
    plain_1: list[float] = field(default_factory=list)
    empty_1: list[float] = field(default_factory=list)
    tracker_1: list[float] = field(default_factory=list)
    session_1: list[float] = field(default_factory=list)
    baseline_1: list[float] = field(default_factory=list)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    plain_2: list[float] = field(default_factory=list)
    paced: list[float] = field(default_factory=list)
    note_latency: list[float] = field(default_factory=list)
    plain_3: list[float] = field(default_factory=list)
    held_off: list[float] = field(default_factory=list)
    flush_cli_ms: list[float] = field(default_factory=list)
    burst: list[float] = field(default_factory=list)
    burst_wall: list[float] = field(default_factory=list)
    alive_at_end: list[int] = field(default_factory=list)
    notes_after_burst: list[float] = field(default_factory=list)
    burst_passes: list[int] = field(default_factory=list)


def measure(bench: Bench, reps: int, block: int, shuffle: random.Random) -> Results:
    res = Results()
    # Phase 1: no window involved. Commits are cheap here, so three times the repetitions.
    for _ in range(3 * reps):
        group = [
            (bench.plain, res.plain_1),
            (bench.empty, res.empty_1),
            (bench.tracker, res.tracker_1),
            (bench.session, res.session_1),
        ]
        if bench.baseline is not None:
            group.append((bench.baseline, res.baseline_1))
        shuffle.shuffle(group)
        for config, sink in group:
            wall, cpu = bench.commit_cpu(config)
            sink.append(wall)
            res.cpu.setdefault(config.label, []).append(cpu)

    # Phase 2: window open, paced. Each window commit waits for its flusher; a baseline commit pairs it.
    for _ in range(reps):
        pair = [(bench.plain, res.plain_2), (bench.window, res.paced)]
        shuffle.shuffle(pair)
        for config, sink in pair:
            sink.append(bench.commit(config))
            if config is bench.window:
                res.note_latency.append(wait_drained(bench))
                wait_quiet(bench)
                bench.note_window_commits(1)

    # Phase 3: blocks of back-to-back commits: plain, window, and window with the flusher held off, in a
    # shuffled order per round; each window block is waited out so its flushers slow no other block.
    marker = bench.state / "flush.running"
    for _ in range(max(1, reps // block)):
        kinds = ["plain", "held-off", "burst"]
        shuffle.shuffle(kinds)
        for kind in kinds:
            if kind == "plain":
                res.plain_3 += [bench.commit(bench.plain) for _ in range(block)]
            elif kind == "held-off":
                # The marker says a flusher is running, so the hook only queues: its own work, without a
                # background flusher competing for the CPU. `git tracker flush` then writes the queue.
                marker.touch()
                try:
                    res.held_off += [bench.commit(bench.window) for _ in range(block)]
                finally:
                    marker.unlink()
                bench.note_window_commits(block)
                res.flush_cli_ms.append(timed([*bench.cli.argv, "flush"], bench.repo, bench.env)[0])
                wait_quiet(bench)
            else:
                before = notes_commits(bench)
                started = time.perf_counter()
                res.burst += [bench.commit(bench.window) for _ in range(block)]
                res.burst_wall.append((time.perf_counter() - started) * 1000)
                res.alive_at_end.append(flushers_alive(bench.repo))
                res.notes_after_burst.append(wait_drained(bench))
                wait_quiet(bench)
                res.burst_passes.append(notes_commits(bench) - before)
                bench.note_window_commits(block)
    return res


def goal(added: float) -> str:
    return "goal met" if added <= ADDED_MS_GOAL else f"goal {ADDED_MS_GOAL:g} ms missed"


def stats_row(label: str, values: list[float], base: float, target: str = "", verdict: str = "") -> list[str]:
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


def report(bench: Bench, res: Results, block: int, verdicts: Verdicts) -> None:
    base_1, base_2, base_3 = median(res.plain_1), median(res.plain_2), median(res.plain_3)
    ratio = median(res.tracker_1) / base_1
    added_paced = median(res.paced) - base_2
    added_burst = median(res.burst) - base_3
    target = f"<= +{ADDED_MS_TARGET:g} ms"
    paced_verdict = verdicts.check(
        f"window open, paced: +{added_paced:.2f} ms <= {ADDED_MS_TARGET:g} ms", added_paced <= ADDED_MS_TARGET
    )
    burst_verdict = verdicts.check(
        f"window open, burst: +{added_burst:.2f} ms <= {ADDED_MS_TARGET:g} ms", added_burst <= ADDED_MS_TARGET
    )
    rows = [
        stats_row("plain, no hooks (baseline)", res.plain_1, base_1),
        stats_row("empty sh post-commit hook", res.empty_1, base_1, "", "reference"),
        stats_row(
            "tracker hooks, no window",
            res.tracker_1,
            base_1,
            f"<= {RATIO_TARGET}x",
            verdicts.check(f"hooks without a window: {ratio:.2f}x <= {RATIO_TARGET}x", ratio <= RATIO_TARGET),
        ),
        stats_row(
            "tracker hooks, no window, session in env",
            res.session_1,
            base_1,
            f"<= {RATIO_TARGET}x",
            verdicts.check(
                f"hooks without a window, session in env: {median(res.session_1) / base_1:.2f}x <= {RATIO_TARGET}x",
                median(res.session_1) / base_1 <= RATIO_TARGET,
            ),
        ),
        *([stats_row(bench.baseline.label, res.baseline_1, base_1, "", "reference")] if bench.baseline else []),
        stats_row("plain (baseline, paced phase)", res.plain_2, base_2),
        stats_row("window open, paced", res.paced, base_2, target, f"{paced_verdict} ({goal(added_paced)})"),
        stats_row(f"plain (baseline, blocks of {block})", res.plain_3, base_3),
        stats_row("window open, burst, flusher held off", res.held_off, base_3, "", "diagnostic"),
        stats_row("window open, burst", res.burst, base_3, target, f"{burst_verdict} ({goal(added_burst)})"),
    ]
    print_table(
        "git commit --allow-empty wall time (ms)",
        ["configuration", "n", "median", "p90", "ratio", "added ms", "target", "verdict"],
        rows,
    )

    if bench.baseline is not None:
        against_baseline(bench, res)

    missing, stray = notes_check(bench)
    made = len(bench.window_commits)
    print_table(
        "notes written by the background flusher",
        ["measure", "value", "verdict"],
        [
            ["paced: commit returned -> its note written, median ms", fmt(median(res.note_latency)), "info"],
            ["paced: same, p90 ms", fmt(percentile(res.note_latency, 90)), "info"],
            [f"`git tracker flush` of {block} queued stamps, median ms", fmt(median(res.flush_cli_ms)), "info"],
            [f"burst of {block} commits, median wall ms", fmt(median(res.burst_wall)), "info"],
            ["burst: flusher processes alive at its last commit, max", str(max(res.alive_at_end)), "info"],
            ["burst: flush passes (notes commits), per burst", ", ".join(map(str, res.burst_passes)), "info"],
            ["burst: last commit -> all notes written, median ms", fmt(median(res.notes_after_burst)), "info"],
            [
                "window commits without a note",
                f"{missing} of {made}",
                verdicts.check(f"every window commit has a note ({missing} of {made} missing)", missing == 0),
            ],
            [
                "commits outside the window with a note",
                str(stray),
                verdicts.check(f"no note on commits outside the window ({stray} found)", stray == 0),
            ],
            ["commits that printed a hook warning", str(bench.hook_warnings), "info"],
        ],
    )


def script_ratios(bench: Bench, rounds: int, shuffle: random.Random) -> None:
    """The post-commit scripts alone (no window), in blocks of ``SCRIPT_RUNS`` runs: ms per run, wall and CPU."""
    assert bench.baseline is not None
    configs = {config.label: config for config in (bench.empty, bench.baseline, bench.tracker, bench.session)}
    wall: dict[str, list[float]] = {label: [] for label in configs}
    cpu: dict[str, list[float]] = {label: [] for label in configs}
    order = list(configs)
    for _ in range(rounds):
        shuffle.shuffle(order)
        for label in order:
            config = configs[label]
            argv = ["sh", "-c", SCRIPT_LOOP, "sh", str(config.hooks / "post-commit"), str(SCRIPT_RUNS)]
            elapsed, used, _ = timed_cpu(argv, bench.repo, config.env)
            wall[label].append(elapsed / SCRIPT_RUNS)
            cpu[label].append(used / SCRIPT_RUNS)
    base_wall, base_cpu = median(wall[bench.baseline.label]), median(cpu[bench.baseline.label])
    floor = median(wall[bench.empty.label])
    rows = [
        [
            label,
            fmt(median(wall[label]), 3),
            fmt(median(wall[label]) / base_wall) + "x",
            fmt((median(wall[label]) - floor) * 1000, 0),
            fmt(median(cpu[label]), 3),
            fmt(median(cpu[label]) / base_cpu) + "x" if base_cpu else "-",
        ]
        for label in configs
    ]
    print_table(
        f"post-commit script alone, {rounds} rounds of {SCRIPT_RUNS} runs, against {bench.baseline.label}",
        ["script", "wall ms/run", "wall ratio", "µs over empty", "CPU ms/run", "CPU ratio"],
        rows,
    )


def against_baseline(bench: Bench, res: Results) -> None:
    """This checkout's hook (no window) against the baseline revision's, as ratios of medians, wall and CPU."""
    assert bench.baseline is not None
    base_cpu = median(res.cpu[bench.baseline.label])
    base_wall = median(res.baseline_1)
    hook_floor = median(res.empty_1)
    rows = []
    for config, walls in ((bench.tracker, res.tracker_1), (bench.session, res.session_1)):
        cpu = median(res.cpu[config.label])
        rows.append(
            [
                config.label,
                fmt(median(walls)),
                fmt(median(walls) / base_wall) + "x",
                f"{median(walls) - base_wall:+.2f}",
                fmt(cpu),
                fmt(cpu / base_cpu) + "x" if base_cpu else "-",
                fmt(median(walls) - hook_floor),
            ]
        )
    print_table(
        f"against {bench.baseline.label}: wall {fmt(base_wall)} ms, CPU {fmt(base_cpu)} ms (medians of whole commits)",
        ["configuration", "wall ms", "wall ratio", "added ms", "CPU ms", "CPU ratio", "over an empty hook, ms"],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench hooks")
    parser.add_argument("--reps", type=int, help="commits per configuration (default 60, --quick 15)")
    parser.add_argument("--block", type=int, help="commits per burst (default 10, --quick 5)")
    parser.add_argument("--seed", type=int, default=1, help="seed for the order of interleaved commits")
    parser.add_argument("--baseline", help="also time the hook script of this revision (no window), e.g. main")
    args = parser.parse_args(argv)
    reps = args.reps or (15 if args.quick else 60)
    block = args.block or (5 if args.quick else 10)
    warmup = 3 if args.quick else 5
    verdicts = Verdicts()

    with scratch_dir("gt-bench-hooks-", keep=args.keep) as root:
        began = time.perf_counter()
        bench = setup(root, python_env_as_is=args.python_env_as_is, baseline=args.baseline)
        print(f"bench_hooks: {reps} commits per configuration ({machine_line(bench.env)})")
        print(f"cli: {' '.join(bench.cli.argv)}   repo: {bench.repo}")
        for config in (bench.plain, bench.empty, bench.tracker, bench.session, bench.window, bench.baseline):
            if config is None:
                continue
            for _ in range(warmup):
                bench.commit(config)
                if config is bench.window:
                    wait_quiet(bench)
                    bench.note_window_commits(1)
        res = measure(bench, reps, block, random.Random(args.seed))
        report(bench, res, block, verdicts)
        if bench.baseline is not None:
            script_ratios(bench, 5 if args.quick else 15, random.Random(args.seed))
        print(f"\nwall time of this run: {time.perf_counter() - began:.1f} s, load avg now {os.getloadavg()[0]:.2f}")
    return verdicts.summary(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
