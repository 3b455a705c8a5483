"""Paint's building blocks: content moved, another frame aligned to this one, and a paste reprojected inside its
region only."""

import numpy as np
import pytest

from tests.standins import BlurModel
from vsae.core.ops.paint import PaintOptions, aligned, paint, paint_content, translated
from vsae.errors import ParameterError


def _texture(h=48, w=80, seed=0):
    import cv2

    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (7, 7), 2.0) * 1.6 - 0.8


def test_translated_moves_content_right_and_down():
    x = _texture()
    moved = translated(x, 5, 3)
    assert np.allclose(moved[3 + 10, 5 + 20], x[10, 20])
    assert translated(x, 0, 0) is x


def test_another_frame_aligned_by_flow_lines_up_with_this_one():
    x = _texture(seed=1)
    later = translated(x, 4, 0)  # the camera panned: everything 4 pixels to the right
    inner = (slice(8, -8), slice(12, -12))
    assert np.abs(aligned(x, later) - x)[inner].mean() < 0.25 * np.abs(later - x)[inner].mean()


def test_paint_lands_in_the_region_and_holds_every_other_pixel():
    x = _texture(seed=2)
    hole = np.zeros(x.shape[:2], bool)
    hole[10:30, 20:50] = True
    content = paint_content(x, PaintOptions(source="clone", dx=-15.0, dy=0.0))
    pasted, matte = paint(x, hole, content, None, PaintOptions(iterations=0, feather=0.0))
    assert np.array_equal(pasted[10:30, 20:50], x[10:30, 35:65])  # the region shows what lies 15 px to its right
    assert np.array_equal(pasted[~hole], x[~hole]) and np.array_equal(matte > 0, hole)
    reprojected, _ = paint(x, hole, content, lambda: BlurModel(5), PaintOptions(iterations=2, feather=0.0))
    assert np.array_equal(reprojected[~hole], x[~hole])  # reprojection touches the region only
    assert not np.array_equal(reprojected[hole], pasted[hole])


def test_a_still_must_be_the_frame_s_size():
    x = _texture()
    with pytest.raises(ParameterError, match="the still is 40x20, the frame 80x48"):
        paint_content(x, PaintOptions(source="still"), np.zeros((20, 40, 3), np.float32))
    with pytest.raises(ParameterError, match="source 'smudge'"):
        paint_content(x, PaintOptions(source="smudge"))


def test_a_band_reprojects_the_region_s_edge_and_holds_the_paste_s_middle():
    x = _texture(seed=3)
    hole = np.zeros(x.shape[:2], bool)
    hole[8:40, 16:64] = True
    content = paint_content(x, PaintOptions(source="clone", dx=-10.0))
    out, _ = paint(x, hole, content, lambda: BlurModel(5), PaintOptions(iterations=2, band=4, feather=0.0))
    assert np.array_equal(out[16:32, 24:56], content[16:32, 24:56])  # deeper than 4 px: the paste as it is
    assert not np.array_equal(out[8:10, 16:64], content[8:10, 16:64])  # the edge: reprojected
    assert np.array_equal(out[~hole], x[~hole])
