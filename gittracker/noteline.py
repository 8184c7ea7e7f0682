"""The git-note line that stamps a commit made inside a window.

Its own module because the agents' hooks write it on their hot path (``autocapture.hook``), where the
record machinery of ``records`` costs more to import than the whole hook may take.
"""

from __future__ import annotations

import json


def note_line(window_id: str, provider: str, agent_id: str, opened_ts: str) -> str:
    """The git-note line for a commit made inside a window.

    It is identical for every commit of the window, so ``cat_sort_uniq`` merges an amended commit's
    note with the note it inherits instead of doubling it.
    """
    payload = {
        "v": 1,
        "id": window_id,
        "ts": opened_ts,
        "kind": "window",
        "provider": provider,
        "agent_id": agent_id,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))
