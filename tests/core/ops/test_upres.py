"""core.ops.upres: the pieces of reprojection upscaling, with a stand-in model."""

import numpy as np

from tests.standins import BlurModel
from vsae.core.ops.upres import default_iterations, keep_low_frequencies, reproject, resize, tile_origins


def test_default_iterations_grow_with_the_factor():
    assert [default_iterations(f) for f in (2, 4, 8, 16)] == [2, 3, 4, 5]


def test_detail_preserve_keeps_the_input_low_band():
    import cv2

    rng = np.random.default_rng(0)
    low = cv2.GaussianBlur(rng.random((16, 32, 3)).astype(np.float32), (5, 5), 1.0) * 0.5  # image-like, not noise
    out = rng.random((64, 128, 3)).astype(np.float32) * 0.5
    kept = keep_low_frequencies(out, low)
    before = np.abs(resize(out, (32, 16)) - low).max()
    after = np.abs(resize(kept, (32, 16)) - low).max()
    assert after < 0.02 < before


def test_tiles_cover_the_frame_and_agree_with_one_pass_away_from_seams():
    assert tile_origins(300, 128, 64) == [0, 64, 128, 172]
    x = np.random.default_rng(1).random((200, 300, 3)).astype(np.float32)
    whole = reproject(BlurModel(3), x, 2)
    tiled = reproject(BlurModel(3), x, 2, tile=128, overlap=32)
    # Only the pixels next to a tile's own edge differ (the blur sees the edge there), and the ramps weigh them little.
    assert np.abs(whole - tiled).max() < 0.01


def test_upres_operation_upsamples_colour_and_alpha_and_asks_for_the_model_only_to_reproject():
    import pytest

    from vsae.core.ops.upres import UpresOptions, upres
    from vsae.errors import ParameterError

    rng = np.random.default_rng(2)
    low = rng.uniform(-0.5, 0.5, (16, 24, 3)).astype(np.float32)
    alpha = np.ones((16, 24, 1), np.float32)
    out, matte = upres(low, (96, 64), lambda: pytest.fail("model asked for"), UpresOptions(iterations=0), alpha)
    assert out.shape == (64, 96, 3) and np.array_equal(out, resize(low, (96, 64))) and np.allclose(matte, 1.0)
    kept, _ = upres(low, (96, 64), lambda: BlurModel(3))  # 4x: three reprojections, the input's low band kept
    assert np.abs(resize(kept, (24, 16)) - low).max() < 0.05
    with pytest.raises(ParameterError, match="smaller than the input"):
        upres(low, (12, 8), lambda: BlurModel(3))


def test_back_projection_in_place_gives_the_values_of_a_copy_and_leaves_a_borrowed_frame_alone():
    rng = np.random.default_rng(2)
    low = rng.random((16, 32, 3)).astype(np.float32)
    out = rng.random((64, 128, 3)).astype(np.float32)
    before = out.copy()
    copied = keep_low_frequencies(out, low, steps=2)
    assert np.array_equal(out, before)  # borrowed: untouched
    handed_over = keep_low_frequencies(out, low, steps=2, in_place=True)
    assert handed_over is out and np.array_equal(handed_over, copied)
    strided = np.ascontiguousarray(before.transpose(2, 0, 1)).transpose(1, 2, 0)  # a model's layout: copied first
    assert np.array_equal(keep_low_frequencies(strided, low, steps=2, in_place=True), copied)
    assert np.array_equal(strided, before)


def test_back_projection_gives_the_plain_formula_bit_for_bit():
    # out += up(low - down(out)) in numpy, as first written: OpenCV's float32 add and subtract must give its values
    rng = np.random.default_rng(5)
    low = rng.uniform(-1, 1, (27, 48, 3)).astype(np.float32)
    out = rng.uniform(-1, 1, (54, 96, 3)).astype(np.float32)
    # a denormal, a signed zero, values near the float32 limit
    out[0, :4] = np.array([1e-39, -0.0, 3e38, -3e38], np.float32)[:, None]
    plain = out.copy()
    for _ in range(3):
        plain += resize(low - resize(plain, (48, 27)), (96, 54), "bicubic")
    assert np.array_equal(keep_low_frequencies(out, low, steps=3).view(np.uint32), plain.view(np.uint32))
    wide = low.astype(np.float64)  # another dtype: numpy's promotion, as before
    plain = out.copy()
    plain += resize(wide - resize(out, (48, 27)), (96, 54), "bicubic")
    assert np.array_equal(keep_low_frequencies(out, wide, steps=1), plain)
