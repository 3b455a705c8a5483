"""Clean plate building blocks: keyed boxes, hole mattes, fills and the composite that leaves the rest untouched."""

import numpy as np
import pytest

from tests.standins import BlurModel
from vsae.core.ops.clean_plate import (CleanPlateOptions, box_at, boxes_hole, clean_plate, composite, fill_frames,
                                       hole_matte, parse_boxes, plate_fill, reproject_fill, surround_fill,
                                       temporal_fill)
from vsae.errors import ParameterError


def _texture(h=64, w=96, seed=0):
    import cv2

    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (7, 7), 2.0) * 1.6 - 0.8


def test_box_keys_interpolate_linearly_and_hold_outside():
    (track,) = parse_boxes("1001:10,10,50,40; 1011:30,20,70,60")
    assert box_at(track, 1006) == (20.0, 15.0, 60.0, 50.0)
    assert box_at(track, 990) == (10.0, 10.0, 50.0, 40.0)
    assert box_at(track, 1100) == (30.0, 20.0, 70.0, 60.0)
    assert len(parse_boxes("5,5,9,9 | 1:0,0,4,4; 3:2,2,6,6")) == 2


@pytest.mark.parametrize("text, message", [
    ("10,10,5,40", "right of and below"),
    ("1:10,10,50", "expected \\[frame:\\]x0,y0,x1,y1"),
    ("1:a,b,c,d", "expected"),
    ("5,5,9,9; 3:2,2,6,6", "each need a frame"),
])
def test_bad_boxes_are_named(text, message):
    with pytest.raises(ParameterError, match=message):
        parse_boxes(text)


def test_a_box_outside_the_frame_is_an_error_naming_box_and_frame():
    tracks = parse_boxes("1001:10,10,20,20; 1011:200,10,220,20")
    assert boxes_hole(tracks, 1001, 64, 96).sum() == 100
    with pytest.raises(ParameterError, match="box 1 at frame 1011 .*outside the 96x64 frame"):
        boxes_hole(tracks, 1011, 64, 96)


def test_boxes_measured_from_the_bottom_left_as_nuke_and_openfx_measure_them():
    top_left = boxes_hole(parse_boxes("10,4,30,20"), 1001, 64, 96)
    bottom_left = boxes_hole(parse_boxes("10,44,30,60"), 1001, 64, 96, origin="bottom-left")  # y up from the bottom
    assert top_left.sum() == 320 and np.array_equal(top_left, bottom_left)
    with pytest.raises(ParameterError, match="box origin 'centre'"):
        boxes_hole(parse_boxes("10,4,30,20"), 1001, 64, 96, origin="centre")


def test_grow_and_feather():
    hole = np.zeros((40, 40), bool)
    hole[15:25, 15:25] = True
    grown, _ = hole_matte(hole, grow=3)
    assert grown[12:28, 15:25].all() and grown[15:25, 12:28].all() and not grown[11, 20] and not grown[20, 11]
    hard, soft = hole_matte(hole, grow=3, feather=4.0)
    assert (soft[grown] == 1.0).all()
    assert soft[:5].max() == 0.0 and 0 < soft[10, 20] < 1  # ramp outside the grown hole, then exactly zero
    assert (hard == (soft > 0)).all()
    shrunk, _ = hole_matte(hole, grow=-2)
    assert shrunk.sum() == 36


def test_surround_fill_touches_only_the_hole_and_continues_a_flat_region():
    x = np.full((32, 48, 3), 0.25, np.float32)
    x[:, :8] = -0.5  # far from the hole: must not leak into it
    hole = np.zeros((32, 48), bool)
    hole[10:20, 20:30] = True
    out = surround_fill(x, hole)
    assert (out[~hole] == x[~hole]).all()
    assert np.allclose(out[hole], 0.25)


def test_temporal_fill_finds_the_uncovered_background_in_a_panned_frame():
    scene = _texture(64, 140)
    target, other = scene[:, 20:116], scene[:, 26:122]  # the camera pans 6 pixels
    hole = np.zeros((64, 96), bool)
    hole[20:40, 40:60] = True
    cut = np.where(hole[:, :, None], 0.0, target).astype(np.float32)
    filled, found = temporal_fill(cut, hole, [(other, np.zeros_like(hole))])
    assert found[hole].mean() > 0.95
    err_temporal = np.abs(filled[hole] - target[hole]).mean()
    err_surround = np.abs(surround_fill(cut, hole)[hole] - target[hole]).mean()
    assert err_temporal < 0.3 * err_surround


