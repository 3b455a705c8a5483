"""Paint as a node: content pasted into boxes from another frame, the same frame or a still, reprojected, and
nothing outside the feathered region ever changes."""

import numpy as np
import pytest

from tests.test_cli import TINY
from vsae.cli import main
from vsae.core.io.sequence import Frame, open_shot, write_image
from vsae.core.metrics import display_psnr
from vsae.core.ops.clean_plate import hole_matte
from vsae.errors import ParameterError
from vsae.plugin.nodes import load_node


def test_parameters_are_checked():
    node = load_node("paint")
    assert node.resolve({"boxes": "10,10,40,40"})["source"] == "frame"
    with pytest.raises(ParameterError, match="offset 0 with no dx, dy"):
        node.resolve({"boxes": "10,10,40,40", "offset": 0})
    with pytest.raises(ParameterError, match="source 'smudge'"):
        node.resolve({"source": "smudge"})


def test_a_clone_lands_where_asked_and_the_rest_stays_bit_for_bit(tiny_shot, cache_dir, tmp_path):
    out = str(tmp_path / "p.####.exr")
    assert main(["paint", tiny_shot["plates"], *TINY, "--boxes", "30,10,60,40", "--source", "clone", "--dx", "-20",
                 "--iterations", "0", "--feather", "0", "--render", "1003", "--depth", "float", "-o", out]) == 0
    src, res = open_shot(tiny_shot["plates"]).read(1003).rgb, open_shot(out).read(1003).rgb
    assert np.allclose(res[10:40, 30:60], src[10:40, 50:80], atol=1e-6)
    hole = np.zeros((64, 128), bool)
    hole[10:40, 30:60] = True
    assert np.array_equal(res[~hole], src[~hole])


def test_a_paste_from_the_next_frame_follows_the_shot(tiny_shot, cache_dir, tmp_path):
    """Pasting frame t+1 over a box of frame t: aligned by optical flow it stands in for frame t's own picture far
    better than the unaligned paste (no reprojection here: a 12-step model would blur both alike)."""
    scores = {}
    for follow in ("true", "false"):
        out = str(tmp_path / follow / "p.####.exr")
        assert main(["paint", tiny_shot["plates"], *TINY, "--boxes", "20,8,100,56", "--offset", "1", "--follow",
                     follow, "--iterations", "0", "--render", "1004", "--depth", "float", "-o", out]) == 0
        truth, res = open_shot(tiny_shot["plates"]).read(1004).rgb, open_shot(out).read(1004).rgb
        scores[follow] = display_psnr(res[8:56, 20:100], truth[8:56, 20:100])
    assert scores["true"] > scores["false"] + 1.0, scores


def test_a_still_is_pasted_inside_the_feathered_region(tiny_shot, cache_dir, tmp_path):
    still = str(tmp_path / "still.exr")
    write_image(still, Frame(rgb=np.full((64, 128, 3), 0.25, np.float32), pixel_type="half"))
    out = str(tmp_path / "p.####.exr")
    assert main(["paint", tiny_shot["plates"], *TINY, "--boxes", "1001:40,16,72,40", "--source", "still", "--still",
                 still, "--iterations", "0", "--render", "1002", "-o", out]) == 0
    src, res = open_shot(tiny_shot["plates"]).read(1002).rgb, open_shot(out).read(1002).rgb
    hole = np.zeros((64, 128), bool)
    hole[16:40, 40:72] = True
    _, soft = hole_matte(hole, 0, 2.0)
    assert np.array_equal(res[soft == 0], src[soft == 0])
    assert np.allclose(res[hole], 0.25, atol=1e-3) and not np.allclose(src[hole], 0.25, atol=0.05)


def test_a_still_source_without_a_still_is_refused_before_training(tiny_shot, tmp_path, capsys):
    code = main(["paint", tiny_shot["plates"], *TINY, "--boxes", "10,10,20,20", "--source", "still", "--cache",
                 str(tmp_path / "cache"), "-o", str(tmp_path / "o.####.exr")])
    assert code == 2 and "source still needs the still input" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()
