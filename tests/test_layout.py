"""The package's shape: command modules stay thin and git-free, and no import runs back up from the core."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gittracker"
COMMAND_MODULES = sorted((PACKAGE / "commands").glob("*.py"))
# The modules through which commands reach git; a command module must go through a core function instead.
GIT_ACCESS = {"pygit2", "subprocess", "gittracker.git", "gittracker.gitfiles"}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_there_are_command_modules() -> None:
    names = {path.stem for path in COMMAND_MODULES}
    assert {"setup", "windows", "reports", "capture", "maintenance", "common"} <= names


@pytest.mark.parametrize("path", COMMAND_MODULES, ids=lambda path: path.stem)
def test_command_modules_do_not_touch_git(path: Path) -> None:
    reaching = sorted(imported_modules(path) & GIT_ACCESS)
    assert reaching == [], f"{path.name} imports {reaching}: call a core function instead"


def test_the_core_never_imports_the_commands() -> None:
    """Imports run one way: cli -> commands -> core. The console-script dispatcher and the man page writer (which
    reads the command group to document it) are the only exceptions."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "commands" or path.name in ("cli.py", "entry.py", "__main__.py", "manpage.py"):
            continue
        upward = {name for name in imported_modules(path) if name.startswith(("gittracker.cli", "gittracker.commands"))}
        if upward:
            offenders.append(f"{path.relative_to(PACKAGE)}: {sorted(upward)}")
    assert offenders == []


def test_every_command_module_is_registered() -> None:
    """A command written in a module but not listed in its COMMANDS would silently not exist."""
    code = (
        "import click, importlib, pkgutil, gittracker.commands as c\n"
        "from gittracker.cli import cli\n"
        "def reachable(command):\n"
        "    yield command\n"
        "    for sub in getattr(command, 'commands', {}).values():\n"
        "        yield from reachable(sub)\n"
        "registered = {id(command) for command in reachable(cli)}\n"
        "seen = 0\n"
        "for info in pkgutil.iter_modules(c.__path__):\n"
        "    module = importlib.import_module(f'gittracker.commands.{info.name}')\n"
        "    for name, value in vars(module).items():\n"
        "        # a click command's own __module__ is click's: the function it wraps tells where it was written\n"
        "        callback = getattr(value, 'callback', None)\n"
        "        if isinstance(value, click.Command) and getattr(callback, '__module__', None) == module.__name__:\n"
        "            seen += 1\n"
        "            assert id(value) in registered, (info.name, name)\n"
        "print(seen)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 20


def test_command_modules_leave_heavy_imports_to_the_command() -> None:
    """Loading the command group must not import pygit2 or scipy: `git tracker --help` stays quick."""
    code = "import sys, gittracker.cli\nprint(sorted(m for m in ('pygit2', 'scipy') if m in sys.modules))\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
