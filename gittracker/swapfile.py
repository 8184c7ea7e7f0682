"""Replace a small file whole, for the hot paths (the agents' hooks, the status line).

Write a scratch file beside it, then rename it over: a reader sees the old content or the new, never a part.
``files.atomic_write`` does the same with fsync and mode keeping, for the ledger's local state; this one imports
only ``os`` (no pathlib, no tempfile), since the callers run on every turn or repaint.
"""

from __future__ import annotations

import os


def replace_file(path: str | os.PathLike[str], text: str) -> None:
    path = os.fspath(path)
    folder, name = os.path.split(path)
    os.makedirs(folder, exist_ok=True)
    scratch = os.path.join(folder, f".{name}.{os.getpid()}")
    with open(scratch, "w") as handle:
        handle.write(text)
    os.replace(scratch, path)
