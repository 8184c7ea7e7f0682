"""What the program tells a user to run or read exists: commands it names, files its help cites."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import Sandbox, tracker_command

PACKAGE = Path(__file__).resolve().parents[1] / "gittracker"
NAMED_COMMAND = re.compile(r"git tracker ([a-z][a-z-]*)")
# Files a user of an installed package does not have: the design notes live beside the source, not in the wheel.
NOT_SHIPPED = ("STATS.md", "DESIGN.md")


def listed_commands() -> set[str]:
    """The commands `git tracker --help` lists."""
    done = subprocess.run([*tracker_command(), "--help"], capture_output=True, text=True, check=True)
    listing = done.stdout.split("Commands:", 1)[1]
    return {line.split()[0] for line in listing.splitlines() if line.strip()}


def test_every_command_the_program_names_exists() -> None:
    commands = listed_commands()
    named: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        for match in NAMED_COMMAND.finditer(path.read_text()):
            named.setdefault(match.group(1), str(path.relative_to(PACKAGE)))
    missing = {name: where for name, where in named.items() if name not in commands}
    assert len(named) > 10
    assert missing == {}


def test_help_cites_no_file_the_user_does_not_have() -> None:
    for command in ["", *sorted(listed_commands())]:
        args = [command, "--help"] if command else ["--help"]
        done = subprocess.run([*tracker_command(), *args], capture_output=True, text=True, check=False)
        assert done.returncode == 0, (command, done.stderr)
        cited = [name for name in NOT_SHIPPED if name in done.stdout]
        assert cited == [], f"`git tracker {command} --help` cites {cited}"


def test_glm_auto_suggests_what_works_for_glm(tracked: Sandbox) -> None:
    refused = tracked.tracker("start", "glm", "--auto")
    assert refused.returncode == 2
    assert "--prompts" in refused.stderr
    # glm has no pasted screen: --from would only fail again.
    assert "--from" not in refused.stderr
    tracked.ok("start", "glm", "--prompts", "3")


def test_decide_names_no_command_that_does_not_exist(tracked: Sandbox) -> None:
    shown = tracked.ok("decide")
    for name in NAMED_COMMAND.findall(shown):
        assert name in listed_commands(), f"decide tells the user to run `git tracker {name}`"
    assert "bank add" not in shown
