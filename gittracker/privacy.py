"""What ``ingest`` may write about *where* usage happened: nothing that names another repository, a host or a home.

The ledger is pushed by ``sync`` to remotes that teammates (or the public) can read, so a ``usage`` record says
only what this repository needs:

- **Projects.** A row of this repository (the transcript's ``cwd`` is inside its work tree or one of its
  worktrees) keeps its branch and names its folder *relative to that work tree* (``.``, ``src/api``): the
  absolute path would carry the home directory. Every other project's rows of a period are merged into one
  row, ``project``/``branch`` null and ``this_repo`` false: the account's usage elsewhere, as a total, which is
  what a capacity percentage (account-wide) is compared with. Merging preserves every total exactly.
- **Scope.** Totals read from two places (two machines, two Claude config folders) must add up, and one place
  read twice must not; so a record names its place, but as ``place:`` and a keyed digest of the host and
  folder. The key is 32 random bytes in this user's state folder, never pushed: no one without it can test a
  guess (``alice-laptop:/home/alice/.claude``) against the digest. One key per user and machine, not per
  clone, so two clones of a repository on one machine that ingest the same logs name the same place, and the
  second adds nothing.
- **Sessions.** A ccusage session id is the transcript folder's name (``-home-alice-src-app``): stored as a
  keyed digest too.

Records written before this (plain ``host:/path`` scopes, absolute project paths) stay in the ledger: it is
append-only. ``legacy_scope`` tells them apart so that readers do not count one place twice.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

SCOPE_PREFIX = "place:"
SESSION_PREFIX = "session:"
KEY_NAME = "place-key"
KEY_BYTES = 32
_DIGEST_BYTES = 8  # 16 hex digits: no two places of one user collide in practice, and a short field
_KEYED_SCOPE = re.compile(r"^place:[0-9a-f]{16}$")

Label = tuple[str | None, str | None, bool | None]  # (project, branch, this_repo) as a record stores them


def key_folder() -> Path:
    """``$XDG_STATE_HOME/git-tracker`` (default ``~/.local/state/git-tracker``): this user's, on this machine."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "git-tracker"


def place_key(fallback_dir: str) -> bytes:
    """The key places are digested with, made on first use. When the user's state folder cannot be written
    (a read-only home), the clone's local state (``fallback_dir``) keeps it instead."""
    for folder in (key_folder(), Path(fallback_dir)):
        try:
            return _read_or_make(folder / KEY_NAME)
        except OSError:
            continue
    raise OSError(f"cannot keep the place key in {key_folder()} or {fallback_dir}")


def _read_or_make(path: Path) -> bytes:
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = None
    if key is not None and len(key) == KEY_BYTES:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(secrets.token_bytes(KEY_BYTES))
    try:
        if key is None:
            with suppress(FileExistsError):  # the first writer wins; a concurrent second one reads its key
                os.link(temporary, path)
        else:  # a damaged key file: replaced (this place's totals start a new series)
            os.replace(temporary, path)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise OSError(f"{path}: expected a {KEY_BYTES}-byte key")
    return key


def digest(text: str, key: bytes) -> str:
    return hashlib.blake2b(text.encode(), key=key, digest_size=_DIGEST_BYTES).hexdigest()


def scope_for(place: str, key: bytes) -> str:
    """A record's ``scope`` for a place read (``host:/real/folder``, ``host:ccusage``)."""
    return SCOPE_PREFIX + digest(place, key)


def session_for(session_id: str, key: bytes) -> str:
    return SESSION_PREFIX + digest(session_id, key)


def legacy_scope(scope: object) -> bool:
    """A scope as versions before this one wrote it: the host and folder in plain text."""
    return not (isinstance(scope, str) and _KEYED_SCOPE.fullmatch(scope))


OTHER: Label = (None, None, False)  # every other project's rows of a period, merged


class Projects:
    """Which transcript folders are this repository's, and what a record may say of each."""

    def __init__(self, roots: Iterable[str]) -> None:
        # Longest first: a worktree inside the main work tree names its folders from its own root.
        self.roots = sorted({root.rstrip("/") or "/" for root in roots}, key=len, reverse=True)
        self._labels: dict[tuple[str | None, str | None], Label] = {}

    def relative(self, project: str | None) -> str | None:
        """The folder relative to the work tree it is in (``.`` for the top), or None when it is in none."""
        if project is None:
            return None
        for root in self.roots:
            if project == root:
                return "."
            prefix = root if root.endswith("/") else root + "/"
            if project.startswith(prefix):
                return os.path.normpath(project[len(prefix) :])
        return None

    def contains(self, project: str | None) -> bool:
        return self.relative(project) is not None

    def label(self, project: str | None, branch: str | None) -> Label:
        """(project, branch, this_repo) for a row: this repository's relative folder and branch, else ``OTHER``."""
        key = (project, branch)
        known = self._labels.get(key)
        if known is None:
            folder = self.relative(project)
            known = self._labels[key] = OTHER if folder is None else (folder, branch, True)
        return known
