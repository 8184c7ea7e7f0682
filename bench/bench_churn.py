"""bench_churn: churn against `git log --numstat` / `git diff --numstat`, and `preview` on 10,000 windows.

Targets (issue 4): gross churn over 1,000 commits at most 1.15x `git log --numstat --no-renames` over the
same range; net churn of a window under 50 ms on any repository size; `preview` over 10,000 closed windows
under 1 s. Everything runs in one repository built with `git fast-import`, baseline and measured thing
interleaved.
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pygit2
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
    timed,
)

from gittracker import clock
from gittracker.churn import Policy, churn_between
from gittracker.git import LEDGER_REF, Repo
from gittracker.records import Record, record_path


def fast_import_history(repo: Path, env: dict[str, str], commits: int, rng: random.Random) -> None:
    """``commits`` commits on main touching a few of 200 files each, via one `git fast-import` stream."""
    stream = []
    files = [f"src/module_{i:03d}.py" for i in range(200)]
    when = 1_700_000_000
    for n in range(commits):
        when += 60
        stream.append(f"commit refs/heads/main\ncommitter Bench <b@bench.invalid> {when} +0000\n")
        message = f"change {n}"
        stream.append(f"data {len(message)}\n{message}\n")
        if n == 0:
            stream.append("from refs/heads/main^0\n")
        for name in rng.sample(files, rng.randint(1, 4)):
            body = "".join(f"line {rng.randrange(10**6)}\n" for _ in range(rng.randint(5, 120)))
            stream.append(f"M 100644 inline {name}\ndata {len(body.encode())}\n{body}\n")
    run(["git", "fast-import", "--quiet"], repo, env, stdin="".join(stream))
    run(["git", "reset", "-q", "--hard", "main"], repo, env)


def seed_windows(repo: Path, count: int, commits: list[str], rng: random.Random) -> None:
    """``count`` closed, completed windows over the history's commits, written straight into the ledger."""
    files: dict[str, bytes] = {}
    base = datetime.now(UTC) - timedelta(days=700)
    providers = ("codex", "claude")
    for n in range(count):
        opened = base + timedelta(minutes=90 * n)
        start = rng.randrange(len(commits) - 3)
        end = start + rng.randint(0, 3)
        window_id = clock.new_id(opened)
        snapshot_id = clock.new_id(opened + timedelta(hours=1))
        close = Record.new(
            "window-close",
            source="cli",
            agent_id="main",
            ts=(opened + timedelta(hours=1)).isoformat(),
            window_id=window_id,
            provider=providers[n % 2],
            commit_start=commits[start],
            commit_end=commits[end],
            snapshot_id=snapshot_id,
            opened_ts=opened.isoformat(),
            delta=float(rng.randint(2, 30)),
            unit="percent",
            errors=[],
            notes=[],
            feature_id=None,
            methodology=None,
            note=None,
        )
        done = Record.new(
            "completion",
            source="cli",
            agent_id="main",
            ts=(opened + timedelta(hours=2)).isoformat(),
            window_id=window_id,
            outcome=rng.choice(("shipped", "partial", "failed")),
            quality_score=round(rng.random(), 2),
            feature_id=None,
        )
        for record in (close, done):
            files[record_path(record.id, record.kind)] = (record.to_json() + "\n").encode()
    tracker = Repo.discover(repo)
    tree = tracker._tree_with_files(None, files)
    signature = pygit2.Signature("bench", "bench@bench.invalid")
    tracker.pygit.create_commit(LEDGER_REF, signature, signature, "seed", tree, [])


