"""This clone's machine id: who wrote a record, when two machines' agents share a name.

A stable random id per clone, kept in the clone's own git config (``tracker.machine``, shared by its worktrees):
12 lowercase base32 characters from ``secrets``, so it says nothing about the host or the user. ``init`` creates
it; a clone set up by an older version gets it the first time a record is written. Two processes creating it at
once end with one id: the creation runs under a lock and reads the config again before and after writing.
``uninstall`` takes it out of the config (which it gives back as it was) and keeps it in ``<git-dir>/tracker/machine``
with the rest of the data, so a later ``init`` names the clone as before.

Reading it costs no git process and no pygit2: the config file is read directly (``gitfiles``), and only a config
of another shape than ``git config`` writes (includes, quoting) is asked of git.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from typing import TYPE_CHECKING

from gittracker.errors import GitFailed, StorageFailed
from gittracker.files import atomic_write, file_lock
from gittracker.gitfiles import local_config_value

if TYPE_CHECKING:
    from gittracker.git import Repo

CONFIG_KEY = "tracker.machine"
LENGTH = 12
UNKNOWN = "unknown"  # how reports name the machine of records written before schema 3, which have none
_SHAPE = re.compile(rf"^[a-z2-7]{{{LENGTH}}}$")
WRITE_ATTEMPTS = 20  # git refuses to write the config while another git process holds config.lock


def valid_machine_id(value: object) -> bool:
    return isinstance(value, str) and bool(_SHAPE.fullmatch(value))


def new_machine_id() -> str:
    """12 base32 characters (60 random bits): enough that two clones never share one, short enough to read."""
    return base64.b32encode(secrets.token_bytes(8)).decode().lower()[:LENGTH]


def read_machine(repo: Repo) -> str | None:
    """This clone's id, or None when it has none yet (or the config holds something that is no id)."""
    known, value = local_config_value(str(repo.common_dir), "tracker", "machine")
    if not known:
        values = repo.config_get_all(CONFIG_KEY)
        value = values[-1] if values else None  # git's own rule: the last value wins
    return value if valid_machine_id(value) else None


def ensure_machine(repo: Repo) -> str:
    """This clone's id, created if it has none: at most one id is ever kept, whoever else creates one meanwhile."""
    found = read_machine(repo)
    if found is not None:
        return found
    with file_lock(repo.tracker_dir / "machine-lock"):
        found = read_machine(repo)  # another process may have created it while we waited
        if found is None:
            made = _remembered(repo) or new_machine_id()
            atomic_write(repo.tracker_dir / "machine", made + "\n")
            _write(repo, made)
            found = read_machine(repo)
    if found is None:
        raise StorageFailed(f"could not keep {CONFIG_KEY} in {repo.config_file}: git config did not store it")
    return found


def forget_machine(repo: Repo) -> str | None:
    """Take the id out of the config (``uninstall``), kept in the tracker's directory for a later ``init``."""
    found = read_machine(repo)
    if found is None:
        return None
    atomic_write(repo.tracker_dir / "machine", found + "\n")
    repo.config_unset_all(CONFIG_KEY)
    repo.config_remove_section_if_empty("tracker")
    return found


def _remembered(repo: Repo) -> str | None:
    """The id this clone had before an ``uninstall``, if any."""
    try:
        text = (repo.tracker_dir / "machine").read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if valid_machine_id(text) else None


def _write(repo: Repo, value: str) -> None:
    """``git config --local tracker.machine VALUE`` (replacing a value that is no id), retried while another git
    process is changing the config."""
    for attempt in range(WRITE_ATTEMPTS):
        try:
            repo.config_replace_all(CONFIG_KEY, value)
            return
        except GitFailed:
            if attempt == WRITE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
