"""``git tracker …``: thin click commands. Each parses, calls a core function, prints, returns an exit code.

Errors reach the user as one line on stderr (``TrackerError`` and click's usage errors); anything else
is a bug, shown as one line plus a hint, or in full with ``--debug``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import click

from gittracker import __version__
from gittracker.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_REFUSED, Notice, TrackerError, storage_failed
from gittracker.records import Record, SkippedWarning, describe_skipped, stored_json

F = TypeVar("F", bound=Callable[..., Any])


def _emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> int:
    click.echo(json.dumps(data, sort_keys=True) if as_json else text(data))
    return EXIT_OK


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output (docs/json.md).")(func)


def capacity_options(func: F) -> F:
    options = [
        click.option("--used", metavar="PCT", help="5-hour window percent used."),
        click.option("--left", metavar="PCT", help="5-hour window percent left (stored as 100 - PCT used)."),
        click.option("--weekly", metavar="PCT", help="Weekly window percent used."),
        click.option("--prompts", metavar="N", help="Prompts used in the 5-hour window (glm)."),
        click.option("--resets-at", metavar="TIME", help="When the 5-hour window resets (ISO-8601)."),
        click.option("--weekly-resets-at", metavar="TIME", help="When the weekly window resets (ISO-8601)."),
        click.option("--from", "source", metavar="FILE|-", help="A pasted Codex /status or Claude /usage screen."),
        click.option("--auto", is_flag=True, help="The provider's own data: Codex logs, Claude status line."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _capture(kwargs: dict[str, Any], provider: str, ctx: Any) -> Any:
    """The reading the capacity options give, with where it came from (``readings.Capture``)."""
    from datetime import timedelta

    from gittracker.capacity import check_provider
    from gittracker.readings import capture_for

    names = ("used", "left", "weekly", "prompts", "resets_at", "weekly_resets_at", "source", "auto")
    options = {name: kwargs.pop(name) for name in names}
    max_age = timedelta(minutes=ctx.config.auto_max_age_minutes)
    return capture_for(
        check_provider(provider),
        options,
        repo_root=ctx.repo.toplevel,
        max_age=max_age,
        screen_timezone=ctx.config.screen_timezone,
    )


def _say_what_was_read(capture: Any) -> None:
    """After the command succeeded (a refusal stays one line): what a paste or --auto read, then its warnings."""
    for line in capture.echo():
        click.echo(f"git-tracker: {line}", err=True)


def _context(source: str = "cli") -> Any:
    from gittracker.windows import open_context

    return open_context(".", source=os.environ.get("GIT_TRACKER_SOURCE", source))


def _short(sha: str | None) -> str:
    return sha[:10] if sha else "(no commits yet)"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="git-tracker")
@click.option("--debug", is_flag=True, help="Show full details of unexpected errors.")
def cli(debug: bool) -> None:
    """Measure finished work per unit of AI-assistant capacity, inside git."""


@cli.command()
@click.option("--pre-commit", "pre_commit", is_flag=True, help="Leave hooks to pre-commit (see docs/hooks.md).")
@click.option("--remote", metavar="NAME", help="Remote that `sync` uses (default origin).")
@click.option("--force", is_flag=True, help="Install into a core.hooksPath inside the work tree anyway.")
def init(pre_commit: bool, remote: str | None, force: bool) -> int:
    """Set up hooks, notes rewrite config and .git-tracker.toml. Idempotent; finishes an interrupted init."""
    from gittracker.git import Repo
    from gittracker.install import init as do_init

    result = do_init(Repo.discover("."), pre_commit=pre_commit, remote=remote, force=force)
    click.echo(f"git-tracker set up in {result['toplevel']}")
    for change in result["changes"]:
        click.echo(f"  - {change}")
    return EXIT_OK


@cli.command()
def uninstall() -> int:
    """Remove exactly what init added; restore chained hooks and config."""
    from gittracker.git import Repo
    from gittracker.install import uninstall as do_uninstall

    result = do_uninstall(Repo.discover("."))
    click.echo(f"git-tracker removed from {result['toplevel']}")
    for change in result["changes"]:
        click.echo(f"  - {change}")
    return EXIT_OK


@cli.command()
@click.argument("provider")
@capacity_options
@click.option("--feature", "feature_id", metavar="ID", help="Task-bank feature this window works on.")
@click.option("--methodology", metavar="M", help="How the work is done (free text, e.g. plan-first).")
@click.option("--note", metavar="TEXT", help="A short note kept with the window.")
@click.option("--override-halt", is_flag=True, help="Start even though the provider is HALTED by the stop rule.")
@json_option
def start(
    provider: str,
    feature_id: str | None,
    methodology: str | None,
    note: str | None,
    override_halt: bool,
    as_json: bool,
    **capacity: Any,
) -> int:
    """Record a before-reading and open a window; stamps commit_start."""
    from gittracker.windows import start as do_start

    ctx = _context()
    capture = _capture(capacity, provider, ctx)
    result = do_start(
        ctx,
        provider,
        capture.reading,
        feature_id=feature_id,
        methodology=methodology,
        note=note,
        override_halt=override_halt,
    )
    _say_what_was_read(capture)
    return _emit(
        result,
        as_json,
        lambda r: (
            f"{r['provider']} window {r['window_id']} open for agent {r['agent_id']} at {_short(r['commit_start'])}"
        ),
    )


@cli.command()
@click.argument("provider")
@capacity_options
@click.option("--force", is_flag=True, help="Record an after inside the reset buffer (noted late-after).")
@click.option("--note", metavar="TEXT", help="A short note kept with the window.")
@json_option
def end(provider: str, force: bool, note: str | None, as_json: bool, **capacity: Any) -> int:
    """Record an after-reading and close the window; stamps commit_end and computes the delta."""
    from gittracker.report import format_delta
    from gittracker.windows import end as do_end

    ctx = _context()
    capture = _capture(capacity, provider, ctx)
    result = do_end(ctx, provider, capture.reading, force=force, note=note)
    _say_what_was_read(capture)
    if result["flush_warning"]:
        click.echo(f"git-tracker: warning: {result['flush_warning']}", err=True)

    def text(r: dict[str, Any]) -> str:
        delta = format_delta(r["meter"], r["delta"], r["errors"])
        others = [format_delta(name, value) for name, value in r["other_deltas"].items()]
        also = f" (also {', '.join(others)})" if others else ""
        extra = f", notes: {', '.join(r['notes'])}" if r["notes"] else ""
        commits = "unknown" if r["commits"] is None else str(r["commits"])
        span = f"{_short(r['commit_start'])}..{_short(r['commit_end'])}"
        counted = (
            f"{commits} commit(s) carrying its note, range {span}"
            if r["selection"] == "noted"
            else f"{commits} commit(s) in its range {span}"
        )
        restored = f"; restored the missing note of {len(r['stamped'])} commit(s)" if r["stamped"] else ""
        return f"{r['provider']} window {r['window_id']} closed: delta {delta}{also}, {counted}{extra}{restored}"

    return _emit(result, as_json, text)


@cli.command()
@click.argument("provider")
@click.option("--after", "after_reading", is_flag=True, help="Void the last after instead, reopening the window.")
@json_option
def undo(provider: str, after_reading: bool, as_json: bool) -> int:
    """Void the open window's before (or the last after, reopening it)."""
    from gittracker.windows import undo as do_undo

    result = do_undo(_context(), provider, after_reading=after_reading)
    return _emit(
        result,
        as_json,
        lambda r: (
            f"{r['provider']} window {r['window_id']}: {r['reason']} recorded "
            f"({'reopened' if r['reason'] == 'undo-after' else 'closed without a delta'})"
        ),
    )


