"""bench_ingest: `git tracker ingest claude-logs` against the real ccusage on the same generated transcripts.

One run, same files, warm page cache: ccusage 20 (native binary, `ccusage claude daily --json`), ccusage 18
(JavaScript on Node, `ccusage daily --json`), our first ingest (fresh ingest state, empty ledger) and a
second ingest with no new data. Targets (issue 3): first ingest at most 1.5x native ccusage and at least
5x faster than ccusage 18; the second run under 5% of the first. The daily totals are compared too: a
fast wrong answer is not a result.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchlib import (
    Verdicts,
    arg_parser,
    cli_variants,
    git_init,
    hermetic_env,
    machine_line,
    median,
    print_table,
    run,
    scratch_dir,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gittracker.synth import ClaudeSpec, write_claude_transcripts
from tests import ccusage_tool


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"bench: `{' '.join(cmd)}` failed ({done.returncode}): {done.stderr.strip()[:300]}")
    return elapsed, done.stdout


def day_totals_from_ledger(cli: list[str] | tuple[str, ...], repo: Path, env: dict[str, str]) -> dict[str, int]:
    best: dict[tuple[object, ...], dict[str, object]] = {}
    for line in run([*cli, "log", "--kind", "usage", "--json"], repo, env).splitlines():
        record = json.loads(line)
        if record["granularity"] != "day":
            continue
        key = (record["scope"], record["period"], record["project"], record["branch"])
        if key not in best or int(record["total_tokens"]) > int(str(best[key]["total_tokens"])):
            best[key] = record
    days: dict[str, int] = {}
    for record in best.values():
        days[str(record["period"])] = days.get(str(record["period"]), 0) + int(record["total_tokens"])  # type: ignore[call-overload]
    return days


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench ingest")
    parser.add_argument("--lines", type=int, default=None, help="transcript lines (default 200,000; quick 20,000)")
    args = parser.parse_args(argv)
    lines = args.lines or (20_000 if args.quick else 200_000)
    reps = 1 if args.quick else 3
    verdicts = Verdicts()
    try:
        native, node = ccusage_tool.native(), ccusage_tool.on_node()
    except ccusage_tool.Unavailable as why:
        print(f"bench_ingest: skipped, {why}")
        return 0
    with scratch_dir("gt-bench-ingest-", keep=args.keep) as root:
        env = hermetic_env(root, python_env_as_is=args.python_env_as_is)
        config = root / "claude"
        write_claude_transcripts(
            config, ClaudeSpec(lines=lines, days=25, projects=tuple(f"/work/p{i}" for i in range(8)))
        )
        size = sum(path.stat().st_size for path in config.rglob("*.jsonl"))
        env.update(CLAUDE_CONFIG_DIR=str(config), TZ="UTC")
        repo = git_init(root / "repo", env)
        # The console script itself, as pipx installs it: a version manager's shim on PATH (pyenv's is a
        # bash script) would add its own start-up to both runs and hide the nothing-new check's cost.
        cli = cli_variants()[-1]
        run([*cli.argv, "init"], repo, env)
        print(f"bench_ingest: {lines:,} transcript lines, {size / 1e6:.0f} MB, {reps} run(s) each, warm cache")
        fast = subprocess.run([sys.executable, "-c", "import orjson"], capture_output=True, check=False).returncode == 0
        decoder = "orjson (the [fast] extra)" if fast else "json (no [fast] extra)"
        print(f"  ({machine_line(env)}; {cli.label}; decoding with {decoder})")
        native_cmd = [*native, "claude", "daily", "--json", "--offline", "--timezone", "UTC"]
        node_cmd = [*node, "daily", "--json", "--offline", "--timezone", "UTC"]
        timed(native_cmd, repo, env)  # warm the page cache and the binary
        times: dict[str, list[float]] = {"native": [], "node": [], "first": [], "second": []}
        report = ""
        tracker_state = Path(run(["git", "rev-parse", "--git-common-dir"], repo, env).strip())
        state = (tracker_state if tracker_state.is_absolute() else repo / tracker_state) / "tracker" / "ingest"
        for _ in range(reps):
            elapsed, report = timed(native_cmd, repo, env)
            times["native"].append(elapsed)
            shutil.rmtree(state, ignore_errors=True)
            run(["git", "update-ref", "-d", "refs/heads/tracker-ledger"], repo, env)
            times["first"].append(timed([*cli.argv, "ingest", "claude-logs"], repo, env)[0])
            times["second"].append(timed([*cli.argv, "ingest", "claude-logs"], repo, env)[0])
        times["node"].append(timed(node_cmd, repo, env)[0])  # ~10 s at full size: once is enough
        theirs = {row["date"]: row["totalTokens"] for row in json.loads(report)["daily"]}
        mine = day_totals_from_ledger(cli.argv, repo, env)
        same = theirs == mine
        first, nat, nod, second = (median(times[name]) for name in ("first", "native", "node", "second"))
        rows = [
            ["ccusage 20 (native) claude daily", f"{nat:.3f}", "1.00x", "", ""],
            ["ccusage 18 (node) daily", f"{nod:.3f}", f"{nod / nat:.2f}x", "", ""],
            [
                "ingest claude-logs, first run",
                f"{first:.3f}",
                f"{first / nat:.2f}x",
                "<= 1.5x native",
                verdicts.check(f"first ingest {first / nat:.2f}x native <= 1.5x", first / nat <= 1.5),
            ],
            [
                "  vs ccusage 18",
                "",
                f"{nod / first:.1f}x faster",
                ">= 5x",
                verdicts.check(f"first ingest {nod / first:.1f}x faster than ccusage 18 >= 5x", nod / first >= 5),
            ],
            [
                "ingest claude-logs, nothing new",
                f"{second:.3f}",
                f"{second / first:.1%} of first",
                "< 5%",
                verdicts.check(f"second run {second / first:.1%} of the first < 5%", second / first < 0.05),
            ],
        ]
        print_table("wall time, s (median)", ["command", "s", "ratio", "target", "verdict"], rows)
        print(f"\n  daily totals equal to ccusage 20's: {'yes' if same else 'NO'} ({len(theirs)} days)")
        verdicts.check("daily totals equal ccusage's", same)
    return verdicts.summary(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
