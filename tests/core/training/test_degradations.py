"""Robust training: inputs degraded as the nodes degrade what they hand the model, clean frames as targets."""

import numpy as np
import pytest
import torch

from tests.conftest import tiny_settings
from vsae.core import colour
from vsae.core.training.degradations import downscaled, holes_filled, neighbour_prediction, random_holes
from vsae.core.demo.procedural import ProceduralShot
from vsae.core.settings import ModelConfig
from vsae.core.model.shot_model import ShotModel
from vsae.core.training.trainer import _Sampler, prepare_frames, train
from vsae.core.ops.upres import reproject, resize
from vsae.errors import ParameterError


@pytest.fixture(scope="module")
def shot():
    shot = ProceduralShot(width=128, height=64, frames=24, seed=2)
    frames = np.stack([colour.to_working(shot.render(float(t))[0]) for t in range(24)]).astype(np.float32)
    return frames


def test_each_degradation_is_the_first_guess_of_its_node(shot):
    x = shot[4]
    up = downscaled(x, 8)  # Upres: the detail is gone, the low frequencies stay
    assert np.abs(up - x).mean() > 0.01
    assert np.abs(resize(up, (16, 8)) - resize(x, (16, 8))).mean() < 0.02
    hole = random_holes(np.random.default_rng(0), 64, 128)
    filled = holes_filled(x, hole)  # Clean Plate: only the hole changes
    assert np.array_equal(filled[~hole], x[~hole]) and np.abs(filled[hole] - x[hole]).mean() > 0.0
    predicted = neighbour_prediction(shot[3:6], 1)  # Retime: the middle frame from its two neighbours
    assert np.abs(predicted - shot[4]).mean() < np.abs(0.5 * (shot[3] + shot[5]) - shot[4]).mean()


def test_degraded_inputs_keep_clean_targets(shot):
    settings = tiny_settings(degrade=1.0, degrade_kinds=("upres", "holes", "retime"), crop=64)
    data = prepare_frames(shot)
    sampler = _Sampler(data, settings, np.random.default_rng(0))
    for step in range(4):
        inputs, targets, _ = sampler.batch(step)
        assert inputs.shape == targets.shape and not torch.equal(inputs, targets)
        # Every target is an exact crop of a clean frame.
        for t in targets:
            assert any(torch.equal(t, data[i, :, y:y + t.shape[1], x:x + t.shape[2]].float())
                       for i in range(len(data)) for y in range(0, 64 - t.shape[1] + 1, 64)
                       for x in range(0, 128 - t.shape[2] + 1, 64))


def test_unknown_degradations_are_refused():
    with pytest.raises(ParameterError, match="--degrade-kinds"):
        tiny_settings(degrade=0.5, degrade_kinds=("upres", "snow"))
    with pytest.raises(ParameterError, match="--degrade 1.5"):
        tiny_settings(degrade=1.5)


def _psnr_from_degraded(state, frames, factor=4):
    """PSNR of one reprojection of ``frames`` downscaled by ``factor`` and brought back up, against the frames."""
    model = ShotModel(ModelConfig(k=8), state, backend="torch")
    scores = []
    for x in frames:
        out = reproject(model, downscaled(x, factor), iterations=1)
        scores.append(10 * np.log10(4.0 / np.mean((out - x) ** 2)))
    return float(np.mean(scores))


def test_training_on_upres_inputs_improves_upres_on_frames_never_seen(shot):
    settings = dict(k=8, steps=400, crop=None, batch=2)
    trained = shot[0::2].astype(np.float16)
    clean = train(trained, tiny_settings(**settings))
    robust = train(trained, tiny_settings(**settings, degrade=0.5, degrade_kinds=("upres",)))
    # Upres's reprojection of a 4x-upscaled frame, on the odd frames neither model saw (session 7: +0.9 dB).
    held_out = shot[1::2]
    assert _psnr_from_degraded(robust.state_dict, held_out) > _psnr_from_degraded(clean.state_dict, held_out) + 0.4