def in_process(fn: object, reps: int) -> list[float]:
    assert callable(fn)
    values = []
    for _ in range(reps):
        start = time.perf_counter_ns()
        fn()
        values.append((time.perf_counter_ns() - start) / 1e6)
    return values


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench churn")
    args = parser.parse_args(argv)
    commits_n = 300 if args.quick else 1000
    windows_n = 1000 if args.quick else 10_000
    reps = 5 if args.quick else 15
    rng = random.Random(11)
    verdicts = Verdicts()
    with scratch_dir("gt-bench-churn-", keep=args.keep) as root:
        env = hermetic_env(root, python_env_as_is=args.python_env_as_is)
        repo_dir = git_init(root / "repo", env)
        fast_import_history(repo_dir, env, commits_n, rng)
        cli = primary_cli()
        run([*cli.argv, "init"], repo_dir, env)
        repo = Repo.discover(repo_dir)
        history = run(["git", "rev-list", "--reverse", "main"], repo_dir, env).split()
        first, last = history[0], history[-1]
        print(f"bench_churn: {commits_n} commits, {windows_n} windows\n  ({machine_line(env)})")

        baseline_cmd = ["git", "log", "--numstat", "--no-renames", "--format=%x00%H", f"{first}..{last}"]
        cli_cmd = [*cli.argv, "churn", f"{first}..{last}", "--json"]
        base, ours, ours_cli = [], [], []
        timed(baseline_cmd, repo_dir, env)  # warm the page cache
        for _ in range(reps):
            base.append(timed(baseline_cmd, repo_dir, env)[0])
            ours += in_process(lambda: churn_between(repo, first, last, Policy()), 1)
            ours_cli.append(timed(cli_cmd, repo_dir, env)[0])
        expected = sum(
            int(a) + int(d)
            for a, d, *_ in (line.split("\t") for line in run(baseline_cmd, repo_dir, env).splitlines() if "\t" in line)
            if a != "-"
        )
        got = json.loads(run(cli_cmd, repo_dir, env))
        equal = got["added"] + got["deleted"] == expected
        mid_base = median(base)
        rows = [
            ["git log --numstat --no-renames (baseline)", fmt(mid_base), fmt(percentile(base, 90)), "1.00x", "", ""],
            [
                "churn_between, gross (in process)",
                fmt(median(ours)),
                fmt(percentile(ours, 90)),
                f"{median(ours) / mid_base:.2f}x",
                "<= 1.15x",
                verdicts.check(f"gross churn {median(ours) / mid_base:.2f}x <= 1.15x", median(ours) / mid_base <= 1.15),
            ],
            [
                "git tracker churn --json (CLI process)",
                fmt(median(ours_cli)),
                fmt(percentile(ours_cli, 90)),
                f"{median(ours_cli) / mid_base:.2f}x",
                "",
                "info (+ Python/click start-up)",
            ],
        ]
        print_table(
            f"gross churn over {commits_n} commits, ms", ["what", "median", "p90", "ratio", "target", "verdict"], rows
        )
        print(f"  lines equal to git's own numstat: {verdicts.check('gross churn equals git numstat', equal)}")

        own = Path(__file__).resolve().parent.parent
        if (own / ".git").exists():  # a real history too: this project's own, as CI's clone has it
            real = Repo.discover(own)
            real_first = run(["git", "rev-list", "--max-parents=0", "HEAD"], own, env).split()[-1]
            real_cmd = ["git", "log", "--numstat", "--no-renames", "--no-merges", "--format=", f"{real_first}..HEAD"]
            real_base = [timed(real_cmd, own, env)[0] for _ in range(reps)]
            real_ours = in_process(lambda: churn_between(real, real_first, real.head(), Policy()), reps)
            found = churn_between(real, real_first, real.head(), Policy())
            lines = [line.split("\t") for line in run(real_cmd, own, env).splitlines() if "\t" in line]
            same = found.added == sum(int(a) for a, *_ in lines if a != "-")
            same = same and found.deleted == sum(int(d) for _, d, *_ in lines if d != "-")
            ratio = median(real_ours) / median(real_base)
            print(
                f"  this project's own history ({found.commits} commits): git log {fmt(median(real_base))} ms, "
                f"churn_between {fmt(median(real_ours))} ms ({ratio:.2f}x); equal to git numstat: "
                f"{verdicts.check('churn equals git numstat on a real history', same)}"
            )

        net = in_process(lambda: churn_between(repo, history[-4], last, Policy(net=True)), reps * 2)
        print_table(
            "net churn of a window (3 commits) on this history, ms",
            ["what", "median", "p90", "target", "verdict"],
            [
                [
                    "churn_between, net",
                    fmt(median(net)),
                    fmt(percentile(net, 90)),
                    "< 50",
                    verdicts.check(f"net churn {median(net):.1f} ms < 50 ms", median(net) < 50),
                ]
            ],
        )

        seed_windows(repo_dir, windows_n, history, rng)
        preview_cmd = [*cli.argv, "preview", "--json"]
        cold, _ = timed(preview_cmd, repo_dir, env)
        warm = [timed(preview_cmd, repo_dir, env)[0] for _ in range(max(3, reps // 3))]
        report = json.loads(run(preview_cmd, repo_dir, env))
        n_seen = sum(p["windows"] for p in report["providers"].values())
        print_table(
            f"git tracker preview --json over {n_seen} closed windows, ms",
            ["run", "median", "target", "verdict"],
            [
                ["first (computes and caches each window's churn)", fmt(cold), "", "info"],
                [
                    "later runs",
                    fmt(median(warm)),
                    "< 1000",
                    verdicts.check(
                        f"preview over {n_seen} windows {median(warm):.0f} ms < 1000 ms", median(warm) < 1000
                    ),
                ],
            ],
        )
    return verdicts.summary(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
