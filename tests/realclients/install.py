"""The pinned real `claude` and `codex` programs from npm, installed once into an ignored cache folder.

The folder is `.cache/real-clients/` in the repository (ignored by git), or the one `REAL_CLIENTS_DIR` names
(not GIT_*: the tests' hermetic fixture clears those). Tests locate the binaries by path: their hermetic fixture
changes HOME, so nothing is looked up there. `.ci/run` fills the folder with
`python -m tests.realclients.install`; a test that finds a client missing installs it the same way, and when that
cannot work (no npm, no registry) require.py fails or skips it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALL_HINT = "python -m tests.realclients.install (needs npm and the npm registry)"


@dataclass(frozen=True)
class Client:
    """One pinned npm package and where its native binary lands inside the package folder."""

    name: str
    package: str
    version: str
    binary_glob: str

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"


CLAUDE = Client(
    "claude-code",
    "@anthropic-ai/claude-code",
    "2.1.332",
    # The native binary is the platform package's; the main package's postinstall only links it to bin/claude.exe.
    "node_modules/@anthropic-ai/claude-code-linux-*/claude",
)
CODEX = Client(
    "codex",
    "@openai/codex",
    "0.171.0",
    "node_modules/@openai/codex-linux-*/vendor/*/bin/codex",
)
CLIENTS = (CLAUDE, CODEX)


class Unavailable(Exception):
    """The client is not installed and cannot be installed here."""


def cache_dir() -> Path:
    given = os.environ.get("REAL_CLIENTS_DIR")
    return Path(given) if given else ROOT / ".cache" / "real-clients"


def prefix(client: Client) -> Path:
    return cache_dir() / f"{client.name}-{client.version}"


def installed(client: Client) -> Path | None:
    """The client's binary when it is already in the cache."""
    found = sorted(prefix(client).glob(client.binary_glob))
    return found[0] if found else None


def install(client: Client) -> Path:
    """The client's binary, installing the pinned version with npm first when it is missing."""
    binary = installed(client)
    if binary is not None:
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable(f"{client.spec} is not installed and npm is missing; install it with {INSTALL_HINT}")
    target = prefix(client)
    npm_cache = Path(os.environ.get("NPM_CONFIG_CACHE") or ROOT / ".cache" / "npm")
    command = [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(target)]
    try:
        target.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [*command, "--cache", str(npm_cache), client.spec], capture_output=True, text=True, check=False
        )
    except OSError as error:
        why = f"cannot install {client.spec} into {target} ({error})"
        raise Unavailable(f"{why}; install it with {INSTALL_HINT}") from error
    binary = installed(client)
    if done.returncode != 0 or binary is None:
        why = (done.stderr.strip().splitlines() or ["no binary for this platform"])[-1]
        raise Unavailable(f"npm could not install {client.spec} ({why}); install it with {INSTALL_HINT}")
    binary.chmod(binary.stat().st_mode | 0o111)
    return binary


def main() -> int:
    for client in CLIENTS:
        try:
            binary = install(client)
        except Unavailable as error:
            print(error, file=sys.stderr)
            return 1
        version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
        print(f"{client.spec}: {binary} ({version.stdout.strip() or version.stderr.strip()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
