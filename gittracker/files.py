"""Files written so that nothing is ever half there: atomic replacement, temp files a dead writer left, locks.

Every file git-tracker writes outside git's object store goes through ``atomic_write`` (readers see the old or
the new content, never a part) or ``write_cache`` (the same, for what can be computed again, without failing a
command on a full disk). A writer killed before its rename leaves a temp file whose name carries its pid, so the
next write, ``init``, ``uninstall`` or ``doctor --fix`` can tell it is dead and remove it. Locks are ``flock``s:
the kernel releases them when the holder dies, so they never go stale.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from gittracker.errors import BadInput, Refused


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


TEMP_SUFFIX = ".git-tracker-tmp"
# ".<name>.<pid>.<8 hex>.git-tracker-tmp": the writer's pid says whether a leftover can be removed.
_TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.(?P<pid>[0-9]+)\.[0-9a-f]{8}" + re.escape(TEMP_SUFFIX) + "$")
# Older versions named temp files with mkstemp (".<name>.<8 random>"): no pid, so only their age tells.
_LEGACY_TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}$")
LEGACY_TEMP_AGE_SECONDS = 60.0
ANY_NAME = ("*",)


def temp_path(path: Path) -> Path:
    """A name for the temporary file that will replace ``path``, carrying this process's pid."""
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}{TEMP_SUFFIX}")


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def dead_temp_target(path: Path, legacy_names: Collection[str] = ()) -> str | None:
    """The file a leftover temp file of ours was meant to replace, if its writer is dead; else None.

    Temp files of older versions have no pid: they count as dead once ``LEGACY_TEMP_AGE_SECONDS`` old,
    and only for the file names in ``legacy_names`` (``ANY_NAME``: a directory that is wholly ours), since
    a random-looking suffix alone is no proof that a file is ours.
    """
    match = _TEMP_NAME.match(path.name)
    if match is not None:
        pid = int(match["pid"])
        return match["target"] if pid != os.getpid() and not pid_alive(pid) else None
    legacy = _LEGACY_TEMP_NAME.match(path.name)
    if legacy is None or not (legacy["target"] in legacy_names or ANY_NAME[0] in legacy_names):
        return None
    try:
        age = time.time() - path.lstat().st_mtime
    except FileNotFoundError:
        return None
    return legacy["target"] if age > LEGACY_TEMP_AGE_SECONDS else None


def dead_temp_files(directory: Path, legacy_names: Collection[str] = (), only: str | None = None) -> list[Path]:
    """Temp files in ``directory`` (not below it) left by writers of ours that died (kill -9, power loss)."""
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []
    prefix = f".{only}." if only is not None else "."
    return [
        directory / name
        for name in names
        if name.startswith(prefix) and dead_temp_target(directory / name, legacy_names) is not None
    ]