@cli.command()
@click.argument("provider")
@capacity_options
@click.option("--phase", default="mid", show_default=True, help="Only mid: before/after come from start/end.")
@json_option
def snapshot(provider: str, phase: str, as_json: bool, **capacity: Any) -> int:
    """Record a reading without opening or closing anything."""
    from gittracker.windows import snapshot as do_snapshot

    ctx = _context()
    capture = _capture(capacity, provider, ctx)
    result = do_snapshot(ctx, provider, capture.reading, phase)
    _say_what_was_read(capture)
    return _emit(result, as_json, lambda r: f"{r['provider']} snapshot {r['snapshot_id']} recorded")


@cli.command()
@click.argument("window", required=False)
@click.option("--outcome", required=True, metavar="shipped|partial|failed")
@click.option("--quality", required=True, metavar="Q", help="Quality score in [0, 1].")
@click.option("--feature", "feature_id", metavar="ID", help="Feature id (default: the window's).")
@click.option("--replace", is_flag=True, help="Correct an earlier outcome (voids it).")
@json_option
def complete(
    window: str | None, outcome: str, quality: str, feature_id: str | None, replace: bool, as_json: bool
) -> int:
    """Record the outcome of a closed window (default: this agent's last closed one)."""
    from gittracker.windows import complete as do_complete

    result = do_complete(_context(), window, outcome, quality, feature_id=feature_id, replace=replace)
    return _emit(
        result,
        as_json,
        lambda r: (
            f"window {r['window_id']}: {r['outcome']}, quality {r['quality_score']:g}"
            + (f", feature {r['feature_id']}" if r["feature_id"] else "")
        ),
    )


