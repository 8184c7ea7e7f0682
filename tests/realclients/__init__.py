"""Test harness for the REAL `claude` and `codex` CLIs from npm, run offline against fake model servers.

- install.py: the pinned versions, installed once into `.cache/real-clients/` (`python -m tests.realclients.install`).
- fakeserver.py: a fake Anthropic Messages / OpenAI Responses server (SSE, rate-limit headers, tool calls).
- runner.py: the server in a network namespace with only loopback; clients run inside it; tmux for the TUI.
- clients.py: each client's home, configuration and flags; the rate-limit header builders.
- dumphook.py: a hook / status-line program that records what it gets.
- require.py: what tests call to get a client or a server: a missing client, namespace or tmux fails the test where
  real clients are required (`REAL_CLIENTS_REQUIRED=1`, set by .ci/run, or `CI`), and skips it elsewhere saying how
  to install it.

Tests that use it carry the `realclients` marker.
"""
