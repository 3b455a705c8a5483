"""Loop as a node: a stretch of the shot repeated at plate resolution, the jump back cross-faded, the loop found by
the shot model's codes when not given."""

import numpy as np
import pytest

from tests.test_cli import TINY
from vsae.cli import main
from vsae.core.io.sequence import Frame, open_shot, write_image
from vsae.errors import ParameterError
from vsae.plugin.nodes import load_node

PERIOD = 8


@pytest.fixture(scope="module")
def swinging(tmp_path_factory):
    """A 24-frame 128x64 shot: a disc circling with a period of 8 frames while the light slowly rises, so frame t+8
    nearly matches frame t and a cut from t+7 back to t jumps by the rise of 7 frames at once."""
    folder = tmp_path_factory.mktemp("swing")
    yy, xx = np.mgrid[0:64, 0:128].astype(np.float32)
    for t in range(24):
        angle = 2 * np.pi * t / PERIOD
        cx, cy = 64 + 36 * np.cos(angle), 32 + 16 * np.sin(angle)
        disc = np.clip(12.0 - np.hypot(xx - cx, yy - cy), 0, 1)[..., None]
        rgb = (0.05 + 0.003 * t) * np.ones((64, 128, 3), np.float32) + disc * np.array([0.8, 0.5, 0.2], np.float32)
        write_image(str(folder / f"swing.{1001 + t:04d}.exr"), Frame(rgb=rgb.astype(np.float32), pixel_type="float"))
    return str(folder / "swing.####.exr")


def _frames(pattern):
    shot = open_shot(pattern)
    return [shot.read(f).rgb for f in shot.frames]


def _largest_step(frames):
    """The largest change of the light between consecutive frames (the disc's area is constant), the last leading
    into the first."""
    light = [float(f.mean()) for f in frames]
    return max(abs(a - b) for a, b in zip(light, light[1:] + light[:1]))


def test_parameters_are_checked():
    node = load_node("loop")
    with pytest.raises(ParameterError, match="give both"):
        node.resolve({"loop_first": 1001})
    with pytest.raises(ParameterError, match="not after loop_first"):
        node.resolve({"loop_first": 1005, "loop_last": 1005})
    with pytest.raises(ParameterError, match="loop_first 900: not a frame"):
        node.output_frames(node.resolve({"loop_first": 900, "loop_last": 1005}), list(range(1001, 1013)))
    params = node.resolve({"loop_first": 1001, "loop_last": 1008, "method": "blend", "length": 30})
    assert node.output_frames(params, list(range(1001, 1025))) == range(1001, 1031)
    assert not node.uses_model(params)  # a given loop cross-faded by blending needs no model


def test_a_given_loop_repeats_its_plates_and_its_last_frame_leads_into_the_first(swinging, tmp_path):
    """Frames 1005-1012 looped for three passes: every output outside the cross-fade is its plate bit for bit, the
    passes repeat, and the cross-fade spreads the jump back that a cut shows at once."""
    plates = _frames(swinging)
    outs = {}
    for transition in (0, 3):
        out = str(tmp_path / f"t{transition}" / "loop.####.exr")
        assert main(["loop", swinging, "--loop-first", "1005", "--loop-last", "1012", "--length", "24",
                     "--method", "blend", "--transition", str(transition), "--depth", "float", "-o", out]) == 0
        outs[transition] = _frames(out)
    cut, faded = outs[0], outs[3]
    assert all(np.array_equal(cut[k], plates[4 + k % PERIOD]) for k in range(24))
    assert all(np.array_equal(faded[k], faded[k + PERIOD]) for k in range(16))
    # The fade runs over the last three frames of each pass, toward the frames before 1005 that lead into it.
    assert all(np.array_equal(faded[k], plates[4 + k]) for k in range(PERIOD - 3))
    assert not np.array_equal(faded[PERIOD - 1], plates[4 + PERIOD - 1])
    assert _largest_step(faded) < 0.25 * _largest_step(cut)


def test_a_loop_at_the_shot_s_start_fades_in_from_the_frames_after_it(swinging, tmp_path):
    out = str(tmp_path / "loop.####.exr")
    assert main(["loop", swinging, "--loop-first", "1001", "--loop-last", "1008", "--length", "8",
                 "--method", "blend", "--transition", "2", "--depth", "float", "-o", out]) == 0
    plates, faded = _frames(swinging), _frames(out)
    assert np.allclose(faded[0], (plates[0] + 2 * plates[PERIOD]) / 3, atol=1e-6)  # mostly frame 1009
    assert all(np.array_equal(faded[k], plates[k]) for k in range(2, PERIOD))


def test_the_loop_found_by_the_model_s_codes_is_the_shot_s_period(swinging, cache_dir, tmp_path):
    out = str(tmp_path / "loop.####.exr")
    assert main(["loop", swinging, *TINY, "--min-length", "6", "--length", "16", "--method", "latent",
                 "--depth", "float", "-o", out]) == 0
    faded = _frames(out)
    assert all(np.array_equal(faded[k], faded[k + PERIOD]) for k in range(8))
    plates = _frames(swinging)
    # Outside the cross-fade every output frame is a plate, and consecutive outputs are consecutive plates.
    shown = [next((i for i, p in enumerate(plates) if np.array_equal(p, f)), None) for f in faded[:PERIOD]]
    whole = [i for i in shown if i is not None]
    assert len(whole) >= PERIOD - 4 and np.all(np.diff(whole) == 1), shown