@cli.command()
@json_option
def status(as_json: bool) -> int:
    """Open windows of every agent on this machine, and the last readings."""
    from gittracker.report import format_status
    from gittracker.windows import status as do_status

    return _emit(do_status(_context()), as_json, format_status)


@cli.command()
@click.option("--kind", "kinds", multiple=True, metavar="K", help="Only this kind (repeatable).")
@click.option("--provider", metavar="P", help="Only records of this provider's windows.")
@click.option("--since", metavar="DATE", help="Only records at or after this ISO-8601 date/time.")
@click.option(
    "--all", "everything", is_flag=True, help="Also records this version cannot use (unknown kinds, newer versions)."
)
@json_option
def log(kinds: tuple[str, ...], provider: str | None, since: str | None, everything: bool, as_json: bool) -> int:
    """The records, newest last (--json: one stored record per line)."""
    from gittracker.records import KINDS
    from gittracker.report import format_record, format_stored
    from gittracker.windows import select_records

    for kind in kinds:
        if kind not in KINDS and not everything:
            raise _bad_input(f"--kind: expected one of {', '.join(KINDS)} (or --all for others), got {kind!r}")
    for item in select_records(_context(), kinds, provider, since, foreign=everything):
        if isinstance(item, Record):
            click.echo(item.to_json() if as_json else format_record(item))
        else:
            click.echo(stored_json(item.stored or {}) if as_json else format_stored(item))
    return EXIT_OK


@cli.command()
@json_option
def anomalies(as_json: bool) -> int:
    """Anomaly records with their codes."""
    from gittracker.report import format_record
    from gittracker.windows import anomaly_records

    records = anomaly_records(_context())
    if as_json:
        for record in records:
            click.echo(record.to_json())
    elif not records:
        click.echo("no anomalies")
    else:
        for record in records:
            click.echo(format_record(record))
    return EXIT_OK


@cli.command()
@click.argument("target", required=False, metavar="[WINDOW | REV..REV]")
@click.option("--net", is_flag=True, help="One diff from start to end instead of the sum over commits.")
@click.option("-M", "--renames", is_flag=True, help="Detect renames (default: a rename is a delete plus an add).")
@click.option("--first-parent", is_flag=True, help="PR-level: merges count as their first-parent diff.")
@click.option(
    "--range",
    "selection",
    flag_value="range",
    help="A window's churn from every commit between commit_start and commit_end.",
)
@click.option(
    "--noted",
    "selection",
    flag_value="noted",
    help="A window's churn from the commits carrying its note (the default unless churn.selection says range).",
)
@json_option
def churn(
    target: str | None, net: bool, renames: bool, first_parent: bool, selection: str | None, as_json: bool
) -> int:
    """Lines added and deleted, files and commits of a window (default: yours) or a range."""
    from gittracker.churn import SELECTION_TEXT, Policy
    from gittracker.windows import churn_of

    policy = Policy(renames=renames, first_parent=first_parent, net=net)
    result = churn_of(_context(), target, policy, selection)

    def text(r: dict[str, Any]) -> str:
        head = f"{r['range']} ({r['mode']}; {SELECTION_TEXT[r['selection']]})"
        if r["added"] is None:
            return f"{head}: unknown: {r['reason']}"
        return (
            f"{head}: +{r['added']} -{r['deleted']} lines, {r['files']} file(s) ({r['binary_files']} binary), "
            f"{r['commits']} commit(s); renames {r['renames']}; merges {r['merges']}"
        )

    return _emit(result.to_dict(), as_json, text)


