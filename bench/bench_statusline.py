"""bench_statusline: `git tracker statusline` (a Claude Code statusLine command) against Python start-up.

Claude Code runs the status-line command on every repaint, so it must answer in under 50 ms. Measured in
one run, interleaved: `python -c pass` with the same interpreter (the floor for any Python command),
`git-tracker --version` (the CLI with click) and `git-tracker statusline` fed a real-shaped payload, in a
repository with an open window (so the line includes it).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
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
PAYLOAD = {
    "model": {"id": "claude-opus-4-1", "display_name": "Opus"},
    "workspace": {"current_dir": "", "project_dir": ""},
    "session_id": "bench",
    "rate_limits": {
        "five_hour": {"used_percentage": 23.5, "resets_at": int(time.time()) + 7200},
        "seven_day": {"used_percentage": 41.0, "resets_at": int(time.time()) + 4 * 86400},
    },
}


def timed_stdin(cmd: list[str], cwd: Path, env: dict[str, str], stdin: str) -> float:
    start = time.perf_counter_ns()
    done = subprocess.run(cmd, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    if done.returncode != 0:
        raise SystemExit(f"bench: `{' '.join(cmd)}` failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench statusline")
    args = parser.parse_args(argv)
    reps = 15 if args.quick else 60
    verdicts = Verdicts()
    with scratch_dir("gt-bench-statusline-", keep=args.keep) as root:
        env = hermetic_env(root, python_env_as_is=args.python_env_as_is)
        repo = git_init(root / "repo", env)
        cli = primary_cli()
        run([*cli.argv, "init"], repo, env)
        run([*cli.argv, "start", "claude", "--used", "20"], repo, env)
        payload = json.loads(json.dumps(PAYLOAD))
        payload["workspace"]["current_dir"] = str(repo)
        stdin = json.dumps(payload)
        print(f"bench_statusline: {reps} runs each, interleaved")
        print(f"  ({machine_line(env)})")
        commands = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            f"{cli.label} --version (click CLI)": [*cli.argv, "--version"],
            f"{cli.label} statusline": [*cli.argv, "statusline"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        order = list(commands)
        rng = random.Random(7)
        for name in order:  # warm-up
            timed_stdin(commands[name], repo, env, stdin)
        for _ in range(reps):
            rng.shuffle(order)
            for name in order:
                times[name].append(timed_stdin(commands[name], repo, env, stdin))
        floor = median(times["python -c pass (floor)"])
        rows = []
        for name, values in times.items():
            mid = median(values)
            verdict = ""
            if name.endswith("statusline"):
                verdict = verdicts.check(f"statusline median {mid:.1f} ms < {TARGET_MS:g} ms", mid < TARGET_MS)
            rows.append(
                [
                    name,
                    str(len(values)),
                    fmt(mid),
                    fmt(percentile(values, 90)),
                    f"{mid / floor:.2f}x",
                    f"< {TARGET_MS:g}" if verdict else "",
                    verdict,
                ]
            )
        print_table(
            "wall time per call, ms (ratio: vs python -c pass)",
            ["command", "n", "median", "p90", "ratio", "target", "verdict"],
            rows,
        )
        line = run([*cli.argv, "statusline"], repo, env, stdin=stdin).strip()
        print(f"\n  the line it printed: {line}")
    return verdicts.summary(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
