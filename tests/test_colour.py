"""Colour on a terminal for what must not be missed (HALTED, a failed gate, anomalies, an error's prefix), and
none when piped, with NO_COLOR (any non-empty value, no-color.org), with TERM=dumb, or in --json.

The terminal is a real pseudo-terminal (python's pty): the installed git-tracker sees isatty() true, as in a
user's shell."""

from __future__ import annotations

import json
import os
import pty
import subprocess

import pytest

from tests.conftest import Sandbox, tracker_command

ESC = b"\x1b["
RED = b"\x1b[1;31m"
YELLOW = b"\x1b[33m"
GREEN = b"\x1b[32m"


def on_terminal(sandbox: Sandbox, *args: str, env: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Run git-tracker with stdout and stderr on a pseudo-terminal; its exit code and all it wrote there."""
    leader, follower = pty.openpty()
    inherited = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    environ = {**inherited, "TERM": "xterm-256color", **(env or {})}
    process = subprocess.Popen(
        [*tracker_command(), *args],
        cwd=sandbox.path,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    written = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the program closed its end of the terminal
            break
        if not chunk:
            break
        written += chunk
    os.close(leader)
    return process.wait(timeout=60), written


def window(box: Sandbox, before: int, after: int) -> None:
    box.ok("start", "codex", "--used", str(before))
    box.commit()
    box.ok("end", "codex", "--used", str(after))
    box.ok("complete", "--outcome", "shipped", "--quality", "0.9")


@pytest.fixture
def halted(tracked: Sandbox) -> Sandbox:
    """codex HALTED by the stop rule (two negative-delta anomalies in three windows)."""
    window(tracked, 10, 20)
    window(tracked, 30, 20)
    window(tracked, 40, 30)
    assert json.loads(tracked.ok("preview", "--json"))["providers"]["codex"]["halted"]
    return tracked


def test_a_terminal_gets_colour_where_it_matters(halted: Sandbox) -> None:
    code, preview = on_terminal(halted, "preview")
    assert code == 0
    halted_row = next(line for line in preview.splitlines() if b"HALTED" in line)
    assert halted_row.startswith(RED + b"codex")
    assert YELLOW + b"Anomalies: 2" in preview

    code, decision = on_terminal(halted, "decide")
    assert code == 0
    gates = [line for line in decision.splitlines() if line[:1] == b"G"]
    assert len(gates) == 3 and all(RED + b"FAIL" in line or GREEN + b"PASS" in line for line in gates)

    code, log = on_terminal(halted, "anomalies")
    assert code == 0 and log.count(YELLOW + b"anomaly") == 2

    code, error = on_terminal(halted, "start", "codex", "--used", "120")
    assert code == 2
    assert error.startswith(RED + b"git-tracker:")

    # no-color.org: only a non-empty NO_COLOR turns colour off.
    _, decision = on_terminal(halted, "decide", env={"NO_COLOR": ""})
    assert RED + b"FAIL" in decision


def test_no_colour_on_a_terminal_when_asked(halted: Sandbox) -> None:
    for env in ({"NO_COLOR": "1"}, {"NO_COLOR": "yes please"}, {"TERM": "dumb"}):
        for args in (["preview"], ["decide"], ["anomalies"], ["start", "codex", "--used", "120"]):
            _, written = on_terminal(halted, *args, env=env)
            assert written and ESC not in written, (env, args)


def test_no_colour_when_piped_nor_in_json(halted: Sandbox) -> None:
    for args in (["preview"], ["decide"], ["anomalies"], ["log"], ["start", "codex", "--used", "120"]):
        done = subprocess.run([*tracker_command(), *args], cwd=halted.path, capture_output=True)
        assert done.stdout or done.stderr
        assert ESC not in done.stdout and ESC not in done.stderr, args
    for args in (["preview", "--json"], ["decide", "--json"], ["anomalies", "--json"], ["log", "--json"]):
        code, written = on_terminal(halted, *args)  # on a terminal, yet machine-readable
        assert code == 0 and written and ESC not in written, args
