"""bench_experiment: what the experiment (issue 16) costs the commands it touches, each against a baseline.

One throwaway repository with a task bank of 50 features (`--quick`: 16), a plan (`assign --seed 7`, codex
against glm) and a few hundred closed, completed windows on those features (2 to 4 per feature and provider, in the
plan's order), written in process with a pinned clock through the functions the CLI calls (as gittracker/demo.py
does). Beside it, made before anything is timed: a copy without the plan (the `assignment` record never written),
a repository with the same bank and the same windows (readings, outcomes) but none on a feature and no plan, so
preview has no experiment block, and a copy for the `start` runs (whose `undo`s add records kept out of the rest).

Measured, each interleaved with its baseline in shuffled rounds, wall and CPU time of the CLI process:

- `git tracker start codex --used 10 --feature F-07` against the same `start` without `--feature` (each undone
  with `undo codex`, untimed, so the next can start): what the bank and plan read of `--feature` adds.
  Target: adds under 50 ms (difference of the medians).
- `git tracker preview --json` with the plan against the same windows without features or plan (its `experiment`
  is null): the cost of the whole experiment block (the plan's read, the matched and crossover comparisons). The
  copy without the plan is shown too: preview's baseline still gives it the matched comparison. Target: adds under
  100 ms.
- `git tracker bank list --json` against `git tracker log --kind feature --json`: both read the ledger and print
  every feature as JSON (log prints the stored records, specs included); bank list also reads the windows,
  completions, statuses and plan to derive each status. Target: at most 2x.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
    timed_cpu,
)

from gittracker import clock
from gittracker.capacity import Reading
from gittracker.context import Context, open_context
from gittracker.experiment.actions import add_feature, assign
from gittracker.experiment.plan import counterbalanced
from gittracker.windows import complete, end, start

SEED = 7
PROVIDERS = ("codex", "glm")
DAY0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
START_ADDS_MS = 50.0
BLOCK_ADDS_MS = 100.0
BANK_LIST_RATIO = 2.0


@contextmanager
def pinned(moment: datetime) -> Iterator[None]:
    os.environ["GIT_TRACKER_NOW"] = clock.format_ts(moment)
    try:
        yield
    finally:
        del os.environ["GIT_TRACKER_NOW"]


def use_env(env: dict[str, str]) -> None:
    """The in-process writes see what the CLI runs see: the hermetic HOME, identity and no caller GIT_*."""
    for key in list(os.environ):
        if key not in env:
            del os.environ[key]
    os.environ.update(env)


def fill_bank(ctx: Context, repo: Path, count: int, rng: random.Random) -> list[str]:
    features = [f"F-{n:02d}" for n in range(1, count + 1)]
    specs = repo.parent / "specs"
    specs.mkdir(exist_ok=True)
    for number, feature in enumerate(features):
        spec = specs / f"{feature}.md"
        spec.write_text(f"# {feature}\n\nBuild part {number} of the service.\n" + "Detail.\n" * rng.randint(5, 40))
        size = round(5 * rng.lognormvariate(0, 0.2), 1)
        with pinned(DAY0 + timedelta(seconds=number)):
            add_feature(ctx, feature, f"part {number} of the service", str(spec), str(size))
    return features


def reading(provider: str, rng: random.Random, counter: dict[str, float]) -> tuple[Reading, Reading]:
    """A window's before and after readings: codex on its 5-hour and weekly percents, glm counting prompts."""
    if provider == "glm":
        before = counter["glm"]
        counter["glm"] = before + rng.randint(20, 90)
        return Reading(prompts=int(before)), Reading(prompts=int(counter["glm"]))
    used, week = round(rng.uniform(0, 40), 1), round(rng.uniform(0, 40), 1)
    spent = round(rng.uniform(2, 15), 1)
    after = Reading.of(five_hour_used=used + spent, weekly_used=round(week + spent * 0.12, 1))
    return Reading.of(five_hour_used=used, weekly_used=week), after


def seed_windows(ctx: Context, features: list[str], rng: random.Random, *, tagged: bool) -> None:
    """Each feature done by both providers in the plan's order, 2 to 4 closed, completed windows each; ``tagged``
    False: the same windows without their feature (no `--feature`)."""
    orders, _ = counterbalanced(features, SEED)
    counter = {"glm": 100.0}
    moment = DAY0 + timedelta(days=1)
    for feature in features:
        first, second = PROVIDERS if orders[feature] == "AB" else PROVIDERS[::-1]
        for provider in (first, second):
            for _ in range(rng.randint(2, 4)):
                before, after = reading(provider, rng, counter)
                with pinned(moment):
                    start(ctx, provider, before, feature_id=feature if tagged else None)
                moment += timedelta(minutes=rng.randint(20, 90))
                with pinned(moment):
                    end(ctx, provider, after)
                    outcome = rng.choices(("shipped", "partial", "failed"), (0.7, 0.2, 0.1))[0]
                    complete(ctx, None, outcome, "0.0" if outcome == "failed" else f"{rng.uniform(0.6, 1):.2f}")
                moment += timedelta(minutes=rng.randint(5, 30))


