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


def test_stabilise_is_the_weighted_mean_of_the_aligned_frames_exactly():
    """The plain formula: (result + sum of weight x warped) / (1 + sum of weights), with align's own weights whose
    loop and guide errors are numpy's norm and mean; bit for bit, so the faster arithmetic changes no pixel."""
    import cv2

    from vsae.core.ops.retime import flow_pair, warp
    from vsae.core.ops.temporal import FLOW_TOLERANCE_PX, GUIDE_TOLERANCE

    rng = np.random.default_rng(2)
    frames = [_scene(2.5 * t, (96, 160)) + rng.normal(0, 0.05, (96, 160, 3)).astype(np.float32) for t in range(3)]
    guides = [cv2.resize(f, (80, 48), interpolation=cv2.INTER_AREA) for f in frames]
    total, weights = frames[1].copy(), np.ones((96, 160, 1), np.float32)
    for other, other_guide in ((frames[0], guides[0]), (frames[2], guides[2])):
        forward, backward = flow_pair(guides[1], other_guide, "medium")
        grid = np.dstack(np.meshgrid(np.arange(80, dtype=np.float32), np.arange(48, dtype=np.float32)))
        pos = grid + forward
        back = cv2.remap(backward, pos[..., 0], pos[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        holds = np.linalg.norm(forward + back, axis=2) < FLOW_TOLERANCE_PX
        holds &= np.abs(warp(other_guide, pos) - guides[1]).mean(axis=2) < GUIDE_TOLERANCE
        holds &= (pos[..., 0] >= 0) & (pos[..., 0] <= 79) & (pos[..., 1] >= 0) & (pos[..., 1] <= 47)
        big = cv2.resize(forward, (160, 96), interpolation=cv2.INTER_LINEAR) * np.float32(2)
        w = cv2.resize(holds.astype(np.float32), (160, 96), interpolation=cv2.INTER_LINEAR)
        w = cv2.GaussianBlur(w, (0, 0), 1.0)[..., None]
        grid = np.dstack(np.meshgrid(np.arange(160, dtype=np.float32), np.arange(96, dtype=np.float32)))
        total += w * warp(other, grid + big)
        weights += w
    expected = total / weights
    out = stabilise(frames[1], guides[1], [(frames[0], guides[0]), (frames[2], guides[2])])
    assert 0.2 < float(weights.mean()) - 1 < 2  # the neighbours were used, in part
    assert np.array_equal(out, expected)
