"""Interrupted set-up: `init` and `uninstall` killed at random moments, then `uninstall` restores every byte.

One repository is reused across the iterations (each one ends by checking it is exactly as it was), so the
100 interruptions stay within a few tens of seconds. The repository starts with what makes a byte
comparison meaningful: a user's own post-commit hook (which init moves aside), a user's config key in
another section (so init creates the ``[notes]`` section, which ``git config --unset`` would leave behind
empty), and an ``info/exclude`` whose last line has no newline (init has to add one to append its line).
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import Sandbox, tracker_command

USER_HOOK = b'#!/bin/sh\necho "user hook ran" >> "$(git rev-parse --git-dir)/user-hook.log"\n'
USER_EXCLUDE = b"# my own ignores\n*.log\nbuild/"  # no newline at the end
ITERATIONS = 100


@dataclass(frozen=True)
class Picture:
    """Everything uninstall must give back byte for byte (and where leftovers would show)."""

    hooks: dict[str, tuple[bytes, int]]
    config: bytes
    exclude: bytes
    info: list[str]
    worktree: list[str]
    common: list[str]


def picture(box: Sandbox) -> Picture:
    git_dir = box.path / ".git"
    hooks = git_dir / "hooks"
    return Picture(
        hooks={p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in sorted(hooks.iterdir())},
        config=(git_dir / "config").read_bytes(),
        exclude=(git_dir / "info" / "exclude").read_bytes(),
        info=sorted(os.listdir(git_dir / "info")),
        worktree=sorted(os.listdir(box.path)),
        common=sorted(name for name in os.listdir(git_dir) if name not in {"tracker", "user-hook.log"}),
    )


def prepared(box: Sandbox) -> Sandbox:
    box.commit("README.md")
    hook = box.path / ".git" / "hooks" / "post-commit"
    hook.write_bytes(USER_HOOK)
    hook.chmod(0o750)
    box.git("config", "alias.st", "status")
    (box.path / ".git" / "info" / "exclude").write_bytes(USER_EXCLUDE)
    return box


def interrupted(box: Sandbox, command: str, delay: float, how: str, after: Path | None = None) -> int | None:
    """Run `git tracker COMMAND`, interrupt it ``delay`` s after it started (or after the file ``after``
    appeared, if given); return its exit status (None: killed outright)."""
    process = subprocess.Popen(
        [*tracker_command(), command],
        cwd=box.path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, as a terminal gives a foreground job
    )
    if after is not None:
        while not after.exists() and process.poll() is None:
            time.sleep(0.0005)
    time.sleep(delay)
    try:
        if how == "kill":
            process.kill()
        else:  # Ctrl-C: the terminal sends SIGINT to the whole foreground process group (git included)
            os.killpg(process.pid, signal.SIGINT)
    except ProcessLookupError:
        pass
    status = process.wait()
    wait_for_group(process.pid)
    return None if status == -signal.SIGKILL else status


def wait_for_group(group: int, timeout: float = 10.0) -> None:
    """Wait until every live process of the group is gone: a git that git-tracker started finishes its
    own write after git-tracker is killed (as it would under a terminal), and must not race the next step.
    Zombies do not count (an orphan's may wait a while for the container's init to reap it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not live_members(group):
            return
        time.sleep(0.001)
    raise AssertionError(f"processes of group {group} still running after {timeout} s")


def live_members(group: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()  # after "(command name)"
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            members.append(int(entry))
    return members


def leftovers(box: Sandbox) -> list[str]:
    git_dir = box.path / ".git"
    found = [str(p) for p in git_dir.rglob("*git-tracker-tmp*")]
    found += [str(p) for p in box.path.glob(".*git-tracker*") if p.name != ".git"]
    found += [str(p) for p in (git_dir / "config.lock", git_dir / "tracker" / "install.json") if p.exists()]
    return found


def timed_init(box: Sandbox) -> tuple[float, float]:
    """How long a whole `git tracker init` takes, and how much of that comes after its journal appeared."""
    journal = box.path / ".git" / "tracker" / "install.json"
    began = time.monotonic()
    process = subprocess.Popen([*tracker_command(), "init"], cwd=box.path, stdout=subprocess.DEVNULL)
    while not journal.exists() and process.poll() is None:
        time.sleep(0.0005)
    journalled = time.monotonic()
    assert process.wait() == 0
    ended = time.monotonic()
    return ended - began, ended - journalled


def timed_uninstall(box: Sandbox) -> float:
    began = time.monotonic()
    box.ok("uninstall")
    return time.monotonic() - began


def test_a_hundred_interrupted_inits_and_uninstalls_are_restored_byte_for_byte(sandbox: Sandbox) -> None:
    box = prepared(sandbox)
    original = picture(box)
    timings = []
    for _ in range(3):  # medians: a first run (imports compiled, caches cold) is slower than the rest
        timings.append((*timed_init(box), timed_uninstall(box)))
        assert picture(box) == original
    init_time, work_time, uninstall_time = (sorted(column)[1] for column in zip(*timings, strict=True))
    seed = 9 if os.environ.get("CI") else random.randrange(1 << 30)  # CI: one fixed draw (timings still vary)
    rng = random.Random(seed)
    caught_midway = 0
    journal = box.path / ".git" / "tracker" / "install.json"

    def interrupt(command: str, duration: float, steps: list[str]) -> None:
        how = rng.choice(("kill", "ctrl-c"))
        # Most interruptions of a first init count from when its journal appears, so they land in
        # the middle of the work (Python's start-up takes most of a run); the others land anywhere.
        watch = command == "init" and not journal.exists() and rng.random() < 0.6
        delay = rng.uniform(0, 0.8 * work_time) if watch else rng.uniform(0.1, 1.1) * duration
        status = interrupted(box, command, delay, how, journal if watch else None)
        steps.append(f"{command} {how} after {delay * 1000:.0f} ms{' of work' if watch else ''} -> {status}")
        nonlocal caught_midway
        if journal.exists() and json.loads(journal.read_text())["state"] != "complete":
            caught_midway += 1  # this one stopped it with the work half done

    for iteration in range(ITERATIONS):
        steps: list[str] = []
        scenario = rng.random()
        interrupt("init", init_time, steps)
        if scenario > 0.6:  # a second init, itself interrupted: it must finish or leave a journal too
            interrupt("init", init_time, steps)
        if scenario > 0.8:  # set up completely, then an interrupted uninstall
            box.ok("init")
            interrupt("uninstall", uninstall_time, steps)
        done = box.tracker("uninstall")
        context = f"seed {seed}, run {iteration}: {'; '.join(steps)}; uninstall -> {done.returncode} {done.stderr}"
        assert done.returncode == 0 or (done.returncode == 2 and "nothing to uninstall" in done.stderr), context
        assert picture(box) == original, context
        assert leftovers(box) == [], context
    # The kills must land inside the work, not only before or after it, for the test to mean anything.
    assert caught_midway >= ITERATIONS // 10, f"seed {seed}: only {caught_midway} interruptions caught midway"
    assert (box.path / ".git" / "hooks" / "post-commit").read_bytes() == USER_HOOK


def test_ctrl_c_waits_for_the_git_it_started_instead_of_killing_it(sandbox: Sandbox) -> None:
    """A git killed while it holds ``config.lock`` leaves the lock behind (and every later `git config` fails),
    so on Ctrl-C git-tracker lets its git finish rather than SIGKILL it as ``subprocess.run`` does after 0.25 s.
    Here the interrupt reaches git-tracker alone, and git's (slow) work must have ended when it is raised."""
    sandbox.commit("README.md")
    marker = sandbox.path / "git-finished"
    script = f"""
import os, signal, threading, time
from gittracker.git import run_git
threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()
began = time.monotonic()
try:
    run_git(["-c", "alias.slow=!sleep 0.8 && touch {marker.name}", "slow"], {str(sandbox.path)!r})
except KeyboardInterrupt:
    print("interrupted", round(time.monotonic() - began, 2), os.path.exists({str(marker)!r}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=30)
    word, elapsed, finished = done.stdout.split()
    assert (word, finished) == ("interrupted", "True"), done.stdout + done.stderr
    assert float(elapsed) >= 0.8


def test_ctrl_c_during_a_config_write_never_leaves_config_lock(sandbox: Sandbox) -> None:
    """git itself, interrupted while it writes the config, leaves ``config.lock`` now and then (git 2.39:
    about once in twenty); git-tracker's config writes run where the terminal's Ctrl-C does not reach them."""
    sandbox.commit("README.md")
    script = f"""
import os, random, signal, threading, time
from gittracker.git import Repo
repo = Repo.discover({str(sandbox.path)!r})
lock = repo.config_file.with_name("config.lock")
left = interrupted = 0
for i in range(300):
    timer = threading.Timer(random.uniform(0, 0.006), os.killpg, (0, signal.SIGINT))
    try:
        timer.start()
        repo.config_add("test.value", str(i))
        time.sleep(0.01)
    except KeyboardInterrupt:
        interrupted += 1
    timer.join()
    while True:  # a git the interrupt caught being started runs unwaited: let it end before looking
        try:
            os.wait()
        except ChildProcessError:
            break
    if lock.exists():
        left += 1
        lock.unlink()
print(left, interrupted)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120, start_new_session=True
    )
    assert done.returncode == 0, done.stderr
    left, interrupted = map(int, done.stdout.split())
    assert interrupted > 100, done.stdout + done.stderr  # the interrupts did land, most of them inside a write
    assert left == 0