@dataclass(frozen=True)
class Repos:
    plan: Path  # bank, windows on its features, the plan
    no_plan: Path  # the same ledger without the assignment record
    no_features: Path  # the same bank and windows (same readings and outcomes), none with a feature, no plan
    starts: Path  # a copy of ``plan`` for the start/undo runs
    windows: int
    last: datetime


def seeded(root: Path, env: dict[str, str], cli: list[str], features: int, *, tagged: bool) -> tuple[Path, Context]:
    rng = random.Random(16)  # the same readings and outcomes in every repository
    repo = git_init(root / "repo", env)
    run([*cli, "init"], repo, env)
    ctx = open_context(repo, agent_id="seed", source="cli")
    bank = fill_bank(ctx, repo, features, rng)
    seed_windows(ctx, bank, rng, tagged=tagged)
    return repo, ctx


def build(root: Path, env: dict[str, str], cli: list[str], features: int) -> Repos:
    use_env(env)
    repo, ctx = seeded(root / "plan", env, cli, features, tagged=True)
    shutil.copytree(root / "plan", root / "no-plan", symlinks=True)  # before the plan: all of the ledger but it
    no_features, _ = seeded(root / "no-features", env, cli, features, tagged=False)
    windows = sum(1 for record in ctx.repo.read_records(("window-close",)))
    last = max(datetime.fromisoformat(r.ts.replace("Z", "+00:00")) for r in ctx.repo.read_records(("completion",)))
    with pinned(last):
        assign(ctx, str(SEED), ",".join(PROVIDERS))
    shutil.copytree(root / "plan", root / "starts", symlinks=True)
    return Repos(repo, root / "no-plan" / "repo", no_features, root / "starts" / "repo", windows, last)


Timings = dict[str, list[tuple[float, float]]]


def interleaved(calls: dict[str, tuple[list[str], Path]], env: dict[str, str], reps: int, seed: int) -> Timings:
    times: Timings = {name: [] for name in calls}
    order = list(calls)
    rng = random.Random(seed)
    for cmd, cwd in calls.values():  # warm-up: caches built, bytecode compiled
        timed_cpu(cmd, cwd, env)
    for _ in range(reps):
        rng.shuffle(order)
        for name in order:
            wall, cpu, _ = timed_cpu(*calls[name], env)
            times[name].append((wall, cpu))
    return times


def start_runs(cli: list[str], repo: Path, env: dict[str, str], reps: int, seed: int) -> Timings:
    """start with and without --feature, in shuffled order, each undone (untimed) before the next."""
    calls = {
        "start codex --used 10 (baseline)": [*cli, "start", "codex", "--used", "10"],
        "start codex --used 10 --feature F-07": [*cli, "start", "codex", "--used", "10", "--feature", "F-07"],
    }
    # The path measured reads the bank: a feature it does not hold is warned about (checked once, untimed).
    _, _, stderr = timed_cpu([*cli, "start", "codex", "--used", "10", "--feature", "F-99"], repo, env)
    run([*cli, "undo", "codex"], repo, env)
    if "not in the task bank" not in stderr:
        raise SystemExit(f"bench: start --feature F-99 did not warn that the bank lacks it: {stderr!r}")
    times: Timings = {name: [] for name in calls}
    order = list(calls)
    rng = random.Random(seed)
    for round_number in range(reps + 1):
        rng.shuffle(order)
        for name in order:
            wall, cpu, stderr = timed_cpu(calls[name], repo, env)
            run([*cli, "undo", "codex"], repo, env)
            if round_number:  # the first round warms up
                times[name].append((wall, cpu))
            if "--feature" in calls[name] and "warning" in stderr:
                raise SystemExit(f"bench: start --feature F-07 warned, the plan is not what the bench built: {stderr}")
    return times


