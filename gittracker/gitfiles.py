"""git's own files, read directly, for the hot paths that cannot wait for a git process or load pygit2.

The status line (every editor repaint) and a second ``ingest`` with nothing new (a check that should cost
little more than starting Python) find the repository and read one ref here. Everything else goes
through ``git.py``. Anything unusual answers None: ``GIT_DIR`` and friends set, a ``.git`` file that is
not a ``gitdir:`` link, a reftable repository, a symbolic or unreadable ref. The caller then takes the
exact path through ``git``, so this module can only make a command faster, never give another answer.
"""

from __future__ import annotations

import os

# Set by the user or by git itself (inside hooks): only git knows what they resolve to.
REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM")
_HEX = frozenset("0123456789abcdef")


def find_repo(start: str) -> tuple[str, str] | None:
    """(top of the work tree, common git directory) of the repository holding ``start``, from files alone."""
    found = find_git_dirs(start)
    return None if found is None else (found[0], found[2])


def find_git_dirs(start: str) -> tuple[str, str, str] | None:
    """(top of the work tree, its own git directory, the common git directory) holding ``start``, from files alone.

    A linked worktree's own git directory is ``<common>/worktrees/<name>``; the main worktree's is the common one.
    """
    if any(name in os.environ for name in REPO_ENV):
        return None
    directory = os.path.abspath(start)
    try:
        while True:
            dot_git = os.path.join(directory, ".git")
            if os.path.isdir(dot_git):
                git_dir = dot_git
                break
            if os.path.isfile(dot_git):  # a linked worktree or submodule: "gitdir: <path>"
                content = _read(dot_git)
                if not content.startswith("gitdir:"):
                    return None
                git_dir = os.path.normpath(os.path.join(directory, content[len("gitdir:") :].strip()))
                break
            parent = os.path.dirname(directory)
            if parent == directory:
                return None
            directory = parent
        common_file = os.path.join(git_dir, "commondir")
        common = git_dir
        if os.path.isfile(common_file):
            common = os.path.normpath(os.path.join(git_dir, _read(common_file).strip()))
    except (OSError, UnicodeDecodeError):
        return None
    return directory, git_dir, common


def head_commit(git_dir: str, common_dir: str) -> str | None:
    """The commit HEAD names in the worktree whose own git directory is ``git_dir``; None when only git can tell
    (or there is no commit yet)."""
    try:
        head = _read(os.path.join(git_dir, "HEAD")).strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not head.startswith("ref: "):
        return head if is_object_id(head) else None
    known, tip = ref_tip(common_dir, head[len("ref: ") :])
    return tip if known else None


def tracker_dir(start: str) -> str | None:
    """``<common git dir>/tracker`` of the repository holding ``start``, if git-tracker was set up there."""
    found = find_repo(start)
    if found is None:
        return None
    tracker = os.path.join(found[1], "tracker")
    return tracker if os.path.isdir(tracker) else None


def branch_tip(common_dir: str, branch: str) -> tuple[bool, str | None]:
    """(known, commit) of ``refs/heads/<branch>``: known is False when only git can tell."""
    return ref_tip(common_dir, f"refs/heads/{branch}")


def ref_tip(common_dir: str, ref: str) -> tuple[bool, str | None]:
    """(known, object id) of the full ref name ``ref``, from git's files: known is False when only git can tell."""
    if os.path.exists(os.path.join(common_dir, "reftable")):
        return False, None
    try:
        return True, _object_id(_read(os.path.join(common_dir, ref)).strip())
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError, ValueError):
        return False, None
    try:
        packed = _read(os.path.join(common_dir, "packed-refs"))
    except FileNotFoundError:
        return True, None  # neither a loose nor a packed ref: the branch does not exist
    except (OSError, UnicodeDecodeError):
        return False, None
    for line in packed.splitlines():
        if line.endswith(f" {ref}"):
            try:
                return True, _object_id(line.split(" ", 1)[0])
            except ValueError:
                return False, None
    return True, None


def is_object_id(text: str) -> bool:
    """A full object id: SHA-1 (40) or SHA-256 (64) lowercase hex."""
    return len(text) in (40, 64) and set(text) <= _HEX


def _object_id(text: str) -> str:
    if not is_object_id(text):
        raise ValueError(f"expected an object id, got {text[:80]!r}")  # a symbolic ref, or a torn write
    return text


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def local_config_value(common_dir: str, section: str, key: str) -> tuple[bool, str | None]:
    """(known, value) of ``<section>.<key>`` in the repository's own config file (what ``git config --local --get``
    reads), for a value written by ``git config`` itself: a plain ``[section]`` header, then ``key = value`` on
    one line. known is False when only git can tell: an include, a header or line of any other shape that
    mentions the section or key, a quoted or continued value, several values."""
    try:
        text = _read(os.path.join(common_dir, "config"))
    except FileNotFoundError:
        return True, None
    except (OSError, UnicodeDecodeError):
        return False, None
    inside, found = False, []
    for raw in text.splitlines():
        line = raw.strip()
        if line.endswith("\\"):
            return False, None  # a value continued on the next line: that line is not a line of its own
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            header = line[1:-1].strip().lower() if line.endswith("]") else None
            if header is None or "include" in header or "]" in header or ('"' in header and section in header):
                return False, None  # includes, a header with a key after it, a subsection of ours
            inside = header == section
            continue
        name, _, value = line.partition("=")
        if not inside or name.strip().lower() != key:
            continue
        value = value.strip()
        if not value or any(char in value for char in '"\\#; \t'):
            return False, None  # no value (a boolean), git's quoting, escapes, comments: left to git
        found.append(value)
    if len(found) > 1:
        return False, None
    return True, (found[0] if found else None)