@cli.command()
@click.option("--provider", metavar="P", help="Only this provider.")
@json_option
def preview(provider: str | None, as_json: bool) -> int:
    """Efficiency per provider with confidence intervals and power (STATS.md)."""
    from gittracker.preview import run_preview
    from gittracker.report import format_preview

    return _emit(run_preview(_context(), provider), as_json, format_preview)


@cli.command()
@json_option
def decide(as_json: bool) -> int:
    """The subscription decision gates G1-G3 and the verdict."""
    from gittracker.preview import run_decision
    from gittracker.report import format_decision

    return _emit(run_decision(_context()), as_json, format_decision)


@cli.command()
@click.argument("provider")
@click.option("--reason", default="capture fixed", show_default=True, help="What was fixed.")
@json_option
def resume(provider: str, reason: str, as_json: bool) -> int:
    """Record that capture for a HALTED provider was fixed; windows before this no longer count."""
    from gittracker.windows import resume as do_resume

    result = do_resume(_context(), provider, reason)
    return _emit(result, as_json, lambda r: f"{r['provider']}: resume recorded ({r['resume_id']})")


@cli.command()
@click.option("--phase", required=True, type=click.Choice(["plan", "mid", "final"]), help="Where in the work.")
@click.option("--window", metavar="W", help="Window id or prefix (default: your open window, else last closed).")
@json_option
def checkpoint(phase: str, window: str | None, as_json: bool) -> int:
    """Record tokens and churn so far for a window."""
    from gittracker.windows import checkpoint as do_checkpoint

    result = do_checkpoint(_context(), phase, window)
    return _emit(
        result,
        as_json,
        lambda r: (
            f"checkpoint {r['phase']} of window {r['window_id']}: "
            f"+{r['added']} -{r['deleted']}, {r['commits']} commit(s)"
        ),
    )


@cli.command()
@click.argument("ledger", type=click.Choice(["token-churn", "churn"]))
@click.option("--out", type=click.Path(dir_okay=False), help="Write here (default: stdout).")
@click.option("--handoff", type=click.Path(dir_okay=False), help="Append the written path to this hand-off doc.")
def export(ledger: str, out: str | None, handoff: str | None) -> int:
    """Write Token_Churn_Ledger.csv or Churn_Ledger.csv (RFC 4180)."""
    from gittracker.files import output_file
    from gittracker.ledgers import LEDGER_NAMES
    from gittracker.windows import export as do_export

    # Every path is checked before anything is written: a mistyped folder is one line, never half the output.
    if handoff and out is None:
        raise _bad_input("--handoff: expected --out FILE too (stdout has no path to hand off)")
    target = output_file(out, "--out") if out is not None else None
    notes = output_file(handoff, "--handoff") if handoff else None
    text = do_export(_context(), ledger)
    if target is None:
        click.echo(text, nl=False)
        return EXIT_OK
    target.write_text(text, newline="")
    click.echo(f"wrote {out} ({LEDGER_NAMES[ledger]} format, {text.count(chr(10)) - 1} row(s))")
    if notes is not None:
        with notes.open("a") as handle:
            handle.write(f"- {LEDGER_NAMES[ledger]}: `{out}`\n")
        click.echo(f"listed it in {handoff}")
    return EXIT_OK


@cli.command()
@click.argument("source", metavar="SOURCE")
@click.argument("target", required=False, metavar="[FILE|-]")
@click.option(
    "--dir", "dirs", multiple=True, metavar="DIR", help="Read this Claude config dir or Codex home (repeatable)."
)
@click.option("--this-repo", "this_repo_only", is_flag=True, help="claude-logs: only this repository's projects.")
@click.option("--skip-invalid", is_flag=True, help="Skip and count log lines that cannot be read, instead of stopping.")
@click.option("--provider", metavar="P", help="ccusage: the provider of a per-agent report (default claude).")
@json_option
def ingest(
    source: str,
    target: str | None,
    dirs: tuple[str, ...],
    this_repo_only: bool,
    skip_invalid: bool,
    provider: str | None,
    as_json: bool,
) -> int:
    """Read usage and capacity data: ccusage, claude-logs, codex-sessions, codex-status, claude-usage,
    claude-statusline."""
    from gittracker.ingest import run
    from gittracker.logstate import describe

    summary = run(
        _context("ingest"),
        source,
        target,
        dirs=dirs,
        this_repo_only=this_repo_only,
        skip_invalid=skip_invalid,
        provider=provider,
    )
    return _emit(summary.to_dict(), as_json, describe)


