"""Shared fixtures: a tiny procedural shot on disk and an isolated model cache."""

from __future__ import annotations

import os

import pytest

# Tiny settings keep every training in the suite to a second or two on 2 cores.
TINY = dict(arch="fast", k=4, budget_s=None, steps=12, batch=2, crop=64, checkpoint_every_s=3600)
# The same tiny model as command-line options (what a farm job passes to `vsae train` and the nodes).
TINY_OPTIONS = ["--steps", str(TINY["steps"]), "--k", str(TINY["k"]), "--batch", str(TINY["batch"]), "--crop",
                str(TINY["crop"])]


@pytest.fixture(scope="session")
def tiny_shot(tmp_path_factory):
    """Patterns of a 12-frame 128x64 procedural shot (plates EXR half, masks PNG, true in-betweens)."""
    from vsae.core.demo.procedural import ProceduralShot

    folder = tmp_path_factory.mktemp("shot")
    return ProceduralShot(width=128, height=64, frames=12).write(str(folder))


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("VSAE_CACHE", str(path))
    return str(path)


def tiny_settings(**overrides):
    from vsae.core.settings import TrainSettings

    return TrainSettings(**{**TINY, **overrides})


def pytest_configure(config):
    os.environ.setdefault("OMP_NUM_THREADS", "2")
