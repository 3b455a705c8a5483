"""`vsae demo`: the procedural shot, its model, and every node at work scored against the shot's own answers."""

import math

import numpy as np
import OpenImageIO as oiio

from tests.conftest import tiny_settings
from vsae.core.demo.procedural import ProceduralShot
from vsae.core.demo.run import run_demo
from vsae.core.demo.showcase import figure_table


def test_the_demo_shows_every_node_beside_its_baseline_on_a_labelled_sheet(tmp_path):
    result = run_demo(str(tmp_path / "demo"), width=128, height=64, frames=8, settings=tiny_settings(steps=30))
    figures = {f.node.split()[0]: f for f in result["nodes"]}
    assert list(figures) == ["Retime", "Upres", "Clean", "Mask", "Extend"]
    assert [list(f.baselines) for f in figures.values()] == [["blend", "flow"], ["bicubic"], ["Telea"], ["flow"],
                                                             ["mirror"]]
    for f in figures.values():
        assert math.isfinite(f.score) and all(math.isfinite(v) for v in f.baselines.values()), f
        assert len(f.row) == 3  # source, result, truth
    assert 0 <= figures["Mask"].score <= 100
    # Clean Plate fills from frames where the background shows: far better than inpainting, even with a tiny model.
    assert figures["Clean"].score > figures["Clean"].baselines["Telea"]
    assert figures["Extend"].row[1].shape[1] == 128 + 2 * 16  # the extended frame is the wide truth's size
    table = figure_table(result["nodes"]).splitlines()
    assert len(table) == 6 and table[1].startswith("Retime 2x")
    sheet = oiio.ImageBuf(result["nodes_sheet"])
    assert sheet.spec().height > 5 * 64  # five rows


def test_the_procedural_shot_knows_its_clean_plate_and_what_lies_beyond_its_edges():
    shot = ProceduralShot(width=96, height=48, frames=4, margin=8)
    plate, mask = shot.render(1.0)
    wide, wide_mask = shot.render(1.0, wide=True)
    background, no_objects = shot.render(1.0, objects=False)
    assert plate.shape == (48, 96, 3) and wide.shape == (48, 112, 3)
    assert np.array_equal(wide[:, 8:104], plate) and np.array_equal(wide_mask[:, 8:104], mask)
    assert not no_objects.any() and mask.any()
    import cv2

    edge = cv2.dilate(mask, np.ones((3, 3), np.uint8))  # the objects and their antialiased edge
    assert np.array_equal(background[edge == 0], plate[edge == 0])  # only the objects differ
