"""bench_ingest_codex: `git tracker ingest codex-sessions` against the code before issue 10, per byte.

1,000 real-shaped Codex rollouts (session_meta with base instructions, turn_context, messages, tool calls and
their output, and a token_count with the account's rate limits every turn, as Codex 0.146 writes them; a
tenth of the sessions also use a model with its own bucket) are ingested by this checkout and by a baseline
revision (default 7d090b3, main before the meters) checked out in a temporary worktree with its own virtual
environment (the same interpreter and installed dependencies, the baseline's sources first on its path).
Runs are interleaved in shuffled order, each from a fresh ingest state and an empty ledger; wall and CPU
time (the process and its reader processes) are taken per run, and the ratios are of the medians. Both read
the same bytes, so the per-byte ratio is the time ratio; MB/s is printed for each.

Checked too: this checkout writes one snapshot per change (the count an independent walk over the generated
readings gives), the baseline one per reading, and both the same token totals.

Target (issue 10): no longer per byte than the baseline.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchlib import Verdicts, arg_parser, git_init, hermetic_env, machine_line, median, print_table, run, scratch_dir

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "7d090b3"
START = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
SAME_RESET = 60  # seconds: readings whose reset times differ by no more are the same reading


@dataclass
class Account:
    """The account's limits as the generated sessions use them up."""

    five: float = 0.0
    week: float = 0.0
    five_reset: datetime = START + timedelta(hours=5)
    week_reset: datetime = START + timedelta(days=7)
    spark: float = 0.0
    spark_reset: datetime = START + timedelta(hours=5)

    def use(self, moment: datetime, rng: random.Random, spark: bool) -> None:
        if moment >= self.five_reset:
            self.five, self.five_reset = 0.0, moment + timedelta(hours=5)
        if moment >= self.week_reset:
            self.week, self.week_reset = 0.0, moment + timedelta(days=7)
        if moment >= self.spark_reset:
            self.spark, self.spark_reset = 0.0, moment + timedelta(hours=5)
        if spark:
            self.spark = min(100.0, self.spark + rng.uniform(0, 1.2))
        else:
            self.five = min(100.0, self.five + rng.uniform(0, 0.9))
            self.week = min(100.0, self.week + rng.uniform(0, 0.12))


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _words(rng: random.Random, size: int) -> str:
    words = ("the", "file", "test", "function", "returns", "value", "error", "import", "module", "class", "git")
    out: list[str] = []
    while sum(len(word) + 1 for word in out) < size:
        out.append(rng.choice(words))
    return " ".join(out)


Shown = tuple[int, int, int, int, int | None, int | None]  # 5h, weekly, their resets, the bucket's 5h and reset


