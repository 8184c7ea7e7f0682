"""bench_report: `git tracker report` over 10,000 closed, completed windows, against `preview --json` on that ledger.

Set-up (untimed): one repository with `git tracker init` whose ledger holds 10,000 windows (``--quick``: 1,000) from
``gittracker.synth.window_ledger``: in turn claude, codex and glm, each provider's windows one after another over
about a year, each with its before and after snapshots, open, close, completion and (claude, codex) the window's
tokens. The records are made in process and written by ``git fast-import``, one commit per window (as each command
appends one); then ``git gc``.

Measured, interleaved (shuffled order per round), wall and CPU of the process and its children, medians, each
command run once untimed first (caches built, bytecode compiled):

1. ``git tracker report --out FILE`` warm. Target (issue 17): under 3 s at 10,000 windows, the plotting import
   included.
2. baseline: ``git tracker preview --json`` on the same ledger: the numbers alone. The report runs preview and
   ``decide`` (whose gate G1 evaluates the ledger as of each provider's last two closes, kept between runs by what
   each read: warm, none is evaluated again) over one read of the ledger, and draws.
3. the plotting import alone: ``python -c "import matplotlib.figure, matplotlib.backends.backend_svg"`` against
   ``python -c pass`` (the difference is the import, stated apart).

Then, once, in one process: where the report's time goes (preview, decide, the report's own gathering, drawing,
the page), and the page's size.

Run from the repository root: ``python bench/bench_report.py [--quick] [--strict] [--windows N] [--rounds N]``.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_team import fast_import, timed_cpu
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

from gittracker.synth import window_ledger

TARGET_MS = 3000.0
FULL_WINDOWS = 10_000
BATCH = 2_000  # windows per fast-import run: the records of one run are held in memory at once

# Run in the bench repository by the bench's python: the report's steps timed one by one, as write_report runs them.
BREAKDOWN = """
import json, sys, time
t0 = time.perf_counter()
from gittracker.context import open_context
from gittracker.decision import run_decision
from gittracker.experiment.bank import BANK_KINDS
from gittracker.preview import read_inputs, run_preview
from gittracker.report import data as report_data
times = {"imports": time.perf_counter() - t0}
ctx = open_context(".", require_setup=False)
def step(name, call):
    began = time.perf_counter()
    value = call()
    times[name] = time.perf_counter() - began
    return value