def test_temporal_fill_of_a_hole_larger_than_one_remap_row():
    """A 220x200 hole (44,000 pixels) at film-plate scale: more points than OpenCV's remap takes in one row."""
    scene = _texture(240, 300)
    target, other = scene[:, 10:270], scene[:, 14:274]  # the camera pans 4 pixels
    hole = np.zeros((240, 260), bool)
    hole[20:220, 20:240] = True
    cut = np.where(hole[:, :, None], 0.0, target).astype(np.float32)
    filled, found = temporal_fill(cut, hole, [(other, np.zeros_like(hole))])
    assert found[hole].mean() > 0.95
    err_surround = np.abs(surround_fill(cut, hole)[hole] - target[hole]).mean()
    assert np.abs(filled[hole] - target[hole]).mean() < 0.3 * err_surround


def test_plate_fill_is_the_median_of_frames_where_the_place_is_uncovered():
    bg = _texture()
    hole = np.zeros((64, 96), bool)
    hole[10:30, 10:30] = True
    others = []
    for i in range(5):
        frame, moving = bg.copy(), np.zeros_like(hole)
        moving[10:30, 10 + 12 * i:30 + 12 * i] = True  # an object crossing the locked-off frame
        frame[moving] = 1.0
        others.append((frame, moving))
    filled, found = plate_fill(np.where(hole[:, :, None], 0, bg), hole, others)
    assert found[hole].all() and np.allclose(filled[hole], bg[hole])


def test_reproject_fill_changes_the_hole_only_and_composite_is_bit_exact_outside():
    source = _texture()
    hole = np.zeros((64, 96), bool)
    hole[20:40, 30:60] = True
    hard, soft = hole_matte(hole, grow=2, feather=3.0)
    out = reproject_fill(BlurModel(5), source, surround_fill(source, hard), hard, 3)
    assert (out[~hard] == source[~hard]).all() and not np.allclose(out[hard], source[hard])
    linear = np.exp(source).astype(np.float32)  # any float values
    comp = composite(linear, np.zeros_like(linear), soft)
    assert (comp[soft == 0] == linear[soft == 0]).all()
    assert (comp[soft == 1] == 0).all()


def test_fill_frames_are_nearest_first_or_spread_over_a_locked_off_shot():
    assert fill_frames(1003, range(1001, 1011), "temporal", 2) == [1002, 1004, 1001, 1005]
    assert fill_frames(1003, range(1001, 1011), "surround", 2) == []
    plate = fill_frames(1001, range(1001, 1101), "plate", 3)
    assert len(plate) == 6 and max(plate) > 1080  # not just the six nearest


def test_clean_plate_holds_what_other_frames_uncover_and_reprojects_only_the_rest():
    """A locked-off plate: the left half of the hole is uncovered in the other frame, the right half never is.
    The operation keeps the other frame's pixels on the left as they are, asks the model for the right only, and
    hands back a matte that is 0 (fill = target, bit for bit) beyond the feather."""
    bg = _texture()
    hole = np.zeros((64, 96), bool)
    hole[20:40, 30:60] = True
    other_hole = np.zeros_like(hole)
    other_hole[15:45, 45:70] = True  # covers the right part of the hole in the other frame too
    other = np.where(other_hole[:, :, None], 1.0, bg).astype(np.float32)
    target = np.where(hole[:, :, None], 1.0, bg).astype(np.float32)
    asked = []

    def shot_model():
        asked.append(1)
        return BlurModel(5)

    fill, matte = clean_plate(target, hole, [(other, other_hole)], shot_model,
                              CleanPlateOptions(fill="plate", iterations=2, grow=0, feather=2.0))
    assert asked
    left = hole & ~hole_matte(other_hole, 0, 2.0)[0]  # the other frame's hole is feathered too
    assert np.array_equal(fill[left], bg[left])
    assert (fill[matte == 0] == target[matte == 0]).all() and matte.max() == 1.0 and (matte[hole] == 1).all()
    assert not np.allclose(fill[hole & other_hole], 1.0)  # the object itself is gone


def test_clean_plate_of_an_empty_hole_asks_no_model_and_changes_nothing():
    target = _texture()
    fill, matte = clean_plate(target, np.zeros((64, 96), bool), [], lambda: pytest.fail("model asked for"),
                              CleanPlateOptions(fill="surround"))
    assert not matte.any() and np.array_equal(fill, target)


def test_clean_plate_plate_fill_of_a_one_frame_shot_falls_back_to_the_surroundings():
    target = _texture()
    hole = np.zeros((64, 96), bool)
    hole[20:30, 20:30] = True
    fill, _ = clean_plate(target, hole, [], None, CleanPlateOptions(fill="plate", iterations=0, grow=0, feather=0))
    cut = np.where(hole[:, :, None], 0.0, target).astype(np.float32)
    assert np.array_equal(fill, surround_fill(cut, hole))