def write_rollouts(home: Path, sessions: int, turns: int, seed: int = 7) -> tuple[list[tuple[str, Shown]], int]:
    """The rollouts; every reading a session shows (time, meters), and how many rate-limit lines were written.

    Every tenth session also uses GPT-5.3-Codex-Spark every third turn: those lines carry its bucket, and from the
    session's first account line on each line shows the account's latest figures and the bucket's, while the
    bucket's reset lies ahead (codex_logs.Session, written out again here).
    """
    rng = random.Random(seed)
    account = Account()
    readings: list[tuple[str, Shown]] = []
    lines_written = 0
    moment = START
    instructions = _words(rng, 12_000)
    for number in range(sessions):
        uses_spark = number % 10 == 9
        seen_account: tuple[int, int, int, int] | None = None
        seen_bucket: tuple[int, int] | None = None
        folder = home / "sessions" / f"{moment:%Y/%m/%d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"rollout-{moment:%Y-%m-%dT%H-%M-%S}-{number:05d}.jsonl"
        meta: dict[str, object] = {
            "id": f"s{number}",
            "timestamp": _ts(moment),
            "cwd": f"/work/p{number % 7}",
            "originator": "codex_cli_rs",
        }
        meta.update(cli_version="0.146.0", instructions=instructions, git={"commit_hash": "0" * 40, "branch": "main"})
        lines = [{"timestamp": _ts(moment), "type": "session_meta", "payload": meta}]
        totals = dict.fromkeys(("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens"), 0)
        for turn in range(turns):
            spark = uses_spark and turn % 3 == 2
            moment += timedelta(seconds=rng.randint(15, 240))
            stamp = _ts(moment)
            lines.append(
                {"timestamp": stamp, "type": "turn_context", "payload": {"cwd": meta["cwd"], "model": "gpt-5.5"}}
            )
            prompt = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": _words(rng, 300)}]}
            lines.append({"timestamp": stamp, "type": "response_item", "payload": prompt})
            for call in range(rng.randint(1, 3)):
                arguments = json.dumps({"cmd": ["bash", "-lc", _words(rng, 60)]})
                lines.append(
                    {
                        "timestamp": stamp,
                        "type": "response_item",
                        "payload": {
                            "type": "function_call",
                            "name": "shell",
                            "arguments": arguments,
                            "call_id": f"c{turn}-{call}",
                        },
                    }
                )
                output = {
                    "type": "function_call_output",
                    "call_id": f"c{turn}-{call}",
                    "output": _words(rng, rng.randint(200, 4000)),
                }
                lines.append({"timestamp": stamp, "type": "response_item", "payload": output})
            answer = {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": _words(rng, 500)}],
            }
            lines.append({"timestamp": stamp, "type": "response_item", "payload": answer})
            last = {"input_tokens": rng.randint(2000, 30000), "output_tokens": rng.randint(50, 2000)}
            last["cached_input_tokens"] = rng.randint(0, last["input_tokens"])
            last["reasoning_output_tokens"] = rng.randint(0, last["output_tokens"])
            for key in totals:
                totals[key] += last[key]
            account.use(moment, rng, spark)
            jitter = rng.randint(-1, 1)  # Codex recomputes the reset time on every response
            five_reset = int(account.five_reset.timestamp()) + jitter
            week_reset = int(account.week_reset.timestamp()) + jitter
            limits: dict[str, object] = {
                "limit_id": "codex",
                "limit_name": None,
                "primary": {"used_percent": round(account.five), "window_minutes": 300, "resets_at": five_reset},
                "secondary": {"used_percent": round(account.week), "window_minutes": 10080, "resets_at": week_reset},
                "credits": {"has_credits": False, "unlimited": False, "balance": "0"},
                "plan_type": "pro",
                "rate_limit_reached_type": None,
            }
            if spark:
                spark_reset = int(account.spark_reset.timestamp()) + jitter
                limits.update(
                    limit_id="codex_bengalfox",
                    limit_name="GPT-5.3-Codex-Spark",
                    primary={"used_percent": round(account.spark), "window_minutes": 300, "resets_at": spark_reset},
                    secondary=None,
                )
                seen_bucket = (round(account.spark), spark_reset)
            else:
                seen_account = (round(account.five), round(account.week), five_reset, week_reset)
            info = {"total_token_usage": dict(totals), "last_token_usage": last, "model_context_window": 258400}
            event = {
                "timestamp": stamp,
                "type": "event_msg",
                "payload": {"type": "token_count", "info": info, "rate_limits": limits},
            }
            lines.append(event)
            if rng.random() < 0.1:
                lines.append(event)  # identical repeated lines occur
            lines_written += 1
            if seen_account is not None:
                current = seen_bucket is not None and (spark or seen_bucket[1] > int(moment.timestamp()))
                bucket = seen_bucket if current and seen_bucket is not None else (None, None)
                readings.append((stamp, (*seen_account, *bucket)))
        path.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))
        moment += timedelta(minutes=rng.randint(2, 90))
    return readings, lines_written


def changes(readings: list[tuple[str, Shown]]) -> int:
    """Independent: the readings in time order; one is a change unless it shows the same meters at the same
    percents as the last one kept, each reset time within a minute of that one's."""
    kept: Shown | None = None
    count = 0
    for _, shown in sorted(readings, key=lambda item: item[0]):
        if kept is not None and _same(kept, shown):
            continue
        kept = shown
        count += 1
    return count


def _same(old: Shown, new: Shown) -> bool:
    percents = (old[0], old[1], old[4]) == (new[0], new[1], new[4])
    resets = zip((old[2], old[3], old[5]), (new[2], new[3], new[5]), strict=True)
    return percents and all(a == b or (a is not None and b is not None and abs(a - b) <= SAME_RESET) for a, b in resets)


@dataclass(frozen=True)
class Variant:
    label: str
    python: str
    cwd_env: dict[str, str]


def baseline_variant(root: Path, revision: str) -> Variant:
    """``revision`` checked out in a temporary worktree, and a virtual environment of its own whose path starts
    with that worktree and then has this environment's installed dependencies (no network, same versions)."""
    tree = root / "baseline"
    run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), revision], ROOT, dict(os.environ))
    venv = root / "baseline-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = sysconfig.get_paths()["purelib"]
    Path(site, "gt_baseline.pth").write_text(f"{tree}\n{deps}\n")
    where = subprocess.run(  # from root: `python -c` puts its working directory first on the path
        [str(python), "-c", "import gittracker; print(gittracker.__file__)"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    if not where.stdout.strip().startswith(str(tree)):
        raise SystemExit(f"bench: the baseline environment imports {where.stdout.strip()}, not {tree}")
    return Variant(f"baseline {revision}", str(python), {})


def has_revision(revision: str) -> bool:
    found = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{revision}^{{commit}}"], capture_output=True, check=False
    )
    return found.returncode == 0


def remove_baseline(root: Path) -> None:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(root / "baseline")],
        capture_output=True,
        check=False,
    )


