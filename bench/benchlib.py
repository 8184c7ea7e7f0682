"""Shared helpers for the benchmark scripts in this folder (not a test module, not part of the package).

Every benchmark builds throwaway repositories under a temporary directory and runs git with a hermetic
environment: a temporary ``HOME``, no system config, fixed author and committer, and none of the caller's
``GIT_*`` or ``AGENT_ID`` variables, so a developer's own git setup cannot change the numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench Author",
    "GIT_AUTHOR_EMAIL": "author@bench.invalid",
    "GIT_COMMITTER_NAME": "Bench Committer",
    "GIT_COMMITTER_EMAIL": "committer@bench.invalid",
}


# Variables that choose which window a commit goes to (docs/hooks.md#attribution): a benchmark run inside a coding
# agent must not hand the agent's session to the commits it times.
NOT_PASSED_ON = frozenset(
    {"AGENT_ID", "XDG_CONFIG_HOME", "CLAUDE_CODE_SESSION_ID", "CODEX_THREAD_ID", "CODEX_SESSION_ID"}
)


def hermetic_env(root: Path, *, python_env_as_is: bool = False) -> dict[str, str]:
    """The caller's environment without git/tracker variables, plus a private HOME and fixed identity.

    Python's bytecode cache is turned on and pointed into ``root`` (``PYTHONPYCACHEPREFIX``), so the
    processes measured run from cached bytecode as an installed tool does after its first run, even
    where the caller set ``PYTHONDONTWRITEBYTECODE`` (an editable install then compiles every module
    on every start), and nothing is written next to the sources. ``python_env_as_is`` keeps the
    caller's settings instead.
    """
    home = root / "home"
    (home / ".config").mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GIT_", "PRE_COMMIT")) and key not in NOT_PASSED_ON
    }
    env.update(IDENTITY)
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }
    )
    if not python_env_as_is:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    return env


def run(cmd: Sequence[str], cwd: Path, env: dict[str, str], *, stdin: str | None = None) -> str:
    """Run a command, fail loudly (the benchmark is meaningless if setup failed); return stdout."""
    done = subprocess.run(list(cmd), cwd=cwd, env=env, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: `{' '.join(cmd)}` failed in {cwd} ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def timed(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Wall time in ms of one command as a user sees it (until it exits and its pipes close), and its stderr.

    Output goes to pipes on purpose: a hook that left a background process holding git's stdout or
    stderr would show up here as a commit that takes as long as that process.
    """
    start = time.perf_counter_ns()
    done = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    if done.returncode != 0:
        raise SystemExit(f"bench: `{' '.join(cmd)}` failed in {cwd} ({done.returncode}): {done.stderr.strip()}")
    return elapsed, done.stderr


