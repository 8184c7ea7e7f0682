"""bench_ingest: `git tracker ingest claude-logs` against the real ccusage on the same generated transcripts.

Default run (200,000 lines, about 156 MB, warm page cache): in each repetition, one after another, ccusage 20
(the native binary, `ccusage claude daily --json`), our first ingest (fresh ingest state, empty ledger) and
a second ingest with nothing new; ccusage 18 (JavaScript on Node, `ccusage daily --json`) once. Each run's
wall time, CPU time (user + system of the process and of every child it waited for) and peak RSS; medians
over the repetitions, and the largest peak RSS. Targets (issue 14): the first ingest at most 1.5x native
ccusage's wall time and at most 1.5x its CPU time (goal: faster on both); nothing new under 5% of the first;
at least 10x faster than ccusage 18. The daily totals must equal ccusage's: a fast wrong answer is no result.

`--scale`: the first ingest and native ccusage at several sizes (default 200,000, 1,000,000 and 2,000,000
lines, about 0.16, 0.8 and 1.6 GB). Targets: CPU time per byte at the largest size at most 1.3x that at the
next largest (time grows linearly with the bytes); peak RSS at most RSS_BOUND_MB at every size and, at the
largest, at most RSS_FLAT times that at the next largest (bounded independent of the total size). Both compare
the two largest sizes: logs of less than one round of reading (256 MB) are read at once, in memory, and cost
less per byte; past it, in rounds whose events wait in buckets on disk (docs/ingest.md). The figures of every
size are printed. The largest size is generated once, in blocks; each size is its first blocks, hard-linked
(bench/README.md).
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import (
    Usage,
    Verdicts,
    arg_parser,
    cli_variants,
    git_init,
    hermetic_env,
    machine_line,
    measured,
    median,
    print_table,
    run,
    scratch_dir,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gittracker.synth import ClaudeSpec, write_claude_transcripts
from tests import ccusage_tool

DAYS = 25
PROJECTS = tuple(f"/work/p{i}" for i in range(8))
SCALE_SIZES = (200_000, 1_000_000, 2_000_000)
BYTES_PER_LINE = 800  # the generated transcripts average about 780: for the free-disk check only
TARGET_LINES = 200_000  # the size the ratios are set for
LINEAR_WITHIN = 1.3  # CPU per byte at the largest size / at the next largest
RSS_BOUND_MB = 400  # see bench/README.md: what the peak RSS is made of
RSS_FLAT = 1.25  # peak RSS at the largest size / at the next largest: "independent of the total size"


@dataclass(frozen=True)
class Tools:
    native: list[str]  # ccusage 20's `claude daily --json`
    node: list[str]  # ccusage 18's `daily --json`


@dataclass(frozen=True)
class Tracker:
    """git-tracker in one throwaway repository, and the ccusage commands, pointed at a transcripts folder."""

    cli: tuple[str, ...]
    repo: Path
    env: dict[str, str]
    state: Path  # <git-common-dir>/tracker/ingest
    tools: Tools

    def first(self, config: Path) -> Usage:
        """A first ingest: fresh ingest state, no ledger."""
        self.forget()
        return self.again(config)

    def again(self, config: Path) -> Usage:
        return measured(self.ingest, self.repo, self.at(config))[0]

    @property
    def ingest(self) -> list[str]:
        return [*self.cli, "ingest", "claude-logs"]

    def forget(self) -> None:
        shutil.rmtree(self.state, ignore_errors=True)
        run(["git", "update-ref", "-d", "refs/heads/tracker-ledger"], self.repo, self.env)

    def native(self, config: Path) -> tuple[Usage, dict[str, int]]:
        return ccusage_days(measured(self.tools.native, self.repo, self.at(config)))

    def node(self, config: Path) -> tuple[Usage, dict[str, int]]:
        return ccusage_days(measured(self.tools.node, self.repo, self.at(config)))

    def at(self, config: Path) -> dict[str, str]:
        return {**self.env, "CLAUDE_CONFIG_DIR": str(config)}

    def day_totals(self) -> dict[str, int]:
        """Tokens per day in the ledger: per (scope, period, project, branch), the day record with the most."""
        best: dict[tuple[object, ...], dict[str, object]] = {}
        for line in run([*self.cli, "log", "--kind", "usage", "--json"], self.repo, self.env).splitlines():
            record = json.loads(line)
            if record["granularity"] != "day":
                continue
            key = (record["scope"], record["period"], record["project"], record["branch"])
            if key not in best or int(record["total_tokens"]) > int(str(best[key]["total_tokens"])):
                best[key] = record
        days: Counter[str] = Counter()
        for record in best.values():
            days[str(record["period"])] += int(str(record["total_tokens"]))
        return dict(days)


def ccusage_days(result: tuple[Usage, str]) -> tuple[Usage, dict[str, int]]:
    usage, report = result
    return usage, {row["date"]: int(row["totalTokens"]) for row in json.loads(report)["daily"]}


def tree_peak(cmd: Sequence[str], cwd: Path, env: dict[str, str], every: float = 0.02) -> int | None:
    """The most memory a command and its descendants held at once: their PSS summed, sampled every 20 ms.

    ``ru_maxrss`` is one process's peak; the ingest's reader processes run side by side and share the pages
    they were forked with, so the sum of their proportional set sizes is what the command takes from the
    machine. None where ``/proc`` cannot tell (not Linux). Run untimed: the sampling costs CPU.
    """
    if not Path("/proc/self/smaps_rollup").exists() or not Path(f"/proc/self/task/{os.getpid()}/children").exists():
        return None
    quiet = subprocess.DEVNULL
    child = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdin=quiet, stdout=quiet, stderr=quiet)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(every):
            peak = max(peak, sum(_pss(pid) for pid in _tree(child.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    if child.wait() != 0:
        raise SystemExit(f"bench: `{' '.join(cmd)}` failed in {cwd} ({child.returncode})")
    done.set()
    sampler.join()
    return peak


def _tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(text) for text in (task / "children").read_text().split())
        except OSError:
            continue  # it ended between two reads
    return found


def _pss(pid: int) -> int:
    """Bytes: the process's proportional set size (its pages, shared ones divided among their sharers)."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in rollup.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def tracker_in(root: Path, tools: Tools, python_env_as_is: bool) -> Tracker:
    env = hermetic_env(root, python_env_as_is=python_env_as_is)
    env["TZ"] = "UTC"
    repo = git_init(root / "repo", env)
    # The console script itself, as pipx installs it: a version manager's shim on PATH (pyenv's is a
    # bash script) would add its own start-up to every run and hide the nothing-new check's cost.
    cli = cli_variants()[-1].argv
    run([*cli, "init"], repo, env)
    common = Path(run(["git", "rev-parse", "--git-common-dir"], repo, env).strip())
    state = (common if common.is_absolute() else repo / common) / "tracker" / "ingest"
    return Tracker(cli, repo, env, state, tools)


