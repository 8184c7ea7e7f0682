"""Real mounts for the tests of full and read-only disks: a small tmpfs, a read-only bind mount.

Mounting needs root. As root the test mounts directly; otherwise it runs itself again inside
``unshare -rm`` (a user and mount namespace in which it is root), so it never has to be skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest


def run_as_root_elsewhere(request: pytest.FixtureRequest) -> bool:
    """Mounting needs root: when not root, run this very test inside `unshare -rm` (a user and mount
    namespace where it is root) and report that run's result. True when it ran there."""
    if os.geteuid() == 0:
        return False
    if shutil.which("unshare") is None:
        pytest.fail("this test mounts a tmpfs: it needs root or `unshare -rm` (util-linux)")
    done = subprocess.run(
        ["unshare", "-rm", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", request.node.nodeid],
        capture_output=True,
        text=True,
        cwd=request.config.rootpath,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return True


@contextlib.contextmanager
def mounted(*args: str) -> Iterator[None]:
    target = args[-1]
    subprocess.run(["mount", *args], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", target], check=False, capture_output=True)
