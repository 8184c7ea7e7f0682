"""bench_agent_hooks: `git tracker hook claude|codex EVENT` (the agents' own hooks) against Python start-up.

Claude Code and Codex run the hook on every turn and wait for it, so each call must return in under 50 ms. Measured
in one run, interleaved and in random order: `python -c pass` with the same interpreter (the floor for any Python
program), and the hook on the events a turn fires, in a repository with an automatic window open:
UserPromptSubmit (only the session file), Stop for Claude and for Codex (the session file, a queued item and the
start of the detached worker, whose own work is not the agent's wait: the bench lets it finish, untimed, before the
next call). Wall time and CPU time (the hook process alone, from the kernel's accounting of waited-for children).

Then a Codex session of many turns (200; 20 with --quick): the records it adds (at most one per turn, plus the
window's opening) and the size of the local state after each turn (it must not grow per turn).
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
)

TARGET_MS = 50.0
CLAUDE_SESSION = "3429e800-8c63-4808-83c0-231376e0ece5"
CODEX_SESSION = "01a22bf1-ccd3-79d0-9845-73db784da1a9"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def timed(cmd: list[str], cwd: Path, env: dict[str, str], stdin: bytes) -> tuple[float, float]:
    """(wall ms, cpu ms) of one call."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter_ns()
    done = subprocess.run(cmd, cwd=cwd, env=env, input=stdin, capture_output=True, check=False)
    wall = (time.perf_counter_ns() - start) / 1e6
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or done.stdout:
        raise SystemExit(f"bench: `{' '.join(cmd)}` -> {done.returncode}, stdout {done.stdout[:80]!r}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def wait_for_worker(tracker: Path, timeout: float = 60.0) -> None:
    import fcntl

    auto = tracker / "auto"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            queued = (auto / "queue").stat().st_size > 0
        except FileNotFoundError:  # taken by the worker meanwhile
            queued = False
        busy = False
        if (auto / "worker.lock").exists():
            with open(auto / "worker.lock", "a") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(handle, fcntl.LOCK_UN)
                except BlockingIOError:
                    busy = True
        if not queued and not busy and not list(auto.glob("queue.taken.*")):
            return
        time.sleep(0.01)
    raise SystemExit("bench: the autocapture worker did not finish")


def write_rollout(path: Path, turns: int) -> None:
    lines = [{"timestamp": stamp(START), "type": "session_meta", "payload": {"id": CODEX_SESSION}}]
    for turn in range(1, turns + 1):
        limits = {
            "primary": {"used_percent": min(100, turn // 2), "window_minutes": 300, "resets_at": 1796500000},
            "secondary": {"used_percent": 5, "window_minutes": 10080, "resets_at": 1797000000},
        }
        event = {"type": "token_count", "info": None, "rate_limits": limits}
        lines.append({"timestamp": stamp(START + timedelta(seconds=turn)), "type": "event_msg", "payload": event})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def local_bytes(tracker: Path) -> int:
    return sum(p.stat().st_size for p in tracker.rglob("*") if p.is_file() and "cache" not in p.parts)


def record_count(cli: list[str], repo: Path, env: dict[str, str]) -> int:
    return len(run([*cli, "log", "--json"], repo, env).splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench agent hooks")
    args = parser.parse_args(argv)
    reps = 15 if args.quick else 60
    turns = 20 if args.quick else 200
    verdicts = Verdicts()
    with scratch_dir("gt-bench-agent-hooks-", keep=args.keep) as root:
        env = hermetic_env(root, python_env_as_is=args.python_env_as_is)
        env["GIT_TRACKER_NOW"] = stamp(START)
        repo = git_init(root / "repo", env)
        tracker = repo / ".git" / "tracker"
        cli = primary_cli()
        run([*cli.argv, "init"], repo, env)
        rollout = root / "rollout.jsonl"
        write_rollout(rollout, 1)
        claude = {"session_id": CLAUDE_SESSION, "cwd": str(repo), "transcript_path": str(root / "t.jsonl")}
        codex = {"session_id": CODEX_SESSION, "cwd": str(repo), "transcript_path": str(rollout)}
        prompt = json.dumps({**claude, "hook_event_name": "UserPromptSubmit", "prompt": "x" * 2000}).encode()
        calls = {
            "python -c pass (floor)": ([sys.executable, "-c", "pass"], b""),
            "hook claude UserPromptSubmit": ([*cli.argv, "hook", "claude", "UserPromptSubmit"], prompt),
            "hook claude Stop": ([*cli.argv, "hook", "claude", "Stop"], json.dumps(claude).encode()),
            "hook codex Stop": ([*cli.argv, "hook", "codex", "Stop"], json.dumps(codex).encode()),
        }
        for cmd, stdin in calls.values():  # warm-up; the first events open the two windows
            timed(cmd, repo, env, stdin)
            wait_for_worker(tracker)
        print(f"bench_agent_hooks: {reps} runs each, interleaved; a Codex session of {turns} turns")
        print(f"  ({machine_line(env)})")
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
        order = list(calls)
        rng = random.Random(7)
        for _ in range(reps):
            rng.shuffle(order)
            for name in order:
                times[name].append(timed(*calls[name][:1], repo, env, calls[name][1]))
                wait_for_worker(tracker)
        floor_wall = median([wall for wall, _ in times["python -c pass (floor)"]])
        floor_cpu = median([cpu for _, cpu in times["python -c pass (floor)"]])
        rows = []
        for name, values in times.items():
            walls, cpus = [wall for wall, _ in values], [cpu for _, cpu in values]
            mid = median(walls)
            verdict = ""
            if name.startswith("hook"):
                verdict = verdicts.check(f"{name} median {mid:.1f} ms < {TARGET_MS:g} ms", mid < TARGET_MS)
            rows.append(
                [
                    name,
                    fmt(mid),
                    fmt(percentile(walls, 90)),
                    f"{mid / floor_wall:.2f}x",
                    fmt(median(cpus)),
                    f"{median(cpus) / floor_cpu:.2f}x" if floor_cpu else "n/a",
                    verdict,
                ]
            )
        print_table(
            "per call, ms (ratios: vs python -c pass in the same venv)",
            ["command", "wall median", "wall p90", "wall ratio", "cpu median", "cpu ratio", "verdict"],
            rows,
        )
        session_turns(list(cli.argv), repo, env, tracker, rollout, codex, turns, verdicts)
    return verdicts.summary(args.strict)


def session_turns(
    cli: list[str],
    repo: Path,
    env: dict[str, str],
    tracker: Path,
    rollout: Path,
    codex: dict[str, str],
    turns: int,
    verdicts: Verdicts,
) -> None:
    """A fresh Codex session of ``turns`` turns (a new session id): records added and local bytes per turn."""
    session = dict(codex, session_id="02b33c22-ccd3-79d0-9845-73db784da1a9")
    records_before = record_count(cli, repo, env)
    sizes = []
    started = time.perf_counter()
    for turn in range(1, turns + 1):
        write_rollout(rollout, turn)
        turn_env = {**env, "GIT_TRACKER_NOW": stamp(START + timedelta(seconds=turn))}
        for event in ("UserPromptSubmit", "Stop"):
            stdin = json.dumps({**session, "hook_event_name": event}).encode()
            timed([*cli, "hook", "codex", event], repo, turn_env, stdin)
        wait_for_worker(tracker)
        sizes.append(local_bytes(tracker))
    elapsed = time.perf_counter() - started
    added = record_count(cli, repo, env) - records_before
    growth = sizes[-1] - sizes[len(sizes) // 2]
    print(
        f"\n  Codex session of {turns} turns: {added} records added ({added / turns:.2f} per turn), "
        f"{elapsed:.1f} s in all (the worker included)"
    )
    print(f"  local state: {sizes[0]} bytes after turn 1, {sizes[len(sizes) // 2]} mid-session, {sizes[-1]} at the end")
    verdicts.check(f"records added {added} <= {turns} turns + 2", added <= turns + 2)
    # A digit more in a percent may add a byte; growth per turn would show as at least a line per turn.
    verdicts.check(f"local state grew {growth} bytes over the second half of the session (< 64)", growth < 64)


if __name__ == "__main__":
    raise SystemExit(main())
