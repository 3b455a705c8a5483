"""Canvas edits: padding, held areas, stitching and the seam measure."""

import numpy as np
import pytest

from tests.standins import BlurModel
from vsae.core.ops.canvas import extend_seams, pad_canvas, reproject_canvas, seam_energy, seam_keep, stitch_canvas
from vsae.errors import ParameterError


def _texture(h, w, seed):
    import cv2

    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (5, 5), 1.5) - 0.5


def test_padding_modes_and_the_original_area():
    x = np.arange(2 * 3 * 1, dtype=np.float32).reshape(2, 3, 1)
    mirror, original = pad_canvas(x, 2, 1, 1, 0, "mirror")
    assert mirror.shape == (3, 6, 1) and original.sum() == 6 and (mirror[original] == x.reshape(-1, 1)).all()
    assert mirror[1, :2, 0].tolist() == [1.0, 0.0]  # reflected: the column next to the edge repeats
    zero, _ = pad_canvas(x, 1, 1, 1, 1, "zero")
    assert zero[0].max() == 0
    big, _ = pad_canvas(x, 7, 7, 0, 0, "mirror")  # wider than the frame: reflects again
    assert big.shape == (2, 17, 1)
    with pytest.raises(ParameterError, match="padding 'wrap'"):
        pad_canvas(x, 1, 1, 1, 1, "wrap")


def test_reproject_canvas_holds_the_kept_area_exactly():
    canvas, original = pad_canvas(_texture(32, 48, 0) + 0.8, 16, 16, 8, 8, "zero")
    out = reproject_canvas(BlurModel(9), canvas, 3, keep=original.astype(np.float32))
    assert (out[original] == canvas[original]).all()
    assert np.abs(out[4:8, 20:60]).mean() > 0.05  # the zero border next to the picture took it on
    assert extend_seams(original) == ([16, 64], [8, 40])


def test_stitch_canvas_and_seam_band():
    a, b = _texture(32, 40, 1), _texture(32, 40, 2) + 0.6  # a hard step at the seam
    canvas, seams = stitch_canvas([a, b], "row")
    assert canvas.shape == (32, 80, 3) and seams == [40]
    keep = seam_keep(canvas.shape[:2], seams, "row", band=4)
    assert keep[:, 36:44].max() == 0 and keep[:, :30].min() == 1 and 0 < keep[0, 46] < 1
    before = seam_energy(canvas, seams)
    after = seam_energy(reproject_canvas(BlurModel(9), canvas, 2, keep), seams)
    assert before > 3 and after < before / 2
    with pytest.raises(ParameterError, match="frames differ in size"):
        stitch_canvas([a, b[:16]])
    column, seams = stitch_canvas([a, b, a], "column")
    assert column.shape == (96, 40, 3) and seams == [32, 64]


def test_match_held_area_removes_the_step_at_the_held_border():
    from vsae.core.ops.canvas import match_held_area

    canvas, original = pad_canvas(_texture(48, 64, 3), 32, 32, 0, 0, "mirror")
    model_view = canvas + 0.3  # the model's picture sits 0.3 off the original everywhere
    held = np.where(original[:, :, None], canvas, model_view)
    matched = match_held_area(model_view, canvas, original)
    assert (matched[original] == canvas[original]).all()
    assert seam_energy(matched, [32, 96]) < 0.5 * seam_energy(held, [32, 96])
    assert np.abs(matched[:, 31] - canvas[:, 32]).mean() < 0.1  # the two sides meet


def test_the_canvas_operations_ask_for_the_model_only_when_they_reproject():
    from vsae.core.ops.canvas import ExtendOptions, extend, stitch, stretch

    x = np.random.default_rng(0).uniform(-0.5, 0.5, (32, 48, 3)).astype(np.float32)

    def no_model():
        raise AssertionError("model asked for")

    canvas, out, original = extend(x, (8, 8, 4, 4), no_model, ExtendOptions(iterations=0))
    assert out.shape == (40, 64, 3) and np.array_equal(out, canvas)
    assert np.array_equal(canvas[original].reshape(x.shape), x)
    before, after = stitch([x, x[::-1]], no_model, iterations=0)
    assert before.shape == (32, 96, 3) and np.array_equal(before, after)
    before, after = stretch(x, (96, 32), no_model, iterations=0)
    assert after.shape == (32, 96, 3)
    canvas, out, original = extend(x, (8, 8, 4, 4), lambda: BlurModel(5), ExtendOptions(iterations=2))
    assert not np.allclose(out[~original], canvas[~original])  # the new area was reprojected


def test_held_area_blends_are_the_plain_formulas_exactly():
    """The held blend and match_held_area against their formulas written with broadcasts, bit for bit."""
    import cv2

    from vsae.core.model.inference import reproject_image
    from vsae.core.ops.canvas import match_held_area

    canvas, original = pad_canvas(_texture(40, 56, 4), 24, 8, 6, 0, "mirror")
    model = BlurModel(5)
    keep = seam_keep(canvas.shape[:2], [40], "row", 6)  # soft: 0, ramps and 1
    x = canvas.copy()
    for _ in range(2):
        k = keep[:, :, None]
        x = np.where(k >= 1, canvas, reproject_image(model, x) * (1 - k) + canvas * k).astype(np.float32)
    assert np.array_equal(reproject_canvas(model, canvas, 2, keep), x)

    out = canvas + np.float32(0.2) * _texture(*canvas.shape[:2], 5)
    mask = original.astype(np.float32)
    num = cv2.GaussianBlur((canvas - out) * mask[:, :, None], (0, 0), 12.0)
    den = cv2.GaussianBlur(mask, (0, 0), 12.0)[:, :, None]
    dist = cv2.distanceTransform((~original).astype(np.uint8), cv2.DIST_L2, 5)[:, :, None]
    fixed = out + num / np.maximum(den, 1e-3) * np.exp(-dist / 24.0) * (den > 1e-3)
    expected = np.where(original[:, :, None], canvas, fixed).astype(np.float32)
    assert np.array_equal(match_held_area(out, canvas, original), expected)
