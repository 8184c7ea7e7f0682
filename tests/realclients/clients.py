"""How the real clients are set up and run against the fake servers: their homes, configuration and flags.

Claude Code: HOME and CLAUDE_CONFIG_DIR (= HOME/.claude, so `~/.claude/settings.json` is the user settings file),
an API key or the gateway JWT (the only way rate limits reach the status line without a subscriber login),
`claude -p` for scripted sessions and the interactive mode in tmux for the status line.
Codex: HOME and CODEX_HOME (= HOME/.codex) with a config.toml naming the fake provider, `codex exec` for sessions.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.realclients import install
from tests.realclients.runner import FakeServer, client_env

API_KEY = "dummy-key-for-the-fake-server-0123456789"
QUIET = {
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    # Without it the interactive mode fetches a plugin marketplace from the internet.
    "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
}


# Rate-limit headers -------------------------------------------------------------------------------------------


def anthropic_limits(
    five_hour: tuple[float, int] | None = None, seven_day: tuple[float, int] | None = None, status: str = "allowed"
) -> dict[str, str]:
    """`anthropic-ratelimit-unified-*` headers: each limit is (utilization 0..1, reset epoch seconds)."""
    headers = {"anthropic-ratelimit-unified-status": status}
    for name, limit in (("5h", five_hour), ("7d", seven_day)):
        if limit is not None:
            headers[f"anthropic-ratelimit-unified-{name}-utilization"] = repr(limit[0])
            headers[f"anthropic-ratelimit-unified-{name}-reset"] = str(limit[1])
    return headers


def codex_limits(
    primary: tuple[float, int, int] | None = None, secondary: tuple[float, int, int] | None = None
) -> dict[str, str]:
    """`x-codex-primary-*` / `x-codex-secondary-*` headers: each limit is (used percent, window minutes, reset epoch).

    A weekly-only plan is `primary=(p, 10080, reset)` with no secondary."""
    headers = {}
    for name, limit in (("primary", primary), ("secondary", secondary)):
        if limit is not None:
            headers[f"x-codex-{name}-used-percent"] = repr(limit[0])
            headers[f"x-codex-{name}-window-minutes"] = str(limit[1])
            headers[f"x-codex-{name}-reset-at"] = str(limit[2])
    return headers


def gateway_jwt() -> str:
    """An unsigned JWT whose audience is `claude-gateway`: with it (and no API key) Claude Code reads the unified
    rate-limit headers and hands `rate_limits` to its status line (measured on 2.1.332; undocumented)."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {"aud": "claude-gateway", "sub": "fake", "exp": int(time.time()) + 365 * 86400}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.sig"


# Claude Code ---------------------------------------------------------------------------------------------------


@dataclass
class ClaudeRun:
    """One `claude -p` run: its process result and the stream-json events it printed."""

    completed: Any
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def result(self) -> str | None:
        finals = [e for e in self.events if e.get("type") == "result"]
        return str(finals[-1].get("result")) if finals else None

    @property
    def session_id(self) -> str | None:
        for event in self.events:
            if event.get("session_id"):
                return str(event["session_id"])
        return None


