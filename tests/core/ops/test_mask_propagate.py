"""Pixel-code matching and the J/F measures."""

import numpy as np
import pytest

from vsae.core.ops.mask_propagate import (Propagation, PropagationSettings, boundary_f, jaccard, propagate_step,
                                          refine_matte)
from vsae.errors import ParameterError


def _codes(h, w, d=8, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(h, w, d)).astype(np.float32)
    return c / np.linalg.norm(c, axis=2, keepdims=True)


def test_a_matte_follows_distinct_codes_that_move():
    codes = _codes(24, 40)
    matte = np.zeros((24, 40), np.float32)
    matte[6:14, 10:22] = 1
    moved_codes, moved_matte = np.roll(codes, (2, 3), axis=(0, 1)), np.roll(matte, (2, 3), axis=(0, 1))
    settings = PropagationSettings(radius=4, topk=1)
    for kw in ({"refs": [(codes, matte)]}, {"refs": [], "global_refs": [(codes, matte)]}):
        out = propagate_step(moved_codes, settings=settings, **kw)
        assert np.array_equal(out[2:, 3:], moved_matte[2:, 3:])  # rows/columns rolled in from the edge excepted


def test_propagation_chains_forward_and_backward_from_keys():
    frames = list(range(1001, 1006))
    base = _codes(16, 24, seed=1)
    matte = np.zeros((16, 24), np.float32)
    matte[4:10, 4:10] = 1
    shifted = {f: np.roll(base, f - 1001, axis=1) for f in frames}
    prop = Propagation(lambda f: shifted[f], frames, {1003: np.roll(matte, 2, axis=1)},
                       PropagationSettings(radius=3, topk=1, dims=8))
    for f in frames:
        assert jaccard(prop.grid_matte(f), np.roll(matte, f - 1001, axis=1)) == 1.0
    with pytest.raises(ParameterError, match="key frame 999: not a frame"):
        Propagation(lambda f: base, frames, {999: matte})


def test_jaccard_and_boundary_f():
    a = np.zeros((100, 100), np.float32)
    a[20:60, 20:60] = 1
    assert jaccard(a, a) == 1.0 and boundary_f(a, a) == 1.0
    b = np.roll(a, 20, axis=1)
    assert jaccard(a, b) == pytest.approx(1 / 3) and boundary_f(a, b) < 0.6
    assert boundary_f(a, np.roll(a, 1, axis=1)) == 1.0  # within the tolerance (0.008 of the diagonal ~ 2 px)


def test_refine_snaps_a_blurry_misplaced_matte_to_the_image_edge():
    import cv2

    image = np.full((60, 60, 3), -0.5, np.float32)
    image[:, 30:] = 0.5
    truth = (image[:, :, 0] > 0).astype(np.float32)
    coarse = cv2.GaussianBlur(np.roll(truth, 3, axis=1), (0, 0), 2)  # 3 pixels off and soft, as from a coarse grid
    assert jaccard(coarse, truth) < 0.85 and jaccard(refine_matte(coarse, image, radius=8), truth) == 1.0


def test_mask_propagation_follows_a_moving_square_and_asks_for_the_model_only_off_the_keys():
    """The node's whole operation on a shot of a bright square moving right over a dark textured ground: keyed on
    the first frame, the matte follows the square; the key frame hands back its own matte without a model."""
    import torch

    from vsae.core.ops.mask_propagate import MaskPropagateOptions, MaskPropagation
    from vsae.core.model.autoencoder import ModelConfig, ShotAutoencoder
    from vsae.core.model.shot_model import ShotModel

    rng = np.random.default_rng(0)
    ground = rng.uniform(0.02, 0.1, (64, 96, 3)).astype(np.float32)
    frames, truth = {}, {}
    for i, f in enumerate(range(1001, 1005)):
        matte = np.zeros((64, 96), np.float32)
        matte[20:40, 10 + 6 * i:30 + 6 * i] = 1
        frames[f] = np.where(matte[:, :, None] > 0, np.float32(0.9), ground)
        truth[f] = matte
    torch.manual_seed(0)
    model = ShotModel(ModelConfig(k=8), ShotAutoencoder(ModelConfig(k=8)).state_dict(), backend="torch")
    asked = []

    def shot_model():
        asked.append(1)
        return model

    options = MaskPropagateOptions(PropagationSettings(stride=4, radius=6), working_size=48)  # codes at half size
    prop = MaskPropagation(frames.__getitem__, list(frames), {1001: truth[1001]}, shot_model, options)
    assert prop.matte(1001) is prop.keys[1001] and not asked
    for f in (1002, 1003, 1004):
        matte = prop.matte(f)
        assert matte.shape == (64, 96) and jaccard(matte, truth[f]) > 0.8, f
    assert len(asked) == 1
    with pytest.raises(ParameterError, match="key frame 999"):
        MaskPropagation(frames.__getitem__, list(frames), {999: truth[1001]}, shot_model, options)
