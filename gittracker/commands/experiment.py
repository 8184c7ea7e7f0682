"""The experiment (docs/commands.md#bank): the task bank (``bank add|list|show|status``) and the counterbalanced
plan (``assign``)."""

from __future__ import annotations

from typing import Any

import click

from gittracker.commands.common import context, emit, json_option, warn


@click.group("bank")
def bank() -> None:
    """The task bank: features of comparable size, and their status (docs/commands.md#bank)."""


@bank.command("add")
@click.argument("feature_id", metavar="FEATURE")
@click.option("--title", required=True, metavar="T", help="One line naming the feature.")
@click.option("--spec", "spec", required=True, metavar="FILE|-", help="The spec: a UTF-8 text file, or - for stdin.")
@click.option("--size", required=True, metavar="S", help="Its size, a number > 0 (one unit for the whole bank).")
@click.option("--replace", is_flag=True, help="Store a newer version of a feature the bank holds (the newest wins).")
@json_option
def add_command(feature_id: str, title: str, spec: str, size: str, replace: bool, as_json: bool) -> int:
    """Add a feature to the bank (warns when its size is far from the bank's median)."""
    from gittracker.experiment.actions import add_feature
    from gittracker.formatting import format_bank_add

    result = add_feature(context(), feature_id, title, spec, size, replace=replace)
    for line in result["warnings"]:
        warn(f"warning: {line}")
    return emit(result, as_json, format_bank_add)


@bank.command("list")
@json_option
def list_command(as_json: bool) -> int:
    """Every feature: status (and where it came from), size, title, planned order."""
    from gittracker.experiment.actions import list_bank
    from gittracker.formatting import format_bank_list

    return emit(list_bank(context(reading=True)), as_json, format_bank_list)


@bank.command("show")
@click.argument("feature_id", metavar="FEATURE")
@json_option
def show_command(feature_id: str, as_json: bool) -> int:
    """One feature: its spec, its windows and outcomes, its status history."""
    from gittracker.experiment.actions import show_feature
    from gittracker.formatting import format_bank_show

    return emit(show_feature(context(reading=True), feature_id), as_json, format_bank_show)


@bank.command("status")
@click.argument("feature_id", metavar="FEATURE")
@click.argument("status", required=False, metavar="[STATUS]")
@click.option("--note", metavar="TEXT", help="Why (kept with the status).")
@json_option
def status_command(feature_id: str, status: str | None, note: str | None, as_json: bool) -> int:
    """Print a feature's status, or set it by hand: STATUS is ready, in-progress, done, blocked-capacity or
    blocked-tooling (it holds until the next window on the feature)."""
    from gittracker.experiment.actions import feature_status
    from gittracker.formatting import format_bank_status

    ctx = context(reading=status is None)
    return emit(feature_status(ctx, feature_id, status, note), as_json, format_bank_status)


@click.command()
@click.option("--seed", required=True, metavar="N", help="Whole number: the same seed gives the same plan.")
@click.option("--providers", metavar="A,B", help="The two providers compared, A first (default: codex,glm).")
@click.option("--replan", metavar="WHY", help="Replace the plan in force; WHY is recorded with the new one.")
@json_option
def assign(seed: str, providers: str | None, replan: str | None, as_json: bool) -> int:
    """Record a counterbalanced plan: per feature the provider order AB or BA, half each, from the seed."""
    from gittracker.experiment.actions import assign as make_plan
    from gittracker.formatting import format_assign

    return emit(make_plan(context(), seed, providers, replan), as_json, format_assign)


COMMANDS: list[Any] = [bank, assign]