def generate(config: Path, lines: int, seed: int = 7) -> int:
    """Transcripts of ``lines`` lines over DAYS days and 8 projects; returns their size in bytes."""
    write_claude_transcripts(config, ClaudeSpec(lines=lines, days=DAYS, projects=PROJECTS, seed=seed))
    return sum(path.stat().st_size for path in config.rglob("*.jsonl"))


def header(what: str, env: dict[str, str]) -> None:
    print(f"bench_ingest: {what}")
    try:
        decoder = f"msgspec {importlib.metadata.version('msgspec')} installed"
    except importlib.metadata.PackageNotFoundError:
        decoder = "msgspec not installed"
    print(f"  ({machine_line(env)}; {cli_variants()[-1].label}; {decoder})")


def load_line() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average at the end: {one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min)"


def mb(size: float) -> str:
    return f"{size / 1e6:,.0f}"


# ---- the default run: one size, four commands ------------------------------------------------------------


def compare(tracker: Tracker, config: Path, lines: int, reps: int, verdicts: Verdicts) -> None:
    size = generate(config, lines)
    header(f"{lines:,} transcript lines, {mb(size)} MB, {reps} run(s) each, interleaved, warm cache", tracker.env)
    tracker.native(config)  # warm the page cache and the binary,
    tracker.first(config)  # and compile our bytecode into the run's cache, as an installed tool has it
    runs: dict[str, list[Usage]] = {"native": [], "first": [], "second": []}
    theirs: dict[str, int] = {}
    for _ in range(reps):
        usage, theirs = tracker.native(config)
        runs["native"].append(usage)
        runs["first"].append(tracker.first(config))
        runs["second"].append(tracker.again(config))
    mine = tracker.day_totals()
    runs["node"] = [tracker.node(config)[0]]  # ~10 s at full size: once is enough
    wall = {name: median([usage.wall for usage in used]) for name, used in runs.items()}
    cpu = {name: median([usage.cpu for usage in used]) for name, used in runs.items()}
    rss = {name: max(usage.max_rss for usage in used) for name, used in runs.items()}
    labels = {
        "native": "ccusage 20 (native) claude daily",
        "node": "ccusage 18 (node) daily, 1 run",
        "first": "ingest claude-logs, first run",
        "second": "ingest claude-logs, nothing new",
    }
    rows = [
        [
            label,
            f"{wall[name]:.3f}",
            f"{cpu[name]:.3f}",
            mb(rss[name]),
            f"{wall[name] / wall['native']:.2f}x",
            f"{cpu[name] / cpu['native']:.2f}x",
        ]
        for name, label in labels.items()
    ]
    print_table(
        f"per command: median of {reps} run(s); peak RSS: the largest of a run's processes, the most of any run",
        ["command", "wall s", "CPU s", "peak RSS MB", "wall / native", "CPU / native"],
        rows,
    )
    by_wall, by_cpu = wall["first"] / wall["native"], cpu["first"] / cpu["native"]
    nothing_new, than_node = wall["second"] / wall["first"], wall["node"] / wall["first"]
    same = theirs == mine
    # The ratios are the at 200,000 lines; on fewer (CI's --quick) start-up is most of a run, and they
    # are printed but not judged. The totals are judged at any size.
    judged = lines >= TARGET_LINES
    targets = [
        ["first ingest, wall / native ccusage's", f"{by_wall:.2f}x", "<= 1.5x", judged and by_wall <= 1.5],
        ["first ingest, CPU / native ccusage's", f"{by_cpu:.2f}x", "<= 1.5x", judged and by_cpu <= 1.5],
        ["nothing new, wall / first ingest's", f"{nothing_new:.1%}", "< 5%", judged and nothing_new < 0.05],
        ["first ingest vs ccusage 18, wall", f"{than_node:.1f}x faster", ">= 10x", judged and than_node >= 10],
        ["daily totals = ccusage 20's", f"{'yes' if same else 'NO'} ({len(theirs)} days)", "equal", same],
    ]
    if not judged:
        for target in targets[:4]:
            target[3] = None
    print_targets(targets, verdicts)
    faster = by_wall < 1 and by_cpu < 1
    print(f"  goal: faster than native ccusage on both wall and CPU: {'yes' if faster else 'not yet'}")