@cli.command(context_settings={"ignore_unknown_options": True})
@click.option("--wrap", metavar="CMD", help="Also run your previous statusLine command and show its line first.")
def statusline(wrap: str | None) -> int:
    """Claude Code statusLine command: keeps the rate-limit reading for --auto, prints one line."""
    from gittracker.statusline_cmd import main as statusline_main

    return statusline_main(["--wrap", wrap] if wrap else [])


@cli.command()
@click.option("--fix", is_flag=True, help="Also repair what is safe to repair (nothing committed is lost).")
@json_option
def doctor(fix: bool, as_json: bool) -> int:
    """Check everything git-tracker depends on and say what to do; exit 1 while a problem remains."""
    from gittracker.doctor import run
    from gittracker.report import format_doctor

    report = run(".", fix=fix)
    _emit(report.to_dict(), as_json, format_doctor)
    return EXIT_OK if not report.findings else EXIT_REFUSED


@cli.command()
def flush() -> int:
    """Write queued note stamps into refs/notes/tracker now (hooks normally do this in the background)."""
    from gittracker import hookrun

    ctx = _context()
    count = hookrun.flush(ctx.repo.toplevel)
    click.echo(f"{count} commit(s) stamped")
    return EXIT_OK


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--seed", default=7, show_default=True, help="Random seed for the simulated work.")
@json_option
def demo(directory: str | None, seed: int, as_json: bool) -> int:
    """Build a throwaway repository with realistic windows for every provider and report on it."""
    from gittracker.demo import run_demo
    from gittracker.report import format_demo

    result = run_demo(directory, seed=seed)
    return _emit(result, as_json, format_demo)


def _bad_input(message: str) -> TrackerError:
    from gittracker.errors import BadInput

    return BadInput(message)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkippedWarning)
        warnings.simplefilter("always", Notice)
        code = _run(args)
    _warn_once(caught)
    return code


def _run(args: list[str]) -> int:
    debug = "--debug" in args or bool(os.environ.get("GIT_TRACKER_DEBUG"))
    try:
        result = cli.main(args=args, prog_name="git tracker", standalone_mode=False)
    except TrackerError as error:
        click.echo(f"git-tracker: {error}", err=True)
        if debug:
            traceback.print_exc()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.exceptions.Abort:
        click.echo("git-tracker: aborted", err=True)
        return 1
    except click.ClickException as error:
        ctx = getattr(error, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        # click lists choices on tab-indented lines; the user gets one line, like every other error.
        message = " ".join(error.format_message().split())
        click.echo(f"git-tracker: {message}{where}", err=True)
        return EXIT_BAD_INPUT
    except Exception as error:
        refused = storage_failed(error, "could not write") if isinstance(error, OSError) else None
        if refused is not None:  # the disk said no: the user's to fix, not a bug
            click.echo(f"git-tracker: {refused}", err=True)
            if debug:
                traceback.print_exc()
            return refused.exit_code
        if debug:
            traceback.print_exc()
        else:
            click.echo(f"git-tracker: internal error: {type(error).__name__}: {error} (rerun with --debug)", err=True)
        return EXIT_INTERNAL
    return result if isinstance(result, int) else EXIT_OK


def _warn_once(caught: list[warnings.WarningMessage]) -> None:
    """One line for every ledger file the command skipped, however often it read the ledger; other warnings
    are shown as Python would have shown them."""
    skipped: dict[str, str] = {}
    for item in caught:
        if isinstance(item.message, SkippedWarning):
            skipped[item.message.skipped.path] = item.message.skipped.reason
        elif isinstance(item.message, Notice):
            click.echo(f"git-tracker: warning: {item.message}", err=True)
        else:
            warnings.showwarning(item.message, item.category, item.filename, item.lineno)
    if skipped:
        click.echo(f"git-tracker: warning: {describe_skipped(skipped.values())}; git tracker doctor", err=True)
