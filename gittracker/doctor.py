"""``git tracker doctor``: check everything git-tracker depends on, say what to do, repair what is safe.

Each part answers for itself (``install.findings``: set-up, hooks and git config; ``stamps.findings``: queued
stamps and commits that lost their note; ``LocalState.findings``: the agents' state files); this module checks
the ledger, gathers the rest into one report, and runs the repairs in an order where each finds the ground the
previous one cleared. Doctor must work where other commands stop, so it opens the repository itself: no
settings file, replayed journal or readable state is required to look.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from gittracker import install, stamps
from gittracker.config import Config, load
from gittracker.context import Context, replay_journal
from gittracker.errors import TrackerError
from gittracker.findings import Finding
from gittracker.git import LEDGER_REF, NOTES_REF, Repo
from gittracker.records import Record, SkippedWarning, describe_skipped
from gittracker.state import LocalState
from gittracker.windows import rebuild_state

STALE_REF_LOCK_SECONDS = 60.0


@dataclass(frozen=True)
class Report:
    findings: list[Finding]
    fixed: list[str]

    def to_dict(self) -> dict[str, object]:
        return {
            "schema_version": 1,
            "ok": not self.findings,
            "findings": [vars(finding) for finding in self.findings],
            "fixed": self.fixed,
        }


def run(path: Path | str = ".", *, fix: bool = False) -> Report:
    repo = Repo.discover(path)
    findings = diagnose(repo)
    if not fix or not any(finding.fixable for finding in findings):
        return Report(findings, [])
    fixed = repair(repo, findings)
    return Report(diagnose(repo), fixed)


def diagnose(repo: Repo) -> list[Finding]:
    local = LocalState(repo.tracker_dir)
    if not local.manifest.exists() and not local.root.is_dir():
        return [Finding("not-set-up", f"git-tracker is not set up in {repo.toplevel}", "run `git tracker init`")]
    return [
        *install.findings(repo),
        *_settings(repo),
        *local.findings(),
        *_states_behind_ledger(repo, local),
        *stamps.findings(repo),
        *_ledger(repo),
    ]


def repair(repo: Repo, findings: list[Finding]) -> list[str]:
    """Run the safe repairs for ``findings`` (each part repairs the ones it reported); what was done, a line each."""
    codes = {finding.code for finding in findings if finding.fixable}
    done = _remove_stale_ref_locks(repo) if "stale-ref-lock" in codes else []
    done += install.fix(repo, findings)  # first: the hooks and the set-up that the other repairs stand on
    local = LocalState(repo.tracker_dir)
    context = Context(repo, local, _settings_or_defaults(repo), "main", "cli")
    for agent in local.agent_dirs():
        done += _repair_agent(context, agent, codes)
    if codes & stamps.FIXABLE:  # last: stamps are restored against windows the states now agree on
        done += stamps.repair(repo)
    return done


# -- the repository and the settings ------------------------------------------------------------------------


def _settings(repo: Repo) -> list[Finding]:
    try:
        load(repo.toplevel)
    except TrackerError as error:
        return [Finding("settings-unreadable", str(error), "correct the file (docs/configuration.md) or delete it")]
    return []


def _settings_or_defaults(repo: Repo) -> Config:
    try:
        return load(repo.toplevel)
    except TrackerError:
        return Config()


# -- local agent states ----------------------------------------------------------------------------------------


def _states_behind_ledger(repo: Repo, local: LocalState) -> list[Finding]:
    """Open windows the ledger has closed or voided: what a state restored from an old copy, or a lost write,
    leaves. ``end`` refuses such a window; the state must be rebuilt."""
    agents = {agent: state for agent in local.agent_dirs() if (state := local.load_readable(agent)) is not None}
    if not any(state.open for state in agents.values()):
        return []
    records = _ledger_records(repo)
    found = []
    for agent, state in agents.items():
        truth = rebuild_state(records, agent)
        behind = sorted(
            window["window_id"]
            for provider, window in state.open.items()
            if truth.open.get(provider, {}).get("window_id") != window["window_id"]
        )
        if behind and not state.pending:
            found.append(
                Finding(
                    "state-behind-ledger",
                    f"agent {agent} has window(s) {', '.join(behind)} open here that the ledger has closed or undone",
                    "--fix rebuilds the agent's state from the ledger",
                    fixable=True,
                )
            )
    return found


def _repair_agent(context: Context, agent: str, codes: set[str]) -> list[str]:
    local = context.local
    with local.agent_lock(agent):
        state = local.load_readable(agent)
        if state is not None and state.pending and "journal-left" in codes:
            count = len(state.pending)
            replay_journal(context, agent, state)
            return [f"appended the {count} journalled record(s) of agent {agent} to the ledger"]
        if state is None and "state-damaged" in codes:
            path = local.agent_dir(agent) / "state.json"
            path.replace(path.with_name("state.json.damaged"))
            local.save(agent, rebuild_state(_ledger_records(context.repo), agent))
            return [f"rebuilt the state of agent {agent} from the ledger (the damaged file is state.json.damaged)"]
        if state is not None and "state-behind-ledger" in codes:
            truth = rebuild_state(_ledger_records(context.repo), agent)
            if truth.open != state.open:
                local.save(agent, truth)
                return [f"brought the state of agent {agent} up to date with the ledger"]
    return []


# -- the ledger ----------------------------------------------------------------------------------------------


def _ledger_records(repo: Repo) -> list[Record]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedWarning)  # doctor reports them itself, with their paths
        return repo.read_records()


def _ledger(repo: Repo) -> list[Finding]:
    found = []
    where = repo.ledger_checked_out_in()
    if where is not None:
        found.append(
            Finding(
                "ledger-checked-out",
                f"the ledger branch is checked out in {where}: git-tracker writes nothing while it is",
                f"switch that work tree to another branch (`git -C {where} switch -`)",
            )
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedWarning)
        _, skipped = repo.read_ledger()
    if skipped:
        paths = ", ".join(item.path for item in skipped[:3]) + (", …" if len(skipped) > 3 else "")
        found.append(
            Finding(
                "ledger-records-skipped",
                f"{describe_skipped(item.reason for item in skipped)}: {paths}",
                "they are left out of every figure; `git tracker log --all` shows those with a record's stamp, "
                "and a newer git-tracker reads the newer ones (the ledger is append-only: nothing to delete)",
            )
        )
    found += [
        Finding(
            "stale-ref-lock",
            f"{lock} has been left for {age:.0f} s by a git process that was stopped; it blocks writing {ref}",
            "--fix removes it",
            fixable=True,
        )
        for ref, lock, age in _stale_ref_locks(repo)
    ]
    return found


def _stale_ref_locks(repo: Repo) -> list[tuple[str, Path, float]]:
    now = time.time()
    stale = []
    for ref in (LEDGER_REF, NOTES_REF):
        lock = repo.common_dir / f"{ref}.lock"
        try:
            age = now - lock.stat().st_mtime
        except FileNotFoundError:
            continue
        if age > STALE_REF_LOCK_SECONDS:
            stale.append((ref, lock, age))
    return stale


def _remove_stale_ref_locks(repo: Repo) -> list[str]:
    done = []
    for _, lock, _ in _stale_ref_locks(repo):
        lock.unlink(missing_ok=True)
        done.append(f"removed the stale lock {lock}")
    return done