def print_targets(targets: Sequence[Sequence[object]], verdicts: Verdicts) -> None:
    """Each target's verdict; one whose outcome is None is shown, not judged (``compare``)."""
    rows = [
        [
            str(name),
            str(got),
            str(want),
            f"at {TARGET_LINES:,} lines" if ok is None else verdicts.check(f"{name}: {got} ({want})", bool(ok)),
        ]
        for name, got, want, ok in targets
    ]
    print_table("targets (issue 14)", ["measure", "measured", "target", "verdict"], rows)


# ---- --scale: the first ingest at several sizes -----------------------------------------------------------


@dataclass(frozen=True)
class Size:
    lines: int
    config: Path  # a transcripts folder: hard links to the files of its blocks
    blocks: int  # how many of the generated blocks, from the first
    size: int  # bytes


@dataclass
class AtSize:
    """What the runs at one size measured."""

    ours: list[Usage] = field(default_factory=list)
    theirs: list[Usage] = field(default_factory=list)
    ours_tree: int | None = None  # bytes, tree_peak
    theirs_tree: int | None = None
    same: bool = False  # our daily totals equal ccusage's
    distinct: bool = False  # ccusage's daily totals are the sums of its blocks' own


def scale(root: Path, tracker: Tracker, sizes: Sequence[int], reps: int, verdicts: Verdicts) -> None:
    header(f"--scale, {len(sizes)} sizes, {reps} run(s) each, interleaved, warm cache", tracker.env)
    blocks, levels = write_sizes(root, sizes)
    per_block = [tracker.native(folder)[1] for folder in blocks]  # also warms the page cache
    tracker.first(levels[0].config)  # compile our bytecode into the run's cache
    found = {level.lines: AtSize() for level in levels}
    for rep in range(reps):
        for level in levels if rep % 2 == 0 else levels[::-1]:  # drift in the machine's load hits every size
            usage, days = tracker.native(level.config)
            found[level.lines].theirs.append(usage)
            found[level.lines].ours.append(tracker.first(level.config))
            if rep == 0:
                found[level.lines].same = tracker.day_totals() == days
                # ccusage deduplicates by message and request id: equal sums show no block's events collapsed
                blocks_days = sum((Counter(days) for days in per_block[: level.blocks]), Counter[str]())
                found[level.lines].distinct = days == dict(blocks_days)
    for level in levels:  # apart from the timed runs: sampling takes CPU
        tracker.forget()
        found[level.lines].ours_tree = tree_peak(tracker.ingest, tracker.repo, tracker.at(level.config))
        found[level.lines].theirs_tree = tree_peak(tracker.tools.native, tracker.repo, tracker.at(level.config))
    print_sizes(levels, found, reps)
    check_sizes(levels, found, verdicts)


