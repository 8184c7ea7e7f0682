"""Who wrote what: the ``--machine`` and ``--agent`` filters of ``status``, ``log`` and ``preview``, and the groups of
``preview --by``.

A filter chooses what is reported, never what is read: windows are assembled from every record first (a window's
records may come from several commands, and overlaps between agents and machines must see them all), then the
windows (or, for ``log``, the records) of the chosen writers are shown. Records written before schema 3 name no
machine: they are machine ``unknown``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from gittracker.errors import BadInput
from gittracker.machine import UNKNOWN, valid_machine_id
from gittracker.names import valid_agent_id

GROUPINGS = ("agent", "machine")


def machine_name(machine: object) -> str:
    """The machine as reports show it: its id, or ``unknown`` for a record of schema 2 or older."""
    return machine if isinstance(machine, str) and machine else UNKNOWN


@dataclass(frozen=True)
class Who:
    """The writers to report: a machine id (or ``unknown``) and an agent id, each None for any."""

    machine: str | None = None
    agent: str | None = None

    @classmethod
    def checked(cls, machine: str | None, agent: str | None) -> Who:
        if machine is not None and machine != UNKNOWN and not valid_machine_id(machine):
            raise BadInput(
                f"--machine: expected a machine id (12 characters a-z, 2-7, as `git tracker status` shows) "
                f"or {UNKNOWN}, got {machine!r}"
            )
        if agent is not None and not valid_agent_id(agent):
            raise BadInput(f"--agent: expected letters, digits, '.', '_' or '-' (max 64), got {agent!r}")
        return cls(machine, agent)

    @property
    def anyone(self) -> bool:
        return self.machine is None and self.agent is None

    def wrote(self, machine: object, agent: object) -> bool:
        """Whether a record stamped with this machine (None: before schema 3) and agent is one of the chosen."""
        return (self.machine is None or machine_name(machine) == self.machine) and (
            self.agent is None or agent == self.agent
        )

    def narrowed(self, by: str, value: str) -> Who:
        """This filter, and the one group of ``--by`` (a group inside a filter: both must hold)."""
        return replace(self, **{by: value})

    def to_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "agent": self.agent}


def check_grouping(by: str | None) -> str | None:
    if by is not None and by not in GROUPINGS:
        raise BadInput(f"--by: expected {' or '.join(GROUPINGS)}, got {by!r}")
    return by


def group_values(writers: Iterable[tuple[object, object]], by: str) -> list[str]:
    """The groups ``--by`` makes of these (machine, agent) pairs, sorted (``unknown`` sorts like any id)."""
    return sorted({machine_name(machine) if by == "machine" else str(agent) for machine, agent in writers})


ANYONE = Who()  # no filter: every writer
