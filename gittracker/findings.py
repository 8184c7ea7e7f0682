"""What a health check found: one problem, said in one line, with what to do about it.

``git tracker doctor`` gathers findings from the modules that own each part (set-up, local state, the
ledger, notes); ``status`` points to ``doctor`` when any is found. A finding that ``doctor --fix`` can
repair safely says so; the others name the command or the step the user has to take.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    code: str  # stable and short, e.g. "hook-missing"; `doctor --json` keys on it
    problem: str  # one line: what is wrong, with the path or ref it concerns
    action: str  # one line: what `doctor --fix` does, or what the user should do
    fixable: bool = False  # True when `doctor --fix` repairs it without losing committed data
