"""Shared places as a farm meets them: a folder mounted read-only (a published model cache, a locked delivery
folder) and a folder that another user owns. Both need root here (a bind mount, a chown); as another user a
read-only folder is made with chmod instead, and tests that need another owner skip with the reason."""

from __future__ import annotations

import contextlib
import os
import subprocess

import pytest

NOBODY = 65534


@contextlib.contextmanager
def read_only(path: str):
    """``path`` read-only while the block runs: a read-only bind mount as root (whom mode bits do not stop), chmod
    a-w otherwise."""
    path = os.path.abspath(path)
    if os.geteuid() != 0:
        modes = {}
        for root, dirs, files in os.walk(path):
            for p in [root] + [os.path.join(root, n) for n in files]:
                modes[p] = os.stat(p).st_mode & 0o7777
                os.chmod(p, modes[p] & ~0o222)
        try:
            yield path
        finally:
            for p, mode in modes.items():
                os.chmod(p, mode)
        return
    bind = subprocess.run(["mount", "--bind", path, path], capture_output=True, text=True)
    if bind.returncode != 0:
        pytest.skip(f"cannot bind-mount {path} read-only here: {bind.stderr.strip()}")
    try:
        ro = subprocess.run(["mount", "-o", "remount,ro,bind", path], capture_output=True, text=True)
        if ro.returncode != 0:
            pytest.skip(f"cannot remount {path} read-only here: {ro.stderr.strip()}")
        yield path
    finally:
        subprocess.run(["umount", path], check=True)


def give_to_another_user(path: str) -> None:
    """Make ``path`` another user's (uid 65534), as if that user had created it first."""
    if os.geteuid() != 0:
        pytest.skip("giving a folder to another uid needs root")
    os.lchown(path, NOBODY, NOBODY)
