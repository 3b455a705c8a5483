"""core.ops.retime: timing curves' arithmetic is tested with the node (tests/plugin/test_retime.py); here, how an
in-between is made, through the operation the node and bench/retime_quality.py both call."""

import numpy as np
import pytest

from tests.standins import FlatLatentModel
from vsae.core.colour import from_working, to_working
from vsae.core.ops.retime import RetimeOptions, blend_frames, retime_inbetween
from vsae.errors import ParameterError


def _flat(value, h=40, w=72):
    return np.full((h, w, 3), value, np.float32)


def _square_frames(t_values):
    from vsae.core.demo.procedural import ProceduralShot

    shot = ProceduralShot(width=128, height=64, frames=12)
    return [shot.render(t)[0] for t in t_values]


def test_nearest_and_whole_times_hand_back_the_neighbour_itself():
    a, b = _flat(0.1), _flat(0.9)
    assert retime_inbetween(a, b, 0.3, RetimeOptions("nearest"))[0] is a
    assert retime_inbetween(a, b, 0.7, RetimeOptions("nearest"))[0] is b
    assert retime_inbetween(a, b, 0.0, RetimeOptions("hybrid"))[0] is a  # no model asked for


def test_blend_mixes_colour_and_alpha_in_scene_linear():
    a, b = _flat(0.0), _flat(4.0)
    rgb, matte = retime_inbetween(a, b, 0.25, RetimeOptions("blend"), matte_a=_flat(0.0)[:, :, :1],
                                  matte_b=_flat(1.0)[:, :, :1])
    np.testing.assert_allclose(rgb, 1.0)
    np.testing.assert_allclose(matte, 0.25)
    _, dropped = retime_inbetween(a, b, 0.25, RetimeOptions("blend"), matte_a=_flat(1.0)[:, :, :1])
    assert dropped is None  # an alpha on one side only is not carried


def test_latent_decodes_the_interpolated_codes_and_uses_the_hosts_latents():
    """The stand-in's latent is the mean colour: the latent in-between is the working-range mix of the means."""
    a, b = _flat(0.05), _flat(0.8)
    model = FlatLatentModel()
    rgb, _ = retime_inbetween(a, b, 0.25, RetimeOptions("latent"), lambda: model)
    expected = from_working(0.75 * to_working(a) + 0.25 * to_working(b))
    np.testing.assert_allclose(rgb, expected, rtol=1e-4)
    assert model.encodes == 1
    cached = model.encode(np.stack([to_working(a), to_working(b)]).transpose(0, 3, 1, 2))[0]
    model.encodes = 0
    again, _ = retime_inbetween(a, b, 0.25, RetimeOptions("latent"), lambda: model, latents=lambda: cached)
    assert model.encodes == 0 and np.array_equal(again, rgb)


def test_flow_follows_a_moving_square_where_blend_ghosts():
    a, b, truth = _square_frames((4.0, 5.0, 4.5))
    flow, _ = retime_inbetween(a, b, 0.5, RetimeOptions("flow"))
    blend = blend_frames(to_working(a), to_working(b), 0.5)
    assert np.abs(to_working(flow) - to_working(truth)).mean() < np.abs(blend - to_working(truth)).mean()


def test_flow_moves_the_alpha_with_the_colour():
    a, b = _square_frames((4.0, 5.0))
    ma, mb = (np.clip(x.sum(axis=2, keepdims=True), 0, 1).astype(np.float32) for x in (a, b))
    _, matte = retime_inbetween(a, b, 0.5, RetimeOptions("flow"), matte_a=ma, matte_b=mb)
    assert matte.shape == ma.shape and 0.0 <= matte.min() and matte.max() <= 1.0
    assert not np.array_equal(matte, blend_frames(ma, mb, 0.5))


def test_hybrid_asks_for_the_model_and_flow_never_does():
    a, b = _square_frames((4.0, 5.0))
    asked = []

    def shot_model():
        asked.append(1)
        return FlatLatentModel()

    retime_inbetween(a, b, 0.5, RetimeOptions("flow"), shot_model)
    assert not asked
    rgb, _ = retime_inbetween(a, b, 0.5, RetimeOptions("hybrid"), shot_model)
    assert asked and rgb.shape == a.shape and rgb.dtype == np.float32