def timed_cpu(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Like ``timed``, plus the CPU time (user + system, ms) of the command and everything it waited for (a hook)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed, stderr = timed(cmd, cwd, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return elapsed, cpu, stderr


@dataclass(frozen=True)
class Usage:
    """What one command cost: wall and CPU seconds, and its peak resident set."""

    wall: float
    cpu: float  # user + system: the process and every child it waited for (its reader processes, its git)
    max_rss: int  # bytes: the largest resident set of the process or of one of those children (not their sum)


def measured(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[Usage, str]:
    """Run a command to its exit and return its ``Usage`` and stdout; a non-zero exit ends the bench.

    The child is reaped with ``os.wait4``, whose figures are that child's own and its waited-for
    descendants', so runs measured one after another cannot leak into each other (``RUSAGE_CHILDREN``
    keeps a running maximum of RSS over every child ever reaped). Output goes to files, not pipes:
    a command that writes megabytes of JSON cannot block on a pipe while nobody reads it.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, rusage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if child.returncode != 0:
        raise SystemExit(f"bench: `{' '.join(cmd)}` failed in {cwd} ({child.returncode}): {stderr.strip()[:300]}")
    rss_unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return Usage(wall, rusage.ru_utime + rusage.ru_stime, rusage.ru_maxrss * rss_unit), stdout


def git_init(path: Path, env: dict[str, str], *, first_commit: bool = True) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    run(["git", "init", "-q", "-b", "main", str(path)], path, env)
    if first_commit:
        (path / "README").write_text("bench\n")
        run(["git", "add", "README"], path, env)
        run(["git", "commit", "-q", "-m", "initial"], path, env)
    return path


@dataclass(frozen=True)
class Cli:
    """One way of running the git-tracker CLI."""

    label: str
    argv: tuple[str, ...]


def cli_variants() -> list[Cli]:
    """The CLI as users run it: ``git-tracker`` on PATH first (git runs ``git tracker`` as that).

    When the PATH entry is a wrapper (a pyenv shim, say) rather than the console script installed next
    to this interpreter, the console script itself is measured too, so the wrapper's cost shows.
    """
    variants = []
    on_path = shutil.which("git-tracker")
    beside = Path(sys.executable).parent / "git-tracker"
    if on_path:
        variants.append(Cli(f"git-tracker ({_describe(Path(on_path))})", (on_path,)))
    if beside.exists() and (not on_path or Path(on_path).resolve() != beside.resolve()):
        variants.append(Cli("git-tracker (console script)", (str(beside),)))
    if not variants:
        variants.append(Cli("python -m gittracker", (sys.executable, "-m", "gittracker")))
    return variants


def _describe(path: Path) -> str:
    text = str(path)
    if "/shims/" in text:
        return "PATH, pyenv shim"
    if "/.asdf/" in text or "/mise/" in text:
        return "PATH, version-manager shim"
    return "PATH"


def primary_cli() -> Cli:
    return cli_variants()[0]


def interleaved(
    measures: Mapping[str, Callable[[], tuple[float, float]]], rounds: int, rng: random.Random
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each measure's (wall, cpu) per round, the measures run in a new random order each round: a shared, noisy
    machine then slows them alike."""
    walls: dict[str, list[float]] = {name: [] for name in measures}
    cpus: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(rounds):
        order = list(measures)
        rng.shuffle(order)
        for name in order:
            wall, cpu = measures[name]()
            walls[name].append(wall)
            cpus[name].append(cpu)
    return walls, cpus


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def fmt(value: float, digits: int = 2) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


@dataclass
class Verdicts:
    """Targets checked in one run: printed at the end and, with ``--strict``, turned into the exit code."""

    results: list[tuple[str, bool]] = field(default_factory=list)

    def check(self, name: str, passed: bool) -> str:
        self.results.append((name, passed))
        return "PASS" if passed else "FAIL"

    def summary(self, strict: bool) -> int:
        failed = [name for name, passed in self.results if not passed]
        print()
        print(f"targets: {len(self.results) - len(failed)} passed, {len(failed)} failed")
        for name in failed:
            print(f"  FAIL: {name}")
        return 1 if strict and failed else 0


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    print()
    print(title)
    line = "  ".join(f"{header:<{width}}" for header, width in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(
            "  ".join(
                f"{cell!s:>{width}}" if i else f"{cell!s:<{width}}"
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
        )


def arg_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and smaller sizes (CI smoke run)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary repositories and print where")
    parser.add_argument(
        "--python-env-as-is",
        action="store_true",
        help="keep the caller's PYTHONDONTWRITEBYTECODE / PYTHONPYCACHEPREFIX instead of a private bytecode cache",
    )
    return parser


def machine_line(env: dict[str, str]) -> str:
    git = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    if env.get("PYTHONDONTWRITEBYTECODE"):
        bytecode = "no bytecode cache (PYTHONDONTWRITEBYTECODE)"
    elif env.get("PYTHONPYCACHEPREFIX"):
        private = "gt-bench-" in env["PYTHONPYCACHEPREFIX"]
        bytecode = "bytecode cache in " + ("the run's temp dir" if private else "PYTHONPYCACHEPREFIX")
    else:
        bytecode = "bytecode cache in __pycache__"
    try:
        load = f"load avg {os.getloadavg()[0]:.2f}"
    except OSError:
        load = "load avg unknown"
    return f"python {sys.version.split()[0]}, {git}, {os.cpu_count()} CPU(s), {sys.platform}, {load}, {bytecode}"


@contextlib.contextmanager
def scratch_dir(prefix: str, *, keep: bool = False) -> Iterator[Path]:
    """A temporary directory for throwaway repositories; removed afterwards unless ``keep``."""
    root = Path(tempfile.mkdtemp(prefix=prefix)).resolve()
    try:
        yield root
    finally:
        if keep:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
