"""A network namespace with only loopback, a fake model server inside it, and the real clients run inside it too.

The server is the namespace's first process (`unshare -rn python fakeserver.py --loopback-up …`), so the
namespace lives exactly as long as the server; every client command enters it with `nsenter`. Each namespace has
its own loopback, so every server listens on the same port and two namespaces never collide. A client that tries
the internet fails at once instead of reaching out.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FAKE_SERVER = HERE / "fakeserver.py"
DUMP_HOOK = HERE / "dumphook.py"
PORT = 18080
# Passed from the test's (hermetic) environment into every client: identity, dates and config isolation for the
# git the agent's tools run, the pinned clock of git-tracker, the time zone.
PASSED_THROUGH_PREFIXES = ("GIT_",)
PASSED_THROUGH = ("TZ", "XDG_CONFIG_HOME", "AGENT_ID")


class NamespaceUnavailable(Exception):
    """This machine cannot make an unprivileged network namespace (no unshare/nsenter, or user namespaces off)."""


def namespace_problem() -> str | None:
    """Why network namespaces cannot be used here, or None when they can."""
    for tool in ("unshare", "nsenter"):
        if shutil.which(tool) is None:
            return f"{tool} (util-linux) is not installed"
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"unshare -rn fails here: {probe.stderr.strip()}"
    return None


def client_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment for a client: this venv's scripts first on PATH (so `git-tracker` is found), HOME, and
    the test's GIT_*, TZ and AGENT_ID settings; nothing else from the test process leaks in."""
    path = [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
    env = {"PATH": os.pathsep.join(path), "HOME": str(home), "LANG": "C.UTF-8"}
    for key, value in os.environ.items():
        if key.startswith(PASSED_THROUGH_PREFIXES) or key in PASSED_THROUGH:
            env[key] = value
    env.update(extra or {})
    return env


def dump_command(folder: Path, name: str) -> str:
    """A shell command line for a hook or status line that records what it gets into FOLDER (see dumphook.py)."""
    return shlex.join([sys.executable, str(DUMP_HOOK), str(folder), name])


def dumps(folder: Path, name: str | None = None) -> list[dict[str, Any]]:
    """What dump_command recorded, oldest first; each entry's stdin parsed as JSON when it is JSON."""
    found = []
    for path in sorted(folder.glob("*.json"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
        record = json.loads(path.read_text())
        if name is not None and record["name"] != name:
            continue
        try:
            record["payload"] = json.loads(record["stdin"])
        except ValueError:
            record["payload"] = None
        found.append(record)
    return found


class FakeServer:
    """A fake model server in its own network namespace; `run` executes a command inside that namespace.

    kind "anthropic" serves the Messages API (claude), "openai" the Responses API (codex). `configure` rewrites the
    configuration the server reads at every request (see fakeserver.py): headers, usage, answer text.
    """

    def __init__(self, kind: str, folder: Path, config: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.config_path = folder / "server-config.json"
        self.log_path = folder / "requests.jsonl"
        self.ready_path = folder / "server-ready"
        self.configure(**(config or {}))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{PORT}"

    def configure(self, **config: Any) -> None:
        self.config_path.write_text(json.dumps(config))

    def start(self) -> FakeServer:
        problem = namespace_problem()
        if problem is not None:
            raise NamespaceUnavailable(problem)
        self.ready_path.unlink(missing_ok=True)
        command = [sys.executable, str(FAKE_SERVER), "--kind", self.kind, "--port", str(PORT), "--loopback-up"]
        command += ["--config", str(self.config_path), "--log", str(self.log_path), "--ready", str(self.ready_path)]
        # unshare execs its command without forking, so this process is the server and holds the namespace.
        self.process = subprocess.Popen(["unshare", "-rn", *command], stderr=(self.folder / "server.err").open("wb"))
        deadline = time.monotonic() + 15
        while not self.ready_path.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"fake server did not start: {(self.folder / 'server.err').read_text()}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> FakeServer:
        return self if self.process is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enter(self) -> list[str]:
        """The command prefix that runs a program inside the server's namespace."""
        if self.process is None:
            raise RuntimeError("the fake server is not running")
        return ["nsenter", "-t", str(self.process.pid), "-U", "-n", "--preserve-credentials", "--"]

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        timeout: float = 180,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.enter(), *argv],
            env=dict(env),
            cwd=cwd,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def popen(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*self.enter(), *argv],
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """Every request the server got, in order (only those to PATH, query string ignored, when given)."""
        if not self.log_path.exists():
            return []
        entries = [json.loads(line) for line in self.log_path.read_text().splitlines() if line]
        return [e for e in entries if path is None or e["path"].split("?")[0] == path]


class Tmux:
    """An interactive program in a tmux session whose server lives inside the fake server's namespace."""

    def __init__(self, server: FakeServer, folder: Path, width: int = 160, height: int = 45) -> None:
        self.server = server
        self.socket = folder / "tmux.sock"
        self.folder = folder
        self.size = (width, height)

    def _tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = ["tmux", "-S", str(self.socket), *args]
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)

    def start(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> None:
        """Start ARGV in a detached session, with exactly ENV (the tmux server's own environment stays out)."""
        launcher = self.folder / "launch.sh"
        assignments = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
        launcher.write_text(f"cd {shlex.quote(str(cwd))} && exec env -i {assignments} {shlex.join(argv)}\n")
        width, height = self.size
        command = [*self.server.enter(), "tmux", "-S", str(self.socket), "-f", "/dev/null", "new-session", "-d"]
        command += ["-x", str(width), "-y", str(height), f"sh {shlex.quote(str(launcher))}"]
        subprocess.run(command, check=True, capture_output=True, timeout=30, env={"PATH": os.environ["PATH"]})

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p").stdout

    def alive(self) -> bool:
        return self._tmux("has-session").returncode == 0

    def type(self, text: str) -> None:
        """Type TEXT, then press Enter on its own (a pasted newline would not submit)."""
        self._tmux("send-keys", "-l", text)
        time.sleep(0.3)
        self._tmux("send-keys", "Enter")

    def wait_for(self, condition: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{self.screen()}")
            time.sleep(0.1)

    def close(self) -> None:
        self._tmux("kill-server")
