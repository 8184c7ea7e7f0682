"""The manual page, ``man/git-tracker.1``, written from the click commands themselves so that it cannot drift from
``git tracker COMMAND -h``: git answers ``git tracker --help`` with ``man git-tracker``, and the wheel installs the
page where man looks for a program on PATH (``bin/../share/man``).

``python -m gittracker.manpage`` prints the page; ``--write`` updates the committed file (a test compares the two).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import click

from gittracker import __version__, helptext
from gittracker.errors import EXIT_CODES

PAGE = Path(__file__).resolve().parents[1] / "man" / "git-tracker.1"
PROG = "git tracker"


def render(group: click.Group) -> str:
    """The whole page, in roff with the man macros: the same bytes for the same commands (no date, no paths)."""
    root = click.Context(group, info_name=PROG, **group.context_settings)
    sections = [
        _header(),
        _section("NAME", [f"git-tracker \\- {helptext.SUMMARY}"]),
        _section("SYNOPSIS", list(_synopsis())),
        _section("DESCRIPTION", list(_description())),
        _section("OPTIONS", list(_options(group, root))),
        _section("COMMANDS", list(_commands(group, root))),
        _section("EXIT STATUS", list(_exit_status())),
        _section("ENVIRONMENT", _tagged(helptext.ENVIRONMENT)),
        _section("FILES", _tagged(helptext.FILES)),
        _section("COMPLETION", list(_completion())),
        _section("SEE ALSO", [_text(helptext.SEE_ALSO)]),
    ]
    return "\n".join(line for lines in sections for line in lines) + "\n"


def _header() -> list[str]:
    return [
        '.\\" Written by python -m gittracker.manpage from the click commands; edit those, not this file.',
        f'.TH GIT\\-TRACKER 1 "" "git\\-tracker {_text(__version__)}" "git-tracker manual"',
        ".nh",  # no hyphenation: option names and commands stay whole, and copy as typed
        ".ad l",
    ]


def _section(title: str, body: list[str]) -> list[str]:
    return [f".SH {title}", *body]


def _synopsis() -> Iterator[str]:
    yield from (".B git tracker", "[\\fB\\-\\-debug\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...", ".br")
    yield from (".B git tracker help", "[\\fICOMMAND\\fR]", ".br")
    yield from (".B git tracker", "\\fICOMMAND\\fR \\fB\\-h\\fR")


def _description() -> Iterator[str]:
    yield from (".PP", _text(helptext.INTRO))
    first, *loop = helptext.LOOP.splitlines()
    yield from (".PP", _text(first), ".PP", ".RS 2", ".nf", *(_text(line) for line in loop), ".fi", ".RE")
    yield ".PP"
    yield (
        "Run bare, \\fBgit tracker\\fR prints an overview; \\fBgit tracker help\\fR \\fICOMMAND\\fR (or "
        "\\fBgit tracker\\fR \\fICOMMAND\\fR \\fB\\-h\\fR) prints one command's help. Errors are one line on "
        "standard error, prefixed \\fBgit\\-tracker:\\fR. Try it on made\\-up data first: \\fBgit tracker demo\\fR."
    )


def _options(group: click.Group, root: click.Context) -> Iterator[str]:
    for param in group.get_params(root):
        yield from _option(param, root)


def _commands(group: click.Group, root: click.Context) -> Iterator[str]:
    """Each command in the order the group lists them in ``git tracker -h`` (nested groups in full)."""
    for name in group.list_commands(root):
        command = group.get_command(root, name)
        if command is None or command.hidden:
            continue
        ctx = click.Context(command, info_name=name, parent=root)
        usage = " ".join(command.collect_usage_pieces(ctx))
        yield ".SS"
        yield _text(f"{ctx.command_path} {usage}")
        yield from _paragraphs(command.help or command.short_help or "")
        for param in command.params:  # not the -h every command has (DESCRIPTION says so)
            yield from _option(param, ctx)
        if isinstance(command, click.Group):
            yield from _commands(command, ctx)


def _option(param: click.Parameter, ctx: click.Context) -> Iterator[str]:
    record = None if isinstance(param, click.Argument) else param.get_help_record(ctx)
    if record is None:  # an argument (its name is in the usage line), or a hidden option
        return
    names, text = record
    yield ".TP"
    yield f"\\fB{_text(names)}\\fR"
    yield _text(" ".join(text.split())) if text else "\\&"


def _exit_status() -> Iterator[str]:
    for code, meaning in sorted(EXIT_CODES.items()):
        yield from (".TP", f"\\fB{code}\\fR", _text(meaning))


def _tagged(items: Sequence[tuple[str, str]]) -> list[str]:
    return [line for tag, text in items for line in (".TP", f"\\fB{_text(tag)}\\fR", _text(text))]


def _completion() -> Iterator[str]:
    yield "Shell completion of commands, options and choices, for \\fBgit tracker\\fR and \\fBgit\\-tracker\\fR:"
    for shell, where, line in helptext.COMPLETION:
        yield from (".TP", f"\\fB{shell}\\fR ({_text(where)})", ".nf", _text(line), ".fi")


def _paragraphs(help_text: str) -> Iterator[str]:
    """click's help text as roff paragraphs; a paragraph after click's ``\\b`` marker keeps its lines."""
    text = inspect.cleandoc(help_text).split("\f")[0]
    for paragraph in text.split("\n\n"):
        if not paragraph.strip():
            continue
        yield ".PP"
        if paragraph.startswith("\b\n"):
            yield from (".nf", *(_text(line) for line in paragraph[2:].splitlines()), ".fi")
        else:
            yield _text(" ".join(paragraph.split()))


def _text(text: str) -> str:
    """Plain text as roff: backslashes and dashes escaped (``\\-`` copies as the ASCII hyphen the shell needs),
    and no line may start with a control character."""
    escaped = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(f"\\&{line}" if line.startswith((".", "'")) else line for line in escaped.split("\n"))


def main(argv: list[str] | None = None) -> int:
    from gittracker.cli import cli  # here: the core never imports the command group at module level

    args = sys.argv[1:] if argv is None else argv
    page = render(cli)
    if args == ["--write"]:
        PAGE.parent.mkdir(exist_ok=True)
        PAGE.write_text(page)
        print(f"wrote {PAGE}")
    elif not args:
        sys.stdout.write(page)
    else:
        print("usage: python -m gittracker.manpage [--write]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