def remove_dead_temp_files(directory: Path, legacy_names: Collection[str] = (), only: str | None = None) -> list[Path]:
    removed = []
    for leftover in dead_temp_files(directory, legacy_names, only):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
            removed.append(leftover)
    return removed


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` survive a crash (the file's own fsync does not cover its name)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, text: str | bytes, mode: int | None = None, *, durable: bool = True) -> None:
    """Write a file so readers see the old or the new content, never a part.

    The file keeps its mode when it exists; a new one gets ``mode`` (default 0666) less the umask, as
    ``open`` would give it. The temporary file's name carries this process's pid, so a writer killed
    before the rename leaves a file the next write (or ``init``, ``uninstall``, ``doctor --fix``) can
    tell is dead and remove.
    """
    _replace(path, text.encode() if isinstance(text, str) else text, mode, durable, None)


def replace_unless_changed(path: Path, expected: bytes | None, data: bytes) -> bool:
    """``atomic_write`` of a file someone else may edit too (a user's settings file): written only if it still
    holds ``expected`` (None: still absent) once the new content is ready to be renamed over it. False: it
    changed meanwhile, and nothing was written. (The check and the rename are two steps: an edit saved in
    between, microseconds, would still be lost; no lock a user's editor honours can close that gap.)"""
    return _replace(path, data, None, True, lambda: _content(path) == expected)


def remove_unless_changed(path: Path, expected: bytes) -> bool:
    """Delete ``path`` if it still holds ``expected``; False (nothing done) if it changed or is gone."""
    if _content(path) != expected:
        return False
    path.unlink()
    _fsync_directory(path.parent)
    return True


def _content(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def staged(path: Path, data: bytes, mode: int | None = None, *, durable: bool = True) -> Path:
    """``data`` written in full to a new temporary file beside ``path`` (``temp_path``), with the mode ``path`` has,
    else ``mode`` (default 0666) less the umask: the caller renames it over ``path`` (``os.replace``) or removes it.
    A write that fails removes the temporary file."""
    try:
        final_mode = path.stat().st_mode & 0o7777 if mode is None else mode
    except FileNotFoundError:
        final_mode = (0o666 if mode is None else mode) & ~_umask()
    tmp = temp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), final_mode)
            handle.write(data)
            handle.flush()
            if durable:  # caches skip the fsync: losing one to a crash costs a recomputation, no data
                os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


def _replace(path: Path, data: bytes, mode: int | None, durable: bool, still: Callable[[], bool] | None) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = staged(path, data, mode, durable=durable)
    try:
        if still is not None and not still():
            os.unlink(tmp)
            return False
        os.replace(tmp, path)
        if durable:
            _fsync_directory(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    remove_dead_temp_files(path.parent, only=path.name)
    return True


def write_cache(path: Path, text: str | bytes) -> bool:
    """Keep a cache if the disk lets us; returns whether it did. A cache that could not be saved costs a
    recomputation, never data, so a full or read-only disk must not fail the command that made it."""
    try:
        atomic_write(path, text, durable=False)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def file_lock(path: Path, timeout: float = 30.0) -> Iterator[None]:
    """An exclusive ``flock``: released by the kernel if the holder dies, so it never goes stale."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Refused(f"another git-tracker process holds {path.name} (waited {timeout:.0f} s)") from None
                time.sleep(0.005)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_held(path: Path) -> bool:
    """Whether a live process holds the ``flock`` of ``path``. The file is only opened for reading, so the question
    can be asked on a read-only disk; a lock file that cannot be opened is held by nobody."""
    try:
        with open(path, "rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
    except OSError:
        return False
    return False


@contextlib.contextmanager
def try_file_lock(path: Path) -> Iterator[bool]:
    """The lock of ``file_lock`` if nobody holds it right now: yields whether it was taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def output_file(name: str, option: str) -> Path:
    """A file the user asked us to write (``--out``, ``--handoff``): checked before anything is written, so a
    mistyped folder is one line of bad input, never half the output."""
    path = Path(name)
    folder = path.parent
    if path.is_dir():
        raise BadInput(f"{option}: expected a file, but {name!r} is a directory")
    if not folder.is_dir():
        raise BadInput(f"{option}: expected a file in an existing folder, but {str(folder)!r} is not a folder")
    return path


def new_directory(name: str, option: str) -> Path:
    """A directory to create or fill (``demo DIR``): absent, or an empty directory, in a folder that exists."""
    path = Path(name)
    if path.exists() and not path.is_dir():
        raise BadInput(f"{option}: expected a new or empty directory, but {name!r} is not a directory")
    if path.is_dir() and any(path.iterdir()):
        raise BadInput(f"{option}: expected a new or empty directory, but {name!r} has files in it")
    if not path.exists() and not path.parent.is_dir():
        raise BadInput(f"{option}: expected a new or empty directory, but {str(path.parent)!r} is not a folder")
    return path


def read_input(source: str, limit: int, label: str, expected: str) -> bytes:
    """FILE or ``-`` (stdin), as bytes: at most ``limit`` of them, no NUL (binary data). A regular file over the limit
    is refused from its size, without reading it; a pipe (``<(ccusage daily --json)``) stops being read past the
    limit. Errors are one line, ``{label}: expected {expected}, got …``."""
    try:
        if source == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            data = _read_regular_file(source, limit, label, expected)
    except OSError as error:
        raise BadInput(f"{label}: cannot read {source!r} ({error.strerror or error})") from None
    if len(data) > limit:
        raise BadInput(f"{label}: expected {expected}, got more from {source!r}")
    if b"\0" in data:
        raise BadInput(f"{label}: expected {expected}, got binary data (a NUL byte) from {source!r}")
    return data


def _read_regular_file(path: str, limit: int, label: str, expected: str) -> bytes:
    with open(path, "rb") as handle:
        info = os.fstat(handle.fileno())
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise BadInput(f"{label}: expected {expected}, got {info.st_size:,} bytes in {path!r}")
        return handle.read(limit + 1)  # it may have grown since: the read stops past the limit
