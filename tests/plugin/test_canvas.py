"""Extend, Stretch and Stitch as nodes, end to end through the CLI on the procedural shot."""

import numpy as np
import pytest

from tests.test_cli import TINY
from vsae.cli import main
from vsae.core.io.sequence import open_shot
from vsae.errors import ParameterError
from vsae.plugin.nodes import load_node


def test_extend_grows_the_canvas_and_keeps_the_original_bit_for_bit(tiny_shot, cache_dir, tmp_path):
    out = str(tmp_path / "ext.####.exr")
    assert main(["extend", tiny_shot["plates"], *TINY, "--width", "192", "--top", "16", "--iterations", "2",
                 "--render", "1001", "-o", out]) == 0
    src, res = open_shot(tiny_shot["plates"]).read(1001), open_shot(out).read(1001)
    assert res.size == (192, 80)
    assert (res.rgb[16:, 32:160] == src.rgb).all()
    sheet = str(tmp_path / "sheet.####.exr")
    assert main(["extend", tiny_shot["plates"], *TINY, "--left", "64", "--result", "before_after",
                 "--iterations", "1", "--render", "1001", "-o", sheet]) == 0
    assert open_shot(sheet).read(1001).size == (192, 128)  # first guess above, result below


def test_stretch_and_stitch_sizes_and_frames(tiny_shot, cache_dir, tmp_path):
    out = str(tmp_path / "wide.####.exr")
    assert main(["stretch", tiny_shot["plates"], *TINY, "--scale-x", "2", "--iterations", "1", "--render", "1001",
                 "-o", out]) == 0
    assert open_shot(out).read(1001).size == (256, 64)
    pano = str(tmp_path / "pano.####.exr")
    assert main(["stitch", tiny_shot["plates"], *TINY, "--offsets", "0,4,8", "--band", "8", "--iterations", "1",
                 "-o", pano]) == 0
    res = open_shot(pano)
    assert res.frames == [1001, 1002, 1003, 1004] and res.read(1001).size == (384, 64)
    src = open_shot(tiny_shot["plates"])
    # Far from the seams (band 8 + ramp 8) the tiles are the frames themselves, to float precision.
    assert np.allclose(res.read(1002).rgb[:, 146:238], src.read(1006).rgb[:, 18:110], atol=2e-3)


def test_bad_parameters_are_named():
    with pytest.raises(ParameterError, match="stitch needs two frames"):
        load_node("stitch").resolve({"offsets": "0"})
    with pytest.raises(ParameterError, match="no frame of the shot has all its tiles"):
        node = load_node("stitch")
        node.output_frames(node.resolve({"offsets": "0,50"}), list(range(1001, 1013)))
    node = load_node("extend")
    with pytest.raises(ParameterError, match="nothing to add"):
        node.pads(node.resolve({}), 128, 64)
    with pytest.raises(ParameterError, match="width 100: smaller than the frame's 128"):
        node.pads(node.resolve({"width": 100}), 128, 64)


def test_proxy_renders_scale_lengths_in_pixels():
    from vsae.plugin.nodes import load_node

    extend = load_node("extend")
    half = extend.at_scale(extend.resolve({"left": 16, "right": 9, "width": None}), 0.5)
    assert (half["left"], half["right"], half["top"]) == (8, 4, 0)  # 4.5 rounds to even, as Python rounds
    assert half["iterations"] == 5  # not a length
    stretch = load_node("stretch")
    assert stretch.at_scale(stretch.resolve({"width": 20}), 0.5)["width"] == 16  # held at its minimum
    clean = load_node("clean_plate")
    scaled = clean.at_scale(clean.resolve({"boxes": "1001:40,20,60,40", "grow": 4}), 0.25)
    assert scaled["boxes"] == "1001:10,5,15,10" and scaled["grow"] == 1


def test_extend_with_neighbours_flickers_less_in_the_new_area_and_keeps_the_original(cache_dir, tmp_path):
    """A procedural shot rendered wider than its plates holds the truth of an Extend: averaging each frame's new
    area with its neighbours' (temporal 1) follows the real motion better than frames extended alone."""
    from vsae.core.demo.procedural import ProceduralShot
    from vsae.core.io.sequence import Frame, write_image
    from vsae.core.metrics import to_display
    from vsae.core.ops.temporal import temporal_error

    shot = ProceduralShot(width=128, height=64, frames=8, margin=16)
    for i in range(8):
        write_image(str(tmp_path / "plates" / f"p.{1001 + i:04d}.exr"), Frame(rgb=shot.render(float(i))[0],
                                                                                pixel_type="float"))
    plates = str(tmp_path / "plates" / "p.####.exr")
    truth = [to_display(shot.render(float(i), wide=True)[0]) for i in range(8)]
    new_area = np.ones((64, 160), bool)
    new_area[:, 16:144] = False
    flicker = {}
    for radius in (0, 1):
        out = str(tmp_path / f"t{radius}" / "e.####.exr")
        assert main(["extend", plates, *TINY, "--left", "16", "--right", "16", "--iterations", "2", "--temporal",
                     str(radius), "--depth", "float", "-o", out]) == 0
        rendered = open_shot(out)
        frames = [to_display(rendered.read(n).rgb) for n in rendered.frames]
        flicker[radius] = temporal_error(frames, truth, regions=[new_area] * 8)
        assert all(np.array_equal(rendered.read(n).rgb[:, 16:144], open_shot(plates).read(n).rgb)
                   for n in rendered.frames)
    assert flicker[1] < 0.9 * flicker[0], flicker