report_data.gather(ctx)  # untimed: the first call's own imports (scipy) and reads of kept caches
data = step("gather", lambda: report_data.gather(ctx))
inputs = step("read the ledger", lambda: read_inputs(ctx, (*BANK_KINDS, *report_data.SERIES_KINDS)))
step("preview", lambda: run_preview(ctx, inputs=inputs))
step("decide", lambda: run_decision(ctx, inputs))
began = time.perf_counter()
from gittracker.report.charts import draw_all
import matplotlib.figure, matplotlib.backends.backend_svg
times["matplotlib import"] = time.perf_counter() - began
charts = step("draw", lambda: draw_all(data))
from gittracker.report.page import render
html = step("page", lambda: render(data, charts))
parts = ("read the ledger", "preview", "decide")
times["report's own gathering"] = times.pop("gather") - sum(times[name] for name in parts)
print(json.dumps({"times": times, "bytes": len(html.encode()), "svg": {c.name: len(c.svg or "") for c in charts}}))
"""


def build(root: Path, env: dict[str, str], cli: tuple[str, ...], windows: int, seed: int) -> Path:
    repo = git_init(root / "repo", env)
    run([*cli, "init"], repo, env)
    ledger = window_ledger(windows, seed=seed)
    for first in range(0, len(ledger), BATCH):
        fast_import(repo, ledger[first : first + BATCH], env, "main")
    run(["git", "gc", "-q"], repo, env)
    return repo


def check_ledger(repo: Path, env: dict[str, str], cli: tuple[str, ...], windows: int) -> dict[str, Any]:
    preview: dict[str, Any] = json.loads(run([*cli, "preview", "--json"], repo, env))
    counted = sum(report["n"] for report in preview["providers"].values())
    if counted != windows:
        raise SystemExit(f"bench: preview counts {counted} closed, completed windows, expected {windows}")
    return preview


def breakdown(repo: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", BREAKDOWN], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: the breakdown failed: {done.stderr.strip()[-600:]}")
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench report")
    parser.add_argument("--windows", type=int, help=f"closed windows (default {FULL_WINDOWS:,}, --quick 1,000)")
    parser.add_argument("--rounds", type=int, help="timed rounds (default 5, --quick 2)")
    parser.add_argument("--seed", type=int, default=17, help="the ledger's windows and the order of the runs")
    args = parser.parse_args(argv)
    windows = args.windows or (1_000 if args.quick else FULL_WINDOWS)
    rounds = args.rounds or (2 if args.quick else 5)
    rng = random.Random(args.seed)
    verdicts = Verdicts()
    cli = primary_cli().argv
    with scratch_dir("gt-bench-report-", keep=args.keep) as root:
        env = hermetic_env(root, python_env_as_is=args.python_env_as_is)
        print(f"bench_report: report over {windows:,} closed, completed windows, against preview --json")
        print(f"  ({machine_line(env)})")
        print(f"cli: {' '.join(cli)}")
        began = time.perf_counter()
        repo = build(root, env, cli, windows, args.seed)
        preview = check_ledger(repo, env, cli, windows)
        print(
            f"  built in {time.perf_counter() - began:.1f} s; preview counts n = "
            + ", ".join(f"{name} {report['n']}" for name, report in preview["providers"].items())
        )
        page = root / "report.html"
        report = [*cli, "report", "--out", str(page)]
        numbers = [*cli, "preview", "--json"]
        importing = [sys.executable, "-c", "import matplotlib.figure, matplotlib.backends.backend_svg"]
        bare = [sys.executable, "-c", "pass"]
        measures: dict[str, Callable[[], tuple[float, float]]] = {
            "report --out FILE": lambda: timed_cpu(report, repo, env),
            "baseline: preview --json": lambda: timed_cpu(numbers, repo, env),
            "python: import matplotlib (svg)": lambda: timed_cpu(importing, repo, env),
            "python: pass": lambda: timed_cpu(bare, repo, env),
        }
        for measure in measures.values():  # warm-up: caches built, bytecode compiled
            measure()
        walls, cpus = interleaved(measures, rounds, rng)
        base_wall = median(walls["baseline: preview --json"])
        base_cpu = median(cpus["baseline: preview --json"])
        rows = [
            [
                name,
                fmt(median(walls[name]), 0),
                fmt(min(walls[name]), 0),
                fmt(median(cpus[name]), 0),
                fmt(median(walls[name]) / base_wall),
                fmt(median(cpus[name]) / base_cpu),
            ]
            for name in measures
        ]
        print_table(
            f"medians of {rounds} interleaved rounds (ms)",
            ["measure", "wall", "wall min", "cpu", "wall / preview", "cpu / preview"],
            rows,
        )
        warm = median(walls["report --out FILE"])
        plotting = median(walls["python: import matplotlib (svg)"]) - median(walls["python: pass"])
        print()
        print(f"matplotlib import (figure + SVG backend): {fmt(plotting, 0)} ms wall (in the report's time above)")
        print(f"report adds {fmt(warm - base_wall, 0)} ms wall over preview --json ({fmt(warm / base_wall)}x)")
        scale = f" (at {windows:,} windows: the target is for {FULL_WINDOWS:,})" if windows != FULL_WINDOWS else ""
        print(f"report warm over {windows:,} windows: {fmt(warm, 0)} ms, target < {TARGET_MS:.0f} ms{scale}")
        print(f"  {verdicts.check('report warm under 3 s', warm < TARGET_MS)}")
        split = breakdown(repo, env)
        times = split["times"]
        print_table(
            "where the report's time goes (one run, in process, ms)",
            ["step", "wall"],
            [[name, fmt(seconds * 1000, 0)] for name, seconds in times.items()],
        )
        svg = split["svg"]
        print(
            f"\npage: {int(str(split['bytes'])):,} bytes; charts (SVG bytes): "
            + ", ".join(f"{name} {size:,}" for name, size in svg.items())
        )
        return verdicts.summary(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
