"""Temporal stability: neighbours' results aligned by optical flow, averaged, and flicker measured."""

import numpy as np

from vsae.core.ops.temporal import align, stabilise, temporal_error


def _scene(shift: float, size=(64, 96)) -> np.ndarray:
    """A smooth pattern moved ``shift`` pixels to the right: (H, W, 3) working range."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    x = xx - shift
    grey = 0.5 * np.sin(x / 5.0) * np.cos(yy / 7.0) + 0.3 * np.sin((x + yy) / 11.0)
    return np.repeat(grey[..., None], 3, axis=2).astype(np.float32)


def test_a_neighbour_is_warped_onto_the_frame_where_the_flow_holds():
    frame, neighbour = _scene(0.0), _scene(3.0)
    warped, weight = align(neighbour, frame, neighbour)
    inner = (slice(8, -8), slice(12, -12))
    assert np.abs(warped - frame)[inner].mean() < 0.25 * np.abs(neighbour - frame)[inner].mean()
    assert weight[inner].mean() > 0.9


def test_guides_smaller_than_the_result_give_the_flow_at_their_size():
    """Upres's guides are its low-res inputs: the flow is found at their size (enlarged to DIS's minimum when
    tiny) and scaled up to move the full-size neighbour."""
    import cv2

    frame, neighbour = _scene(0.0, (128, 192)), _scene(4.0, (128, 192))
    for factor in (4, 16):
        small = [cv2.resize(x, (192 // factor, 128 // factor), interpolation=cv2.INTER_AREA) for x in (frame,
                                                                                                      neighbour)]
        warped, weight = align(neighbour, small[0], small[1])
        assert warped.shape == frame.shape and weight.shape == (128, 192, 1)
        if factor == 4:  # at 1/16 this pattern is gone: 12 x 8 guides are only checked to work
            inner = (slice(16, -16), slice(24, -24))
            assert np.abs(warped - frame)[inner].mean() < 0.5 * np.abs(neighbour - frame)[inner].mean()


def test_averaging_aligned_neighbours_removes_what_changes_from_frame_to_frame():
    rng = np.random.default_rng(0)
    frames = [_scene(2.0 * t) for t in range(3)]
    noisy = [f + rng.normal(0, 0.05, f.shape).astype(np.float32) for f in frames]  # invented detail: flicker
    out = stabilise(noisy[1], frames[1], [(noisy[0], frames[0]), (noisy[2], frames[2])])
    inner = (slice(8, -8), slice(12, -12))
    assert np.abs(out - frames[1])[inner].mean() < 0.75 * np.abs(noisy[1] - frames[1])[inner].mean()


def test_flicker_counts_changes_the_motion_does_not_explain():
    rng = np.random.default_rng(1)
    moving = [np.clip(_scene(1.5 * t) * 0.5 + 0.5, 0, 1) for t in range(5)]
    flickering = [np.clip(f + rng.normal(0, 0.03, f.shape), 0, 1).astype(np.float32) for f in moving]
    steady = temporal_error(moving)
    assert steady < 0.01
    assert temporal_error(flickering, moving) > 2 * steady + 0.01
    left = [np.zeros(f.shape[:2], bool) for f in moving]
    for region in left:
        region[:, :40] = True
    half = [f.copy() for f in moving]
    for f in half[1::2]:
        f[:, 48:] = np.clip(f[:, 48:] + 0.1, 0, 1)  # a flicker on the right only
    assert temporal_error(half, moving, regions=left) < 0.5 * temporal_error(half, moving)
