import numpy as np

from vsae.core import colour


def test_working_transform_inverts_exactly_from_0_to_64():
    x = np.linspace(0.0, 64.0, 20001, dtype=np.float32)
    back = colour.from_working(colour.to_working(x))
    np.testing.assert_allclose(back, x, rtol=2e-5, atol=1e-7)


def test_negative_values_and_highlights_survive():
    x = np.array([-0.5, -0.01, 0.0, 0.18, 1.0, 4.0, 100.0], np.float32)
    w = colour.to_working(x)
    assert np.all(np.abs(w) < 1.0)
    assert np.all(np.diff(w) > 0), "the transform must be monotonic"
    np.testing.assert_allclose(colour.from_working(w), x, rtol=1e-5, atol=1e-7)


def test_srgb_curve_round_trip():
    v = np.linspace(0, 1, 1001, dtype=np.float32)
    np.testing.assert_allclose(colour.linear_to_srgb(colour.srgb_to_linear(v)), v, atol=2e-6)


def test_premultiply_round_trip_keeps_colour_where_alpha_is_zero():
    rgb = np.full((2, 2, 3), 0.5, np.float32)
    alpha = np.array([[[1.0], [0.5]], [[0.25], [0.0]]], np.float32)
    straight = colour.unpremultiply(colour.premultiply(rgb, alpha), alpha)
    np.testing.assert_allclose(straight[alpha[..., 0] > 0], rgb[alpha[..., 0] > 0], rtol=1e-6)


def test_rec709_is_bt1886_gamma_2_4_and_round_trips_with_overshoot():
    from vsae.core.colour import linear_to_rec709, rec709_to_linear

    v = np.array([-0.1, 0.0, 0.5, 1.0, 1.2], np.float32)
    assert np.allclose(rec709_to_linear(v)[2], 0.5 ** 2.4)
    assert np.allclose(linear_to_rec709(rec709_to_linear(v)), v, atol=1e-6)


def test_whole_frames_convert_in_blocks_to_the_values_of_one_pass():
    # The formulas written out once over the whole array, as a frame was converted before it was split and its
    # passes made in place; compared bit for bit (a zero's sign too) over every kind of float32.
    def to_working_once(x):
        s = colour.GAIN * np.sign(x) * np.power(np.abs(x), 1.0 / colour.GAMMA)
        return (s / (1.0 + np.abs(s))).astype(np.float32)

    def from_working_once(w):
        w = np.clip(np.asarray(w, dtype=np.float64), -colour.WORKING_LIMIT, colour.WORKING_LIMIT)
        return (np.sign(w) * np.power(np.abs(w) / (1.0 - np.abs(w)) / colour.GAIN, colour.GAMMA)).astype(np.float32)

    rng = np.random.default_rng(0)
    linear = (rng.standard_normal((541, 963, 3)) * 4).astype(np.float32)
    bits = rng.integers(0, 2 ** 32, linear.size // 3, dtype=np.uint64).astype(np.uint32).view(np.float32)
    linear.flat[:bits.size] = np.where(np.isfinite(bits), bits, 0.5)  # tiny, huge and subnormal values too
    linear.flat[:6] = [0.0, -0.0, 65504.0, -65504.0, 1e-30, 0.18]
    working = rng.uniform(-1.01, 1.01, (3, 541, 963)).astype(np.float32).transpose(1, 2, 0)  # a model's layout
    working[0, :4] = [[0.0, -0.0, 1e-40], [-1e-40, 0.99679, -0.9999], [1.0, -1.0, 0.5], [-0.5, 1e-3, -1e-3]]
    assert linear.size > 2 * colour.PART_VALUES and linear.size % colour.PART_VALUES  # blocks, the last one short

    def same_bits(a, b):
        return a.dtype == b.dtype == np.float32 and np.array_equal(a.view(np.uint32), b.view(np.uint32))

    assert same_bits(colour.to_working(linear), to_working_once(linear))
    got = colour.from_working(working)
    assert got.shape == working.shape and got.flags.c_contiguous
    assert same_bits(got, from_working_once(working))