def write_sizes(root: Path, sizes: Sequence[int]) -> tuple[list[Path], list[Size]]:
    """The largest size once, as blocks of the sizes' greatest common divisor; each size its first blocks."""
    block = math.gcd(*sizes)
    started = time.perf_counter()
    blocks = [root / "blocks" / f"{number:03d}" for number in range(max(sizes) // block)]
    for number, folder in enumerate(blocks):
        generate(folder, block, seed=7 + number)  # each over the same days: a bigger size is a denser one
    spent = time.perf_counter() - started
    levels = [link_blocks(root / "sizes" / str(lines), blocks[: lines // block], lines) for lines in sizes]
    print(
        f"  generated {max(sizes):,} lines ({levels[-1].size / 1e9:.2f} GB) in {spent:.0f} s: {len(blocks)} blocks of"
        f" {block:,} lines (seeds 7, 8, ...), each over the same {DAYS} days; a size is its first blocks, hard-linked"
    )
    return blocks, levels


def print_sizes(levels: Sequence[Size], found: dict[int, AtSize], reps: int) -> None:
    rows = []
    for level in levels:
        at = found[level.lines]
        for name, used, tree in (
            ("ingest, first run", at.ours, at.ours_tree),
            ("ccusage 20 (native)", at.theirs, at.theirs_tree),
        ):
            wall, cpu = median([usage.wall for usage in used]), median([usage.cpu for usage in used])
            first = name.startswith("ingest")
            rows.append(
                [
                    f"{level.lines:,}" if first else "",
                    mb(level.size) if first else "",
                    name,
                    f"{wall:.2f}",
                    f"{cpu:.2f}",
                    f"{level.size / 1e6 / wall:.0f}",
                    f"{cpu / level.size * 1e9:.2f}",
                    mb(max(usage.max_rss for usage in used)),
                    "-" if tree is None else mb(tree),
                ]
            )
    print_table(
        f"per size: median of {reps} run(s); peak RSS: the largest of a run's processes, the most of any run;"
        " all processes: their PSS summed, sampled every 20 ms in one more, untimed, run",
        ["lines", "MB", "command", "wall s", "CPU s", "MB/s (wall)", "CPU s per GB", "peak RSS MB", "all processes MB"],
        rows,
    )


def check_sizes(levels: Sequence[Size], found: dict[int, AtSize], verdicts: Verdicts) -> None:
    small, big = levels[max(0, len(levels) - 2)], levels[-1]  # the two largest (see the module's note)

    def cpu_per_byte(level: Size) -> float:
        return median([usage.cpu for usage in found[level.lines].ours]) / level.size

    def peak(level: Size) -> int:
        return max(usage.max_rss for usage in found[level.lines].ours)

    linear = cpu_per_byte(big) / cpu_per_byte(small)
    most = max(peak(level) for level in levels)
    flat = peak(big) / peak(small)
    wrong = [f"{level.lines:,}" for level in levels if not found[level.lines].same]
    collapsed = [f"{level.lines:,}" for level in levels if not found[level.lines].distinct]
    sizes = f"{big.lines:,} / {small.lines:,} lines"
    targets = [
        [f"CPU per byte, {sizes}", f"{linear:.2f}x", f"<= {LINEAR_WITHIN}x", linear <= LINEAR_WITHIN],
        ["peak RSS, the most at any size", f"{mb(most)} MB", f"<= {RSS_BOUND_MB} MB", most <= RSS_BOUND_MB * 1e6],
        [f"peak RSS, {sizes}", f"{flat:.2f}x", f"<= {RSS_FLAT}x", flat <= RSS_FLAT],
        [
            "daily totals = ccusage 20's, every size",
            f"NO at {', '.join(wrong)}" if wrong else "yes",
            "equal",
            not wrong,
        ],
        [
            "ccusage's totals = the sums of its blocks'",
            f"NO at {', '.join(collapsed)}" if collapsed else "yes",
            "equal",
            not collapsed,
        ],
    ]
    print_targets(targets, verdicts)
    per_million = (big.lines - small.lines) / 1e6
    print(f"  peak RSS grows {(peak(big) - peak(small)) / 1e6 / per_million:+.0f} MB per million lines", end="")
    trees = [found[level.lines].ours_tree for level in (small, big)]
    if trees[0] is not None and trees[1] is not None:
        print(f"; all processes together {(trees[1] - trees[0]) / 1e6 / per_million:+.0f} MB", end="")
    print(f" (from {small.lines:,} to {big.lines:,} lines)")


def link_blocks(folder: Path, blocks: Sequence[Path], lines: int) -> Size:
    """A transcripts folder of hard links to the blocks' files: no second copy on disk."""
    size = 0
    for block in blocks:
        for path in block.rglob("*.jsonl"):
            target = folder / path.relative_to(block)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)  # session ids carry random bits: a clash between blocks fails here, loudly
            size += path.stat().st_size
    return Size(lines, folder, len(blocks), size)


def room_for(sizes: Sequence[int]) -> str | None:
    """Why the largest size will not fit in the temporary directory's file system, or None."""
    free = shutil.disk_usage(tempfile.gettempdir()).free
    need = max(sizes) * BYTES_PER_LINE * 1.1 + (1 << 30)  # the transcripts once, and a margin for the ledgers
    print(f"bench_ingest --scale: {free / 1e9:.1f} GB free in {tempfile.gettempdir()}, {need / 1e9:.1f} GB needed")
    if free < need:
        return f"too little free disk for {max(sizes):,} lines: use --sizes with fewer lines or set TMPDIR"
    return None


def sizes_arg(text: str) -> list[int]:
    return sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench ingest")
    parser.add_argument("--lines", type=int, default=None, help="transcript lines (default 200,000; quick 20,000)")
    parser.add_argument("--reps", type=int, default=None, help="runs of each command (default 5, --scale 3; quick 1)")
    parser.add_argument("--scale", action="store_true", help="the first ingest at several sizes instead (not --quick)")
    parser.add_argument(
        "--sizes",
        type=sizes_arg,
        default=list(SCALE_SIZES),
        help="with --scale: comma-separated line counts (default 200000,1000000,2000000)",
    )
    args = parser.parse_args(argv)
    if args.scale and args.quick:
        parser.error("--scale generates gigabytes: it has no quick mode")
    if len(args.sizes) < 2 or min(args.sizes) < 1:
        parser.error("--sizes needs at least two line counts, each at least 1")
    if max(args.sizes) // math.gcd(*args.sizes) > 100:
        parser.error(
            "--sizes are generated in blocks of their greatest common divisor: make it at least 1/100 of the largest"
        )
    reps = args.reps or (1 if args.quick else 3 if args.scale else 5)
    verdicts = Verdicts()
    try:
        tools = Tools(
            native=[*ccusage_tool.native(), "claude", "daily", "--json", "--offline", "--timezone", "UTC"],
            node=[*ccusage_tool.on_node(), "daily", "--json", "--offline", "--timezone", "UTC"],
        )
    except ccusage_tool.Unavailable as why:
        print(f"bench_ingest: skipped, {why}")
        return 0
    if args.scale and (why_not := room_for(args.sizes)):
        print(f"bench_ingest --scale: skipped, {why_not}")
        return 0
    with scratch_dir("gt-bench-ingest-", keep=args.keep) as root:
        tracker = tracker_in(root, tools, args.python_env_as_is)
        if args.scale:
            scale(root, tracker, args.sizes, reps, verdicts)
        else:
            compare(tracker, root / "claude", args.lines or (20_000 if args.quick else 200_000), reps, verdicts)
        print(f"  {load_line()}")
    return verdicts.summary(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
