"""A plane in every channel, channels summed and averaged: the values numpy's broadcasts and reductions give."""

import numpy as np

from vsae.core.ops.planes import channel_mean, channel_sum, repeat_plane


def test_a_plane_repeated_gives_the_broadcasts_values():
    rng = np.random.default_rng(0)
    colour = rng.standard_normal((37, 53, 3)).astype(np.float32)
    weight = rng.random((37, 53, 1)).astype(np.float32)
    assert np.array_equal(colour * repeat_plane(weight, 3), colour * weight)
    assert np.array_equal(colour / repeat_plane(weight[..., 0], 3), colour / weight)
    held = weight[..., 0] > 0.5
    assert repeat_plane(held, 4).dtype == bool and (repeat_plane(held, 4) == held[..., None]).all()
    assert repeat_plane(weight, 1) is weight and repeat_plane(weight[..., 0], 1).shape == (37, 53, 1)


def test_channels_summed_in_order_give_the_sum_and_mean():
    rng = np.random.default_rng(1)
    for channels in (1, 2, 3, 4):
        a = (rng.standard_normal((29, 31, channels)) * 1e3).astype(np.float32)
        assert np.array_equal(channel_sum(a), a.sum(axis=2))
        assert np.array_equal(channel_mean(a), a.mean(axis=2))