def test_an_unknown_method_is_named():
    with pytest.raises(ParameterError, match="method 'warp'"):
        retime_inbetween(_flat(0), _flat(1), 0.5, RetimeOptions("warp"))


def test_inbetween_positions_solve_for_where_a_pixel_came_from():
    """A zoom (flow growing away from the centre, F(p) = s (p - c)): the pixel at x halfway came from p with
    p + F(p) / 2 = x. Sampling the flow at x instead (one step) misses by t s |F| pixels toward the edges; the
    fixed-point steps land on the exact solution."""
    from vsae.core.ops.retime import inbetween_positions

    h, w, s = 32, 96, 0.2
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    centre = np.array([w / 2, h / 2], np.float32)
    flow = s * (np.dstack([xs, ys]) - centre)
    exact = (np.dstack([xs, ys]) + 0.5 * s * centre) / (1 + 0.5 * s)
    inner = (slice(4, -4), slice(12, -12))  # away from where the sampled flow is clamped at the border
    one_step = np.abs(inbetween_positions(flow, 0.5, iterations=0) - exact)[inner].max()
    solved = np.abs(inbetween_positions(flow, 0.5) - exact)[inner].max()
    assert one_step > 0.3 and solved < one_step / 10


def test_hybrid_takes_the_side_the_model_agrees_with_where_the_warps_disagree():
    """Two warps that disagree on a patch (one shows an object, the other background): the mix follows the side
    nearer the model's guide there, and keeps the plain flow mix where the warps agree."""
    from vsae.core.ops.retime import hybrid_inbetween

    rng = np.random.default_rng(0)
    back = rng.uniform(-0.5, 0.5, (48, 48, 3)).astype(np.float32)
    wa, wb = back.copy(), back.copy()
    wa[16:32, 16:32] = 0.8  # side a shows the object, side b background
    guide = back.copy()
    guide[16:32, 16:32] = 0.7  # the model's blurry idea: the object is there
    out, _ = hybrid_inbetween(wa, wb, 0.5, guide, model=None)
    np.testing.assert_allclose(out[20:28, 20:28], 0.8, atol=0.02)
    np.testing.assert_allclose(out[:8], back[:8], atol=1e-6)




def test_hybrid_mix_is_the_plain_formula_exactly():
    """hybrid_inbetween's weights, mix and ghost repair against the formulas written with broadcasts and means,
    bit for bit (the faster arithmetic changes no pixel)."""
    import cv2

    from tests.standins import BlurModel
    from vsae.core.model.inference import reproject_image
    from vsae.core.ops.retime import hybrid_inbetween

    rng = np.random.default_rng(4)
    wa, wb, guide = (cv2.GaussianBlur(rng.uniform(-0.8, 0.8, (40, 64, 3)).astype(np.float32), (0, 0), 2)
                     for _ in range(3))
    ma, mb = rng.random((40, 64, 1)).astype(np.float32), rng.random((40, 64, 1)).astype(np.float32)
    alpha, model = 0.3, BlurModel(5)

    def soft(x):
        return cv2.GaussianBlur(x, (0, 0), 3.0)

    da, db = np.abs(soft(wa) - soft(guide)).mean(axis=2), np.abs(soft(wb) - soft(guide)).mean(axis=2)
    ka = (1.0 - alpha) * np.exp(-(((da - np.minimum(da, db)) / 0.1) ** 2))
    kb = alpha * np.exp(-(((db - np.minimum(da, db)) / 0.1) ** 2))
    ka, kb = ka[..., None] / (ka + kb)[..., None], kb[..., None] / (ka + kb)[..., None]
    mix = ka * wa + kb * wb
    mask = np.clip(np.abs(cv2.GaussianBlur(wa - wb, (0, 0), 2.0)).mean(axis=2) / 0.05 - 1.0, 0.0, 1.0)[..., None]
    assert 0 < mask.mean() < 1  # the repair is used in part
    expected = mix + mask * (reproject_image(model, mix) - mix)
    out, matte = hybrid_inbetween(wa, wb, alpha, guide, model, 1, 0.1, 0.05, ma, mb)
    assert np.array_equal(out, expected) and np.array_equal(matte, ka * ma + kb * mb)
