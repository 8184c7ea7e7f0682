"""The real ccusage from npm, for cross-checks (tests) and baselines (bench).

ccusage 20 ships a native binary per platform; 20.0.24 is the newest version whose linux-x64 binary is
on the npm registry (20.0.26's is not), so that is the version pinned here. ccusage 18 is plain
JavaScript on Node. Both are installed once with npm into ``.cache/`` in the repository (ignored by git),
or taken from ``GIT_TRACKER_CCUSAGE`` / ``GIT_TRACKER_CCUSAGE18`` when set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NATIVE_VERSION = "20.0.24"
NODE_VERSION = "18.0.11"


class Unavailable(Exception):
    """npm or node is not installed: the cross-check cannot run on this machine."""


def _install(version: str) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm is not installed (the cross-check runs the real ccusage from npm)")
    prefix = ROOT / ".cache" / f"ccusage-{version}"
    package = prefix / "node_modules" / "ccusage"
    if not package.is_dir():
        prefix.mkdir(parents=True, exist_ok=True)
        cache = Path(os.environ.get("NPM_CONFIG_CACHE") or ROOT / ".cache" / "npm")
        subprocess.run(
            [
                npm,
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(prefix),
                "--cache",
                str(cache),
                f"ccusage@{version}",
            ],
            check=True,
            capture_output=True,
        )
    return prefix


def native() -> list[str]:
    """The command for ccusage 20 (the native binary)."""
    given = os.environ.get("GIT_TRACKER_CCUSAGE")
    if given:
        return [given]
    prefix = _install(NATIVE_VERSION)
    binaries = list((prefix / "node_modules" / "@ccusage").glob("ccusage-*/bin/ccusage"))
    if not binaries:
        raise Unavailable(f"ccusage {NATIVE_VERSION} has no native binary for this platform on npm")
    binary = binaries[0]
    # npm unpacks the platform package without running ccusage's launcher, which would set the mode.
    binary.chmod(binary.stat().st_mode | 0o111)
    return [str(binary)]


def on_node() -> list[str]:
    """The command for ccusage 18 (JavaScript on Node)."""
    given = os.environ.get("GIT_TRACKER_CCUSAGE18")
    if given:
        return [given]
    node = shutil.which("node")
    if node is None:
        raise Unavailable("node is not installed")
    prefix = _install(NODE_VERSION)
    return [node, str(prefix / "node_modules" / "ccusage" / "dist" / "index.js")]
