"""What finding overlapping windows costs (gittracker.overlaps), in process, against the floor of any sweep.

The finder sorts each provider's windows and sweeps them once: O(n log n + pairs). The baseline is one sort of
the same windows by opening time, what any sweep must do; the ratio says what the sweep adds on top. A
brute-force O(n²) check on a smaller set shows what the sweep saves. Interleaved runs, medians of wall and CPU.

    python bench/bench_overlaps.py [--quick] [--windows N] [--seed N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gittracker.overlaps import Span, groups, overlapping_pairs

START = datetime(2026, 1, 1, tzinfo=UTC)


def windows(count: int, rng: random.Random) -> list[Span]:
    """Windows of three providers, one opening every 20-120 min, each open 10-90 min: a few in ten overlap."""
    spans, minute = [], 0
    for number in range(count):
        minute += rng.randint(20, 120)
        opened = START + timedelta(minutes=minute)
        closed = opened + timedelta(minutes=rng.randint(10, 90))
        provider = rng.choice(("codex", "claude", "glm"))
        spans.append(Span(f"W{number:08d}", provider, opened, closed, "five_hour", "a"))
    return spans


def brute(spans: list[Span]) -> int:
    return sum(
        1
        for i, a in enumerate(spans)
        for b in spans[i + 1 :]
        if a.provider == b.provider and a.opened < b.closed and b.opened < a.closed
    )


Times = dict[str, list[tuple[float, float]]]  # job -> (wall, cpu) seconds per run


def measure(jobs: dict[str, Callable[[], object]], reps: int, rng: random.Random) -> Times:
    times: Times = {name: [] for name in jobs}
    for _ in range(reps):
        order = list(jobs)
        rng.shuffle(order)
        for name in order:
            wall, cpu = time.perf_counter(), time.process_time()
            jobs[name]()
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return times


def report(title: str, times: Times, base: str) -> None:
    base_wall = statistics.median(t[0] for t in times[base])
    base_cpu = statistics.median(t[1] for t in times[base])
    print(f"\n{title}")
    print(f"{'':<28} {'wall ms':>9} {'cpu ms':>9} {'wall x':>7} {'cpu x':>7}")
    for name, values in times.items():
        wall = statistics.median(t[0] for t in values)
        cpu = statistics.median(t[1] for t in values)
        print(f"{name:<28} {wall * 1000:>9.1f} {cpu * 1000:>9.1f} {wall / base_wall:>7.2f} {cpu / base_cpu:>7.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer windows and repetitions")
    parser.add_argument("--windows", type=int, default=None, help="windows in the large set (default 200,000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    count = args.windows or (20_000 if args.quick else 200_000)
    reps = 3 if args.quick else 7
    spans = windows(count, rng)
    rng.shuffle(spans)  # closes come in closing order, not opening order: no sort gets its input sorted
    pairs = overlapping_pairs(spans)
    print(f"{count:,} windows, {len(pairs):,} overlapping pairs, {len(groups(spans, pairs)):,} groups")
    large = {
        "sort by opening (baseline)": lambda: sorted(spans, key=lambda span: span.opened),
        "overlapping_pairs": lambda: overlapping_pairs(spans),
        "pairs + groups": lambda: groups(spans, overlapping_pairs(spans)),
    }
    report(f"{count:,} windows", measure(large, reps, rng), "sort by opening (baseline)")
    small = spans[: 2_000 if args.quick else 5_000]
    assert brute(small) == len(overlapping_pairs(small))
    versus = {"overlapping_pairs": lambda: overlapping_pairs(small), "brute force O(n^2)": lambda: brute(small)}
    report(f"{len(small):,} windows: the sweep against brute force", measure(versus, 3, rng), "overlapping_pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