class Claude:
    """Claude Code 2.1.332 with its home under HOME (given: usually the test's hermetic HOME)."""

    def __init__(self, home: Path, gateway: bool = False) -> None:
        self.binary = install.install(install.CLAUDE)
        self.home = home
        self.config_dir = home / ".claude"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.gateway = gateway
        self.token = gateway_jwt() if gateway else API_KEY

    def env(self, server: FakeServer, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        credentials = {"ANTHROPIC_AUTH_TOKEN": self.token} if self.gateway else {"ANTHROPIC_API_KEY": self.token}
        settings = {"CLAUDE_CONFIG_DIR": str(self.config_dir), "ANTHROPIC_BASE_URL": server.base_url}
        return client_env(self.home, {**QUIET, **settings, **credentials, **(extra or {})})

    def trust(self, *repos: Path) -> None:
        """The `.claude.json` the interactive mode needs to start without questions: onboarding done, a theme, the
        repositories' trust dialog accepted, the API key approved."""
        state_file = self.config_dir / ".claude.json"
        state = json.loads(state_file.read_text()) if state_file.exists() else {}
        state.update({"hasCompletedOnboarding": True, "theme": "dark"})
        state.setdefault("projects", {}).update({str(r): {"hasTrustDialogAccepted": True} for r in repos})
        if not self.gateway:
            state["customApiKeyResponses"] = {"approved": [self.token[-20:]], "rejected": []}
        state_file.write_text(json.dumps(state))

    def transcript(self, repo: Path, session_id: str) -> Path:
        slug = "".join("-" if c in "/_." else c for c in str(repo))
        return self.config_dir / "projects" / slug / f"{session_id}.jsonl"

    def print_mode(
        self,
        server: FakeServer,
        repo: Path,
        prompt: str,
        *,
        session_id: str | None = None,
        tools: bool = True,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        timeout: float = 180,
    ) -> ClaudeRun:
        """`claude -p PROMPT --output-format stream-json --verbose` (with `--allowedTools Bash` when TOOLS)."""
        argv = [str(self.binary), "-p", prompt, "--output-format", "stream-json", "--verbose"]
        argv += ["--session-id", session_id or str(uuid.uuid4())]
        if tools:
            argv += ["--allowedTools", "Bash"]
        completed = server.run([*argv, *args], env=self.env(server, env), cwd=repo, timeout=timeout)
        events = []
        for line in completed.stdout.splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return ClaudeRun(completed, events)


# Codex ---------------------------------------------------------------------------------------------------------

CODEX_CONFIG = """\
model = "gpt-5.5"
model_provider = "fake"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false
{notify}
[features]
hooks = true
# Otherwise it tries to reach a plugin repository on the internet.
plugins = false

[analytics]
enabled = false

[model_providers.fake]
name = "fake"
base_url = "{base_url}/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
{projects}"""


@dataclass
class CodexRun:
    completed: Any

    @property
    def answer(self) -> str:
        return str(self.completed.stdout).strip()


class Codex:
    """Codex 0.171.0 with CODEX_HOME = HOME/.codex (HOME given: usually the test's hermetic HOME)."""

    def __init__(self, home: Path) -> None:
        self.binary = install.install(install.CODEX)
        self.home = home
        self.codex_home = home / ".codex"
        self.codex_home.mkdir(parents=True, exist_ok=True)

    def configure(self, server: FakeServer, trusted: Sequence[Path] = (), notify: Sequence[str] = ()) -> None:
        """Write config.toml: the fake provider, no sandbox, no approvals, TRUSTED repositories (their own
        `.codex/` hooks and config load only then), the legacy NOTIFY program when given."""
        projects = "".join(f'\n[projects."{p}"]\ntrust_level = "trusted"\n' for p in trusted)
        notify_line = f"notify = {json.dumps(list(notify))}" if notify else ""
        text = CODEX_CONFIG.format(base_url=server.base_url, projects=projects, notify=notify_line)
        (self.codex_home / "config.toml").write_text(text)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        settings = {"CODEX_HOME": str(self.codex_home), "OPENAI_API_KEY": API_KEY}
        return client_env(self.home, {**settings, **(extra or {})})

    def exec(
        self,
        server: FakeServer,
        repo: Path,
        prompt: str,
        *,
        resume: str | None = None,
        bypass_hook_trust: bool = True,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        timeout: float = 180,
    ) -> CodexRun:
        """`codex exec [resume SESSION] [--dangerously-bypass-hook-trust] PROMPT` in REPO."""
        argv = [str(self.binary), "exec"]
        if resume is not None:
            argv += ["resume"]
        if bypass_hook_trust:
            argv += ["--dangerously-bypass-hook-trust"]
        argv += [*args, *([resume] if resume is not None else []), prompt]
        return CodexRun(server.run(argv, env=self.env(env), cwd=repo, timeout=timeout))

    def rollouts(self) -> list[Path]:
        return sorted((self.codex_home / "sessions").glob("*/*/*/rollout-*.jsonl"))

    @staticmethod
    def session_of(rollout: Path) -> str:
        """The session (thread) id a rollout file name ends with."""
        return rollout.stem[-36:]

    @staticmethod
    def rate_limits(rollout: Path) -> list[dict[str, Any] | None]:
        """The `rate_limits` of every `token_count` event in a rollout, in order."""
        found = []
        for line in rollout.read_text().splitlines():
            entry = json.loads(line)
            payload = entry.get("payload") or {}
            if entry.get("type") == "event_msg" and payload.get("type") == "token_count":
                found.append(payload.get("rate_limits"))
        return found
