"""Reading the data back: ``status``, ``log``, ``anomalies``, ``churn``, ``preview``, ``decide``, ``checkpoint``
and ``export``."""

from __future__ import annotations

from typing import Any

import click

from gittracker.commands.common import context, emit, json_option, who, who_options
from gittracker.errors import EXIT_OK, BadInput


@click.command()
@who_options
@json_option
def status(machine: str | None, agent: str | None, as_json: bool) -> int:
    """Open windows of every agent on this machine, the last readings, and this clone's machine id."""
    from gittracker.formatting import format_status
    from gittracker.reports import status as gather_status

    return emit(gather_status(context(reading=True), who(machine, agent)), as_json, format_status)


@click.command()
@click.option("--kind", "kinds", multiple=True, metavar="K", help="Only this kind (repeatable).")
@click.option("--provider", metavar="P", help="Only records of this provider's windows.")
@click.option("--since", metavar="DATE", help="Only records at or after this ISO-8601 date/time.")
@click.option(
    "--all", "everything", is_flag=True, help="Also records this version cannot use (unknown kinds, newer versions)."
)
@who_options
@json_option
def log(
    kinds: tuple[str, ...],
    provider: str | None,
    since: str | None,
    everything: bool,
    machine: str | None,
    agent: str | None,
    as_json: bool,
) -> int:
    """The records, newest last (--json: one stored record per line)."""
    from gittracker.formatting import format_no_records, format_record, format_stored
    from gittracker.records import KINDS, Record, stored_json
    from gittracker.reports import select_records

    for kind in kinds:
        if kind not in KINDS and not everything:
            raise BadInput(f"--kind: expected one of {', '.join(KINDS)} (or --all for others), got {kind!r}")
    chosen = who(machine, agent)
    selected = select_records(context(reading=True), kinds, provider, since, foreign=everything, who=chosen)
    if not selected.items and not as_json:  # --json: no line is the empty answer
        click.echo(format_no_records(kinds, provider, since, chosen))
    for item in selected.items:
        if isinstance(item, Record):
            click.echo(item.to_json() if as_json else format_record(item, selected.voided_by.get(item.id)))
        else:
            click.echo(stored_json(item.stored or {}) if as_json else format_stored(item))
    return EXIT_OK


@click.command()
@json_option
def anomalies(as_json: bool) -> int:
    """Anomaly records with their codes."""
    from gittracker.formatting import format_record
    from gittracker.reports import anomaly_records

    records = anomaly_records(context(reading=True))
    if as_json:
        for record in records:
            click.echo(record.to_json())
    elif not records:
        click.echo("no anomalies")
    else:
        for record in records:
            click.echo(format_record(record))
    return EXIT_OK


@click.command()
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
    from gittracker.churn import Policy
    from gittracker.formatting import format_churn
    from gittracker.reports import churn_of

    policy = Policy(renames=renames, first_parent=first_parent, net=net)
    return emit(churn_of(context(reading=True), target, policy, selection).to_dict(), as_json, format_churn)


@click.command()
@click.option("--provider", metavar="P", help="Only this provider.")
@who_options
@click.option("--by", type=click.Choice(["agent", "machine"]), help="One report per agent or per machine.")
@json_option
def preview(provider: str | None, machine: str | None, agent: str | None, by: str | None, as_json: bool) -> int:
    """Efficiency per provider with confidence intervals and power (docs/statistics.md)."""
    from gittracker.formatting import format_grouped_preview, format_preview
    from gittracker.preview import run_preview

    result = run_preview(context(reading=True), provider, who(machine, agent), by)
    return emit(result, as_json, format_grouped_preview if by is not None else format_preview)


@click.command()
@json_option
def decide(as_json: bool) -> int:
    """The subscription decision gates G1-G3 and the verdict."""
    from gittracker.decision import run_decision
    from gittracker.formatting import format_decision

    return emit(run_decision(context(reading=True)), as_json, format_decision)


@click.command()
@click.option("--phase", required=True, type=click.Choice(["plan", "mid", "final"]), help="Where in the work.")
@click.option("--window", metavar="W", help="Window id or prefix (default: your open window, else last closed).")
@json_option
def checkpoint(phase: str, window: str | None, as_json: bool) -> int:
    """Record tokens and churn so far for a window."""
    from gittracker.reports import checkpoint as record_checkpoint

    result = record_checkpoint(context(), phase, window)
    return emit(
        result,
        as_json,
        lambda r: (
            f"checkpoint {r['phase']} of window {r['window_id']}: "
            f"+{r['added']} -{r['deleted']}, {r['commits']} commit(s)"
        ),
    )


@click.command()
@click.argument("ledger", type=click.Choice(["token-churn", "churn"]))
@click.option("--out", type=click.Path(dir_okay=False), help="Write here (default: stdout).")
@click.option("--handoff", type=click.Path(dir_okay=False), help="Append the written path to this hand-off doc.")
def export(ledger: str, out: str | None, handoff: str | None) -> int:
    """Write Token_Churn_Ledger.csv or Churn_Ledger.csv (RFC 4180)."""
    from gittracker.reports import export as write_ledger

    if handoff and out is None:
        raise BadInput("--handoff: expected --out FILE too (stdout has no path to hand off)")
    written = write_ledger(context(reading=True), ledger, out, handoff)
    if out is None:
        click.echo(written.text, nl=False)
        return EXIT_OK
    click.echo(f"wrote {out} ({written.format} format, {written.rows} row(s))")
    if handoff:
        click.echo(f"listed it in {handoff}")
    return EXIT_OK


COMMANDS: list[Any] = [status, log, anomalies, churn, preview, decide, checkpoint, export]
