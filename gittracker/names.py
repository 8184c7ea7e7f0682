"""Names users choose, checked the same way everywhere (without ``re``: the quick ingest check uses it)."""

from __future__ import annotations

AGENT_ID_RULE = "letters, digits, '.', '_' or '-' (max 64)"
_AGENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def valid_agent_id(agent_id: str) -> bool:
    """An ASCII letter or digit, then up to 63 letters, digits, '.', '_' or '-'."""
    return (
        0 < len(agent_id) <= 64
        and agent_id[0] not in "_.-"
        and agent_id[0] in _AGENT_CHARS
        and all(char in _AGENT_CHARS for char in agent_id)
    )