def timed_run(variant: Variant, repo: Path, env: dict[str, str], home: Path) -> tuple[float, float]:
    """(wall s, CPU s of the process and its children) of one ingest from scratch."""
    state = repo / ".git" / "tracker" / "ingest"
    shutil.rmtree(state, ignore_errors=True)
    subprocess.run(["git", "update-ref", "-d", "refs/heads/tracker-ledger"], cwd=repo, env=env, check=False)
    cmd = [variant.python, "-m", "gittracker", "ingest", "codex-sessions", "--dir", str(home)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"bench: {variant.label} ingest failed ({done.returncode}): {done.stderr.strip()[:400]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def ledger_facts(python: str, repo: Path, env: dict[str, str]) -> tuple[int, int]:
    """(mid snapshots, total tokens of the day records) in the ledger the last run left."""
    out = run([python, "-m", "gittracker", "log", "--json"], repo, env)
    snapshots = tokens = 0
    for line in out.splitlines():
        record = json.loads(line)
        if record["kind"] == "snapshot":
            snapshots += 1
        elif record["kind"] == "usage" and record["granularity"] == "day":
            tokens += int(record["total_tokens"])
    return snapshots, tokens


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench ingest codex")
    parser.add_argument("--sessions", type=int, default=None, help="rollout files (default 1,000; quick 100)")
    parser.add_argument("--turns", type=int, default=20, help="turns per session, a reading each (default 20)")
    parser.add_argument("--baseline", default=BASELINE, help=f"the revision to compare against (default {BASELINE})")
    parser.add_argument("--seed", type=int, default=3, help="order of the interleaved runs")
    args = parser.parse_args(argv)
    sessions = args.sessions or (100 if args.quick else 1000)
    reps = 1 if args.quick else 5
    verdicts = Verdicts()
    with scratch_dir("gt-bench-ingest-codex-", keep=args.keep) as root:
        try:
            env = hermetic_env(root, python_env_as_is=args.python_env_as_is)
            home = root / "codex"
            readings, lines_written = write_rollouts(home, sessions, args.turns)
            size = sum(path.stat().st_size for path in home.rglob("*.jsonl"))
            repo = git_init(root / "repo", env)
            mine_only = Variant("this checkout", sys.executable, {})
            # A shallow clone (a CI checkout) may not have the baseline: then this checkout is measured alone.
            variants = [mine_only]
            if has_revision(args.baseline):
                variants.insert(0, baseline_variant(root, args.baseline))
            run([sys.executable, "-m", "gittracker", "init"], repo, env)
            print(
                f"bench_ingest_codex: {sessions:,} rollouts, {args.turns} turns each, {lines_written:,} rate-limit "
                f"lines, {size / 1e6:.1f} MB; {reps} run(s) each, interleaved, warm cache"
            )
            print(f"  ({machine_line(env)})")
            times: dict[str, dict[str, list[float]]] = {v.label: {"wall": [], "cpu": []} for v in variants}
            facts: dict[str, tuple[int, int]] = {}
            for variant in variants:  # warm-up, and what each writes
                timed_run(variant, repo, env, home)
                facts[variant.label] = ledger_facts(sys.executable, repo, env)
            rng = random.Random(args.seed)
            order = list(variants)
            for _ in range(reps):
                rng.shuffle(order)
                for variant in order:
                    wall, cpu = timed_run(variant, repo, env, home)
                    times[variant.label]["wall"].append(wall)
                    times[variant.label]["cpu"].append(cpu)
        finally:
            remove_baseline(root)
        mine = variants[-1].label
        expected = changes(readings)
        print(f"  readings that are a change (independent walk): {expected:,} of {len(readings):,}")
        verdicts.check(
            f"this checkout writes one snapshot per change ({facts[mine][0]:,}, expected {expected:,})",
            facts[mine][0] == expected,
        )
        if len(variants) == 1:
            print(f"  baseline {args.baseline} is not in this clone (a shallow checkout?): no ratios measured")
            return verdicts.summary(args.strict)
        base = variants[0].label
        rows = []
        for label in (base, mine):
            wall, cpu = median(times[label]["wall"]), median(times[label]["cpu"])
            rows.append(
                [
                    label,
                    f"{wall:.2f}",
                    f"{cpu:.2f}",
                    f"{size / 1e6 / wall:.1f}",
                    f"{wall * 1e9 / size:.1f}",
                    f"{facts[label][0]:,}",
                ]
            )
        print_table(
            "ingest codex-sessions from scratch (medians)",
            ["code", "wall s", "CPU s", "MB/s", "ns/byte", "snapshots"],
            rows,
        )
        wall_ratio = median(times[mine]["wall"]) / median(times[base]["wall"])
        cpu_ratio = median(times[mine]["cpu"]) / median(times[base]["cpu"])
        print(f"\n  per byte, this checkout / baseline: wall {wall_ratio:.2f}x, CPU {cpu_ratio:.2f}x")
        verdicts.check(f"wall per byte {wall_ratio:.2f}x the baseline's <= 1.0x", wall_ratio <= 1.0)
        verdicts.check(f"CPU per byte {cpu_ratio:.2f}x the baseline's <= 1.0x", cpu_ratio <= 1.0)
        verdicts.check("same token totals", facts[mine][1] == facts[base][1])
    return verdicts.summary(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
