"""Documents made from real runs (docs/generate.py) still say what the commands print today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_experiment_walkthrough_is_what_the_commands_print_today() -> None:
    """docs/experiment.md is the output of its script, run for real: a change to any command it shows (or to the
    statistics behind preview and decide) makes this fail until the document is made again."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "generate.py"), "experiment", "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_the_walkthrough_shows_the_plan_the_crossover_and_a_verdict() -> None:
    """What the page is for, whatever the numbers: every step from an empty bank to decide's verdict is there."""
    text = (ROOT / "docs" / "experiment.md").read_text()
    for step in (
        "$ git tracker bank add F-01",
        "$ git tracker bank list",
        "$ git tracker assign --seed 7",
        "5 AB, 5 BA",
        "warning: codex is out of the plan's order",
        "crossover, codex v glm",
        "period 1 over period 2",
        "$ git tracker bank status F-11 blocked-capacity",
        "G2: PASS - F-11, F-12 are ready and blocked only by capacity",
        "Verdict: ",
    ):
        assert step in text, step