def table(title: str, times: Timings, baseline: str, verdict: dict[str, str]) -> tuple[float, float]:
    base_wall = median([w for w, _ in times[baseline]])
    base_cpu = median([c for _, c in times[baseline]])
    rows = []
    for name, values in times.items():
        walls, cpus = [w for w, _ in values], [c for _, c in values]
        rows.append(
            [
                name,
                fmt(median(walls)),
                fmt(percentile(walls, 90)),
                f"{median(walls) / base_wall:.2f}x",
                f"{median(walls) - base_wall:+.1f}",
                fmt(median(cpus)),
                f"{median(cpus) / base_cpu:.2f}x" if base_cpu else "n/a",
                verdict.get(name, ""),
            ]
        )
    print_table(
        title,
        ["command", "wall p50", "wall p90", "wall ratio", "adds ms", "cpu p50", "cpu ratio", "verdict"],
        rows,
    )
    return base_wall, base_cpu


def medians(values: list[tuple[float, float]]) -> float:
    return median([wall for wall, _ in values])


NO_FEATURES = "preview --json, no feature, no plan (baseline)"
NO_PLAN = "preview --json, features, no plan"
WITH_PLAN = "preview --json, features and the plan"
LOG = "log --kind feature --json (baseline)"
BANK = "bank list --json"


def describe(block: dict[str, Any] | None) -> str:
    if block is None:
        return "null"
    parts = [f"matched {m['provider']} vs {m['versus']} on {m['pairs']} pairs" for m in block["matched"]]
    crossover = block["crossover"]
    if crossover is not None:
        sequences = crossover["sequences"]
        parts.append(
            f"crossover on {crossover['pairs']} ({len(sequences['AB'])} AB, {len(sequences['BA'])} BA), "
            f"ratio {fmt(crossover['ratio'] or math.nan)}"
        )
    return "; ".join(parts) or "no comparison"


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench experiment")
    parser.add_argument("--seed", type=int, default=7, help="order of the interleaved runs")
    args = parser.parse_args(argv)
    reps = 8 if args.quick else 30
    features = 16 if args.quick else 50
    verdicts = Verdicts()
    saved = dict(os.environ)
    with scratch_dir("gt-bench-experiment-", keep=args.keep) as root:
        env = hermetic_env(root, python_env_as_is=args.python_env_as_is)
        cli = list(primary_cli().argv)
        try:
            repos = build(root, env, cli, features)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        env["GIT_TRACKER_NOW"] = clock.format_ts(repos.last + timedelta(hours=1))
        print(f"bench_experiment: {features} features, {repos.windows} closed, completed windows, {reps} runs each")
        print(f"  ({machine_line(env)})")
        for label, repo in ((WITH_PLAN, repos.plan), (NO_PLAN, repos.no_plan), (NO_FEATURES, repos.no_features)):
            block = json.loads(run([*cli, "preview", "--json"], repo, env))["experiment"]
            print(f"  {label}: experiment block {describe(block)}")
        if json.loads(run([*cli, "preview", "--json"], repos.no_features, env))["experiment"] is not None:
            raise SystemExit("bench: the baseline's preview has an experiment block")

        started = start_runs(cli, repos.starts, env, reps, args.seed)
        base, feature = "start codex --used 10 (baseline)", "start codex --used 10 --feature F-07"
        adds = medians(started[feature]) - medians(started[base])
        verdict = verdicts.check(f"start --feature adds {adds:.1f} ms < {START_ADDS_MS:g} ms", adds < START_ADDS_MS)
        table("start, ms (ratios: vs start without --feature)", started, base, {feature: verdict})

        reads = interleaved(
            {
                NO_FEATURES: ([*cli, "preview", "--json"], repos.no_features),
                NO_PLAN: ([*cli, "preview", "--json"], repos.no_plan),
                WITH_PLAN: ([*cli, "preview", "--json"], repos.plan),
                LOG: ([*cli, "log", "--kind", "feature", "--json"], repos.plan),
                BANK: ([*cli, "bank", "list", "--json"], repos.plan),
            },
            env,
            reps,
            args.seed,
        )
        block = medians(reads[WITH_PLAN]) - medians(reads[NO_FEATURES])
        verdict = verdicts.check(f"experiment block adds {block:.1f} ms < {BLOCK_ADDS_MS:g} ms", block < BLOCK_ADDS_MS)
        table(
            "preview, ms (ratios: vs the same windows without features or plan: no experiment block)",
            {name: reads[name] for name in (NO_FEATURES, NO_PLAN, WITH_PLAN)},
            NO_FEATURES,
            {WITH_PLAN: verdict},
        )
        ratio = medians(reads[BANK]) / medians(reads[LOG])
        verdict = verdicts.check(f"bank list --json {ratio:.2f}x log --kind feature", ratio <= BANK_LIST_RATIO)
        table(
            f"bank list on {features} features, ms (ratios: vs log --kind feature --json)",
            {name: reads[name] for name in (LOG, BANK)},
            LOG,
            {BANK: verdict},
        )
    return verdicts.summary(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
