"""The one exception root and the one exit-code table.

Every failure a user can cause or meet is a ``TrackerError`` subclass; ``cli`` prints its message as a
single line and exits with its ``exit_code``. Anything else is a bug and is shown only with ``--debug``.
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_REFUSED = 1  # an invariant or guard said no (second start, reset buffer, halted provider, SHA-256 repository)
EXIT_BAD_INPUT = 2  # bad usage, bad input, wrong place (not a repo, not initialised)
EXIT_INTERNAL = 3  # a bug: an unexpected exception

# The table as the user reads it: the man page's EXIT STATUS is written from it (docs/commands.md says the same).
EXIT_CODES = {
    EXIT_OK: "Done.",
    EXIT_REFUSED: "Refused: a guard said no and nothing was written (a second start, end inside the reset buffer, "
    "a halted provider, a lost compare-and-swap race, a failed git operation, a full or read-only disk); "
    "doctor found a problem; schedule check found a capture inside the reset buffer; a timer job was refused.",
    EXIT_BAD_INPUT: "Bad input or usage: a malformed value, an unknown option or command, not a git repository, "
    "not initialised, a damaged local file.",
    EXIT_INTERNAL: "Internal error, a bug: one line on standard error, the traceback with --debug.",
}


class Notice(UserWarning):
    """Something the user should know that does not stop the command (an unknown setting, say): raised through
    ``warnings``, printed by the CLI as one ``git-tracker: warning: …`` line."""


class TrackerError(Exception):
    """Root of every error the user may see; the message is one line."""

    exit_code = EXIT_BAD_INPUT


class BadInput(TrackerError):
    """A value, file or option did not have the expected form."""


class NotARepository(TrackerError):
    """The current directory is not inside a git work tree."""


class UnsupportedRepository(TrackerError):
    """A repository git-tracker cannot work in whatever the user does (a SHA-256 one): every command refuses it."""

    exit_code = EXIT_REFUSED


class NotInitialised(TrackerError):
    """``git tracker init`` has not been run in this repository."""


class Refused(TrackerError):
    """An invariant or guard refused the action; nothing was written."""

    exit_code = EXIT_REFUSED


class LostRace(TrackerError):
    """A compare-and-swap kept losing to concurrent writers."""

    exit_code = EXIT_REFUSED


class GitFailed(TrackerError):
    """A git command or object operation failed."""

    exit_code = EXIT_REFUSED


class StorageFailed(TrackerError):
    """The disk said no (full, read-only, no permission); the message says what was and was not recorded."""

    exit_code = EXIT_REFUSED


# What the storage says when it refuses (full, over quota, read-only, no permission, failing), as opposed to a bug.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO})


def storage_failed(error: OSError, doing: str) -> StorageFailed | None:
    """``error`` as a one-line ``StorageFailed`` when the storage refused, else None (then it is a bug)."""
    if error.errno not in STORAGE_ERRNOS:
        return None
    where = f" ({error.filename})" if error.filename else ""
    return StorageFailed(f"{doing}{where}: {error.strerror or error}")
