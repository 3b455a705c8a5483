"""Retime as a node: timing, numbering, validation and exact passthrough, without a host."""

import numpy as np
import pytest

from tests.test_cli import TINY
from vsae.cli import main
from vsae.core.io.sequence import Frame, open_shot
from vsae.errors import ParameterError
from vsae.plugin.node import RenderContext
from vsae.plugin.nodes import load_node

SOURCE = list(range(1001, 1013))  # 12 frames


@pytest.fixture
def node():
    return load_node("retime")


def _context(frames=SOURCE):
    """Source frame n is a flat image of value n (with an alpha of n / 2000): easy to check blends by eye."""
    def fetch(_name, f):
        return Frame(rgb=np.full((4, 6, 3), float(f), np.float32), alpha=np.full((4, 6, 1), f / 2000, np.float32),
                     pixel_type="float")

    def no_model():
        raise AssertionError("this render must not need the model")

    return RenderContext(fetch=fetch, source_frames=frames, shot_model=no_model)


@pytest.mark.parametrize("values,message", [
    ({"speed": 0}, "speed 0.0: below the minimum"),
    ({"speed": -1}, "speed -1.0: below the minimum"),
    ({"speed": "fast"}, "speed 'fast': expected float"),
    ({"method": "optical"}, "method 'optical': expected one of"),
    ({"iterations": 2.5}, "iterations 2.5: expected int"),
    ({"timing": "curve"}, "timing=curve needs keyframes"),
    ({"timing": "curve", "curve": "1:a"}, "expected output:source pairs"),
    ({"warp": 1}, "unknown parameter 'warp'"),
])
def test_bad_parameters_are_named(node, values, message):
    with pytest.raises(ParameterError, match=message):
        node.resolve(values)


def test_out_of_range_input_frames(node):
    with pytest.raises(ParameterError, match="outside the shot's frames 1001-1012"):
        node.output_frames(node.resolve({"input_first": 990}), SOURCE)


def test_half_speed_numbering(node):
    params = node.resolve({"speed": 0.5})
    out = node.output_frames(params, SOURCE)
    assert list(out) == list(range(1001, 1024))  # 11 source intervals at half speed, plus the last frame
    assert node.frames_needed(1002, params, SOURCE) == {"source": [1001, 1002]}
    renumbered = node.output_frames(node.resolve({"speed": 0.5, "output_first": 1}), SOURCE)
    assert list(renumbered) == list(range(1, 24))


def test_double_speed_and_never_past_the_end(node):
    params = node.resolve({"speed": 2.0, "output_last": 1020})
    ctx = _context()
    assert node.render(1003, params, ctx).rgb[0, 0, 0] == 1005.0
    assert node.render(1020, params, ctx).rgb[0, 0, 0] == 1012.0  # held at the last source frame


def test_blend_and_alpha_are_retimed_together(node):
    params = node.resolve({"speed": 0.25, "method": "blend"})
    frame = node.render(1002, params, _context())  # source time 1001.25
    np.testing.assert_allclose(frame.rgb, 1001.25)
    np.testing.assert_allclose(frame.alpha, 1001.25 / 2000, rtol=1e-6)


def test_curve_on_integer_source_times_passes_frames_through_exactly(node):
    params = node.resolve({"timing": "curve", "curve": "1:1012, 12:1001"})  # reversed, one source frame per output
    ctx = _context()
    assert list(node.output_frames(params, SOURCE)) == list(range(1, 13))
    for out, src in zip(range(1, 13), range(1012, 1000, -1)):
        np.testing.assert_array_equal(node.render(out, params, ctx).rgb, ctx.fetch("source", src).rgb)


def test_cli_renders_a_range_on_the_procedural_shot(tiny_shot, cache_dir, tmp_path):
    out = str(tmp_path / "slow.####.exr")
    assert main(["retime", tiny_shot["plates"], *TINY, "--speed", "0.5", "--method", "latent", "--render", "1001-1004",
                 "-o", out]) == 0
    rendered = open_shot(out)
    assert rendered.frames == [1001, 1002, 1003, 1004]
    src = open_shot(tiny_shot["plates"])
    np.testing.assert_array_equal(rendered.read(1001).rgb, src.read(1001).rgb)  # integer time: the plate itself
    np.testing.assert_array_equal(rendered.read(1003).rgb, src.read(1002).rgb)
    mid = rendered.read(1002).rgb  # time 1001.5: decoded from blended latents, between the two plates
    assert mid.shape == (64, 128, 3) and np.isfinite(mid).all()
    assert not np.array_equal(mid, src.read(1001).rgb)
    assert main(["retime", tiny_shot["plates"], *TINY, "--render", "1500", "-o", out]) == 2


def test_hybrid_retime_on_the_procedural_shot_beats_blend(tiny_shot, cache_dir, tmp_path):
    """The default method through the CLI: a half-speed in-between lands closer to the shot's true in-between
    frame (in the working range, where the eye judges) than a blend of its neighbours."""
    from vsae.core.colour import to_working

    out = str(tmp_path / "slow.####.exr")
    assert main(["retime", tiny_shot["plates"], *TINY, "--speed", "0.5", "--render", "1006", "-o", out]) == 0
    mid = to_working(open_shot(out).read(1006).rgb)  # output 1006 shows source time 1003.5
    plates = open_shot(tiny_shot["plates"])
    truth = to_working(open_shot(tiny_shot["inbetween"]).read(1003).rgb)
    blend = (to_working(plates.read(1003).rgb) + to_working(plates.read(1004).rgb)) / 2
    assert np.abs(mid - truth).mean() < 0.75 * np.abs(blend - truth).mean()


def test_slow_motion_in_betweens_of_one_pair_share_its_flows_computed_once(node, monkeypatch):
    import vsae.core.ops.retime as retime_ops
    from vsae.plugin.node import kept_flows

    rng = np.random.default_rng(3)
    big = rng.random((80, 120, 3)).astype(np.float32)
    frames = {1: Frame(rgb=big[:64, :96].copy()), 2: Frame(rgb=big[3:67, 2:98].copy())}
    computed = []
    flow_pair = retime_ops.flow_pair
    monkeypatch.setattr(retime_ops, "flow_pair",
                        lambda a, b, detail: computed.append(detail) or flow_pair(a, b, detail))
    context = RenderContext(fetch=lambda _n, f: frames[f], source_frames=[1, 2], shot_model=lambda: None)
    params = node.resolve({"speed": 0.25, "method": "flow"})
    outs = [node.render(f, params, context).rgb for f in (2, 3, 4)]  # three in-betweens of frames 1 and 2
    assert computed == ["fine"]
    again = RenderContext(fetch=lambda _n, f: frames[f], source_frames=[1, 2], shot_model=lambda: None)
    assert np.array_equal(node.render(3, params, again).rgb, outs[1])  # what a fresh render computes alone
    # Asked the other way round, the kept pair answers swapped: DIS gives the same flows either way.
    a, b = np.asarray(frames[1].rgb), np.asarray(frames[2].rgb)
    flows = kept_flows(context)
    forward, backward = flows(a, b, "medium")
    backward_kept, forward_kept = flows(b, a, "medium")
    assert computed == ["fine", "fine", "medium"]
    assert np.array_equal(forward_kept, forward) and np.array_equal(backward_kept, backward)
    assert all(np.array_equal(x, y) for x, y in zip(flow_pair(b, a, "medium"), (backward, forward)))
