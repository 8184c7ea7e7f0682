"""A hook or status-line program for the harness: records its stdin, environment and arguments, prints nothing.

    python dumphook.py OUTDIR NAME [more arguments]

writes OUTDIR/NAME-<nanoseconds>.json holding {"name", "argv", "env", "stdin"} (stdin as text; the test parses it).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> None:
    folder, name = Path(sys.argv[1]), sys.argv[2]
    record = {"name": name, "argv": sys.argv[3:], "env": dict(os.environ), "stdin": sys.stdin.read()}
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}-{time.time_ns()}.json"
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(record))
    partial.rename(target)


if __name__ == "__main__":
    main()
