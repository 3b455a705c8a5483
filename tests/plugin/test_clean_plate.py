"""Clean Plate as a node: boxes or a matte in, cleaned frames out, and nothing outside the hole ever changes."""

import numpy as np
import pytest

from tests.test_cli import TINY
from vsae.cli import main
from vsae.core.ops.clean_plate import hole_matte
from vsae.core.io.sequence import Frame, open_shot, write_image
from vsae.errors import ParameterError
from vsae.plugin.nodes import load_node


def test_parameters_are_checked():
    node = load_node("clean_plate")
    assert node.resolve({"boxes": "1001:1,1,9,9"})["iterations"] == 5
    with pytest.raises(ParameterError, match="fill 'blur'"):
        node.resolve({"fill": "blur"})
    with pytest.raises(ParameterError, match="right of and below"):
        node.resolve({"boxes": "9,9,1,1"})


@pytest.mark.parametrize("fill", ["surround", "temporal"])
def test_cli_boxes_change_only_the_feathered_hole(tiny_shot, cache_dir, tmp_path, fill):
    out = str(tmp_path / "clean.####.exr")
    assert main(["clean_plate", tiny_shot["plates"], *TINY, "--boxes", "1001:20,10,50,40; 1004:40,10,70,40",
                 "--fill", fill, "--search", "2", "--iterations", "2", "--render", "1001-1004", "-o", out]) == 0
    src, res = open_shot(tiny_shot["plates"]), open_shot(out)
    for number in (1001, 1003):
        x0 = 20 + (number - 1001) * 20 / 3
        hole = np.zeros((64, 128), bool)
        hole[10:40, round(x0):round(x0) + 30] = True
        _, soft = hole_matte(hole, grow=4, feather=2.0)
        a, b = src.read(number).rgb, res.read(number).rgb
        assert (a[soft == 0] == b[soft == 0]).all()  # bit for bit, through a half-float file and back
        assert not np.allclose(a[soft == 1], b[soft == 1])


def test_cli_matte_input_and_fill_output(tiny_shot, cache_dir, tmp_path):
    out = str(tmp_path / "fill.####.exr")
    assert main(["clean_plate", tiny_shot["plates"], *TINY, "--matte", tiny_shot["masks"], "--iterations", "1",
                 "--result", "fill", "--render", "1002", "-o", out]) == 0
    fill = open_shot(out).read(1002)
    mask = open_shot(tiny_shot["masks"], colorspace="linear").read(1002).rgb[:, :, 0] > 0.5
    assert fill.alpha is not None and (fill.alpha[mask] == 1).all() and fill.alpha.max() == 1.0
    assert fill.alpha[:, :, 0][~mask].min() == 0.0


def test_an_empty_matte_frame_passes_the_source_through(tiny_shot, cache_dir, tmp_path):
    empty = str(tmp_path / "empty.####.png")
    for number in (1001, 1002):
        write_image(empty.replace("####", str(number)), Frame(rgb=np.zeros((64, 128, 3), np.float32),
                                                              pixel_type="uint8"), colorspace="linear")
    out = str(tmp_path / "same.####.exr")
    assert main(["clean_plate", tiny_shot["plates"], *TINY, "--matte", empty, "--render", "1001-1002",
                 "-o", out]) == 0
    assert (open_shot(out).read(1001).rgb == open_shot(tiny_shot["plates"]).read(1001).rgb).all()


@pytest.mark.parametrize("args, message", [
    ([], "nothing to remove: give boxes or connect a matte"),
    (["--boxes", "1001:300,10,320,20"], "box 1 at frame 1001 .*outside the 128x64 frame"),
    (["--matte", "SMALL"], "small.1001.png: frame 1001 is 32x16, the source is 128x64"),
])
def test_bad_input_gets_one_line_and_exit_2(tiny_shot, cache_dir, tmp_path, capsys, args, message):
    import re

    small = str(tmp_path / "small.####.png")
    write_image(small.replace("####", "1001"), Frame(rgb=np.ones((16, 32, 3), np.float32), pixel_type="uint8"))
    args = [small if a == "SMALL" else a for a in args]
    out = tmp_path / "bad"
    assert main(["clean_plate", tiny_shot["plates"], *TINY, *args, "--render", "1001", "-o",
                 str(out / "x.####.exr")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err), err
    assert not out.exists()
