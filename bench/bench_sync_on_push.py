"""bench_sync_on_push: what `init --sync-on-push` adds to the user's `git push`, and how soon the data follows.

Two clones, each of its own bare remote on disk, each with a codex window open so every commit gets a note:
one set up with plain `git tracker init` (the baseline), one with `git tracker init --sync-on-push`. In one run,
interleaved: a commit in each (not timed), then `git push origin main` in each, timed as the user sees it (wall
until git exits and its pipes close; CPU of git and its hooks, from the children's rusage). The background sync
the hook starts is not part of the push: the bench waits for its log line (not timed) before the next round, so
it never competes with a timed push, and reports how long after the push the tracker data was on the remote.
"""

from __future__ import annotations

import random
import resource
import sys
import time
from pathlib import Path

from benchlib import (
    Verdicts,
    arg_parser,
    fmt,
    hermetic_env,
    machine_line,
    median,
    primary_cli,
    print_table,
    run,
    scratch_dir,
)

ADDED_MS_TARGET = 25.0  # the push with sync on push, minus the plain push: at most this, median wall
FOLLOW_S_TARGET = 5.0  # tracker data on the remote at most this long after the push returned (median)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def timed_push(clone: Path, env: dict[str, str]) -> tuple[float, float]:
    cpu = children_cpu()
    start = time.perf_counter_ns()
    run(["git", "push", "-q", "origin", "main"], clone, env)
    return (time.perf_counter_ns() - start) / 1e6, children_cpu() - cpu


def wait_for_log(clone: Path, before: str | None, timeout: float = 120.0) -> str:
    log = clone / ".git" / "tracker" / "sync-on-push.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else None
        if text is not None and text != before:
            return text
        time.sleep(0.01)
    raise SystemExit("bench: the sync the pre-push hook started wrote no result")


def make_clone(root: Path, name: str, env: dict[str, str], init_args: list[str]) -> Path:
    remote = root / f"{name}.git"
    run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], root, env)
    clone = root / name
    run(["git", "clone", "-q", str(remote), str(clone)], root, env)
    (clone / "README").write_text("bench\n")
    run(["git", "add", "README"], clone, env)
    run(["git", "commit", "-q", "-m", "initial"], clone, env)
    run(["git", "push", "-q", "origin", "main"], clone, env)
    cli = list(primary_cli().argv)
    run([*cli, "init", *init_args], clone, env)
    run([*cli, "start", "codex", "--used", "10"], clone, env)
    return clone


def commit(clone: Path, env: dict[str, str], n: int) -> None:
    (clone / f"f{n}.txt").write_text(f"{n}\n")
    run(["git", "add", f"f{n}.txt"], clone, env)
    run(["git", "commit", "-q", "-m", f"change {n}"], clone, env)


def main() -> int:
    parser = arg_parser(__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=None, help="pushes per clone (default 25; --quick 5)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    reps = args.reps or (5 if args.quick else 25)
    with scratch_dir("gt-bench-", keep=args.keep) as root:
        env = hermetic_env(root, python_env_as_is=args.python_env_as_is)
        print(machine_line(env))
        clones = {
            "git push (plain init)": make_clone(root, "plain", env, []),
            "git push (init --sync-on-push)": make_clone(root, "synced", env, ["--sync-on-push"]),
        }
        wall: dict[str, list[float]] = {name: [] for name in clones}
        cpu: dict[str, list[float]] = {name: [] for name in clones}
        follow: list[float] = []
        rng = random.Random(args.seed)
        order = list(clones)
        log: str | None = None
        for n in range(reps + 1):  # round 0 warms up: bytecode written, files in the page cache
            rng.shuffle(order)
            for name in order:
                clone = clones[name]
                commit(clone, env, n)
                took, used = timed_push(clone, env)
                if "sync-on-push" in name:
                    returned = time.monotonic()
                    log = wait_for_log(clone, log)
                    if n:
                        follow.append(time.monotonic() - returned)
                    if "sync not done" in log:
                        raise SystemExit(f"bench: the sync after the push failed: {log.strip()}")
                if n:
                    wall[name].append(took)
                    cpu[name].append(used)
        base = "git push (plain init)"
        rows = [
            [
                name,
                fmt(median(wall[name])),
                fmt(median(wall[name]) / median(wall[base])),
                fmt(median(cpu[name])),
                fmt(median(cpu[name]) / max(median(cpu[base]), 1e-9)),
            ]
            for name in clones
        ]
        print_table(
            f"{reps} pushes each, interleaved (ms, medians)", ["push", "wall", "x plain", "cpu", "x plain"], rows
        )
        verdicts = Verdicts()
        added = median(wall["git push (init --sync-on-push)"]) - median(wall[base])
        print(
            f"\nadded to the push: {fmt(added)} ms median wall (target <= {ADDED_MS_TARGET:g} ms): "
            + verdicts.check("sync on push adds little to a push", added <= ADDED_MS_TARGET)
        )
        print(
            f"tracker data on the remote {fmt(median(follow))} s after the push returned (median; max "
            f"{fmt(max(follow))} s; target <= {FOLLOW_S_TARGET:g} s): "
            + verdicts.check("tracker data follows the push", median(follow) <= FOLLOW_S_TARGET)
        )
        return verdicts.summary(args.strict)


if __name__ == "__main__":
    sys.exit(main())
