"""Training frames: held in memory for a short shot, streamed from a memory-mapped file for a long one."""

import os

import numpy as np
import torch

from tests.conftest import tiny_settings
from vsae.core.demo.procedural import WavesSequence
from vsae.core.training.frames import load_training_frames, streams
from vsae.core.training.trainer import train


def _anonymous_mib() -> float:
    """Resident anonymous memory of this process (not file pages a memory map reads in), MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no RssAnon in /proc/self/status")


def test_a_streamed_shot_trains_the_same_weights_as_a_held_one(tmp_path):
    for width, padded in ((64, False), (80, True)):  # 80 wide is padded to 128: the padded copy is a file too
        shot = WavesSequence(16, width=width)
        held = load_training_frames(shot)
        streamed = load_training_frames(shot, store=str(tmp_path / f"frames{width}.npy"))
        assert isinstance(streamed, np.memmap) and np.array_equal(held, streamed)
        a, b = train(held, tiny_settings(steps=6)), train(streamed, tiny_settings(steps=6))
        assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
        assert os.path.exists(tmp_path / f"frames{width}-padded.npy") == padded


def test_fifteen_thousand_frames_train_without_holding_the_shot(tmp_path, monkeypatch):
    """15,000 frames of 64x64 are 350 MiB in float16 (held, twice that with the trainer's padded copy); streamed,
    loading and training them grows this process's anonymous memory by a small part of that."""
    if not os.path.exists("/proc/self/status"):
        import pytest

        pytest.skip("needs Linux's /proc to read anonymous memory")
    shot = WavesSequence(15_000)
    monkeypatch.setenv("VSAE_TRAIN_HOLD_MB", "64")
    assert streams(shot) and not streams(WavesSequence(100))
    before = _anonymous_mib()
    frames = load_training_frames(shot, store=str(tmp_path / "frames.npy"))
    result = train(frames, tiny_settings(steps=4, batch=2))
    grown = _anonymous_mib() - before
    assert frames.shape == (15_000, 64, 64, 3) and result.metrics["steps"] == 4
    assert grown < 120, f"anonymous memory grew {grown:.0f} MiB"
