"""bench_shell_init: what `eval "$(git tracker shell-init)"` adds to a shell start, and a function to a call.

The line runs at every start of an interactive shell, so it is measured as a shell start: `bash -c '…'` (and zsh's,
when zsh is installed) with nothing else in it, against the same shell doing nothing. In one run, interleaved:

- the bare shell (the floor), and `python -c pass` with git-tracker's interpreter (the floor for any Python);
- sourcing the script written once to a file (`git tracker shell-init > FILE`, then `. FILE`): no Python at all;
- `eval "$(git-tracker shell-init)"`, the console script's quick path (no click), and the same through `git tracker`;
- `eval "$(git-tracker --debug shell-init)"`: the same script through the click command group, as every command
  runs, i.e. what the line would cost without the quick path (the baseline of the ratio).

Then a function's own cost: `zs 1; zs_d` against `git-tracker start glm --prompts 1; git-tracker undo glm` in a
repository where git-tracker is set up (each pair opens a window and voids it).
"""

from __future__ import annotations

import random
import shlex
import shutil
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

STATIC_TARGET_MS = 5.0  # sourcing the file: at most this much over the bare shell
QUICK_RATIO_TARGET = 0.7  # the quick path's eval, against the click path's: at most this ratio (both minus the floor)
CALL_RATIO_TARGET = 1.05  # a function call against the same git-tracker commands typed out


def shell_words(argv: tuple[str, ...]) -> str:
    return " ".join(shlex.quote(word) for word in argv)


def timed_shell(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter_ns()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    if done.returncode != 0 or done.stderr:
        raise SystemExit(f"bench: `{' '.join(cmd)}` failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed


def interleaved(commands: dict[str, list[str]], reps: int, cwd: Path, env: dict[str, str]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in commands}
    order = list(commands)
    rng = random.Random(7)
    for name in order:  # warm-up: bytecode written, files in the page cache
        timed_shell(commands[name], cwd, env)
    for _ in range(reps):
        rng.shuffle(order)
        for name in order:
            times[name].append(timed_shell(commands[name], cwd, env))
    return times


def start_up(shell: str, root: Path, env: dict[str, str], reps: int, verdicts: Verdicts) -> None:
    cli = shell_words(primary_cli().argv)
    script = root / f"aliases.{Path(shell).name}"
    script.write_text(run([*primary_cli().argv, "shell-init", "--shell", Path(shell).name], root, env))
    commands = {
        "bare shell (floor)": [shell, "-c", "true"],
        "python -c pass": [sys.executable, "-c", "pass"],
        ". FILE (written once)": [shell, "-c", f". '{script}'"],
        'eval "$(git-tracker shell-init)"': [shell, "-c", f'eval "$({cli} shell-init)"'],
        'eval "$(git tracker shell-init)"': [shell, "-c", 'eval "$(git tracker shell-init)"'],
        'eval "$(git-tracker --debug shell-init)" (click)': [shell, "-c", f'eval "$({cli} --debug shell-init)"'],
    }
    times = interleaved(commands, reps, root, env)
    floor = median(times["bare shell (floor)"])
    click = median(times['eval "$(git-tracker --debug shell-init)" (click)']) - floor
    rows = []
    for name, values in times.items():
        mid = median(values)
        added = mid - floor
        target, verdict = "", ""
        if name.startswith(". FILE"):
            target = f"+ <= {STATIC_TARGET_MS:g}"
            verdict = verdicts.check(
                f"{shell}: . FILE adds {added:.1f} ms <= {STATIC_TARGET_MS:g}", added <= STATIC_TARGET_MS
            )
        elif name == 'eval "$(git-tracker shell-init)"':
            ratio = added / click
            target = f"x <= {QUICK_RATIO_TARGET:g}"
            verdict = verdicts.check(
                f"{shell}: quick eval adds {ratio:.2f}x of the click path's <= {QUICK_RATIO_TARGET:g}",
                ratio <= QUICK_RATIO_TARGET,
            )
        shell_row = name != "python -c pass"  # not a shell start: its own median is the point
        added_text, ratio_text = (fmt(added), f"{added / click:.2f}x") if shell_row else ("", "")
        rows.append([name, fmt(mid), fmt(percentile(values, 90)), added_text, ratio_text, target, verdict])
    print_table(
        f"{shell}: start-up wall time, ms (added: over the bare shell; ratio: added vs the click path's)",
        ["command", "median", "p90", "added", "ratio", "target", "verdict"],
        rows,
    )


def calls(shell: str, root: Path, env: dict[str, str], reps: int, verdicts: Verdicts) -> None:
    cli = shell_words(primary_cli().argv)
    repo = git_init(root / f"repo-{Path(shell).name}", env)
    run([*primary_cli().argv, "init"], repo, env)
    load = f'eval "$({cli} shell-init --shell {Path(shell).name})"'
    commands = {
        "typed: start glm --prompts 1; undo glm": [
            shell,
            "-c",
            f"{load}; {cli} start glm --prompts 1 >/dev/null && {cli} undo glm >/dev/null",
        ],
        "functions: zs 1; zs_d": [shell, "-c", f"{load}; zs 1 >/dev/null && zs_d >/dev/null"],
    }
    times = interleaved(commands, reps, repo, env)
    typed = median(times["typed: start glm --prompts 1; undo glm"])
    rows = []
    for name, values in times.items():
        mid = median(values)
        verdict = ""
        if name.startswith("functions"):
            verdict = verdicts.check(
                f"{shell}: functions {mid / typed:.2f}x the typed commands <= {CALL_RATIO_TARGET:g}",
                mid / typed <= CALL_RATIO_TARGET,
            )
        rows.append([name, fmt(mid), fmt(percentile(values, 90)), f"{mid / typed:.2f}x", verdict])
    print_table(
        f"{shell}: one window opened and voided, ms (both load the functions first)",
        ["commands", "median", "p90", "ratio", "verdict"],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "bench shell-init")
    args = parser.parse_args(argv)
    reps, call_reps = (10, 3) if args.quick else (40, 12)
    verdicts = Verdicts()
    shells = [found for found in (shutil.which("bash"), shutil.which("zsh")) if found]
    with scratch_dir("gt-bench-shell-init-", keep=args.keep) as root:
        env = hermetic_env(root, python_env_as_is=args.python_env_as_is)
        print(f"bench_shell_init: {reps} start-ups and {call_reps} call pairs each, interleaved; shells: {shells}")
        print(f"  ({machine_line(env)})")
        if not shutil.which("zsh"):
            print("  zsh is not installed: bash only")
        for shell in shells:
            start_up(shell, root, env, reps, verdicts)
        for shell in shells:
            calls(shell, root, env, call_reps, verdicts)
    return verdicts.summary(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
