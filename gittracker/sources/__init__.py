"""Capacity sources: pasted screens, Codex session logs and the Claude Code status line.

Every parser here is pure (no git, no writes) and turns provider data into a ``capacity.Reading``;
anything it cannot read raises ``BadInput`` with a one-line message naming the expected format.

The submodules are imported on demand: ``statusline`` runs on every Claude Code repaint, so this
package must stay free of heavy imports (no pygit2, scipy or click here or in ``statusline``).

- ``screens.parse_screen``: a pasted Codex ``/status`` or Claude ``/usage`` screen, detected.
- ``codex_logs.latest_rate_limits``: the newest rate-limit reading in ``$CODEX_HOME`` session logs.
- ``statusline.parse_statusline``: the JSON a Claude Code ``statusLine`` command reads on stdin.
"""
