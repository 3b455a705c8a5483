"""Temporal stability of per-frame results: neighbours' results aligned onto a frame by optical flow, and the
flicker that per-frame reprojection leaves.

Reprojection treats every frame alone, so detail the model invents can change from one frame to the next where the
shot does not (flicker). ``stabilise`` averages a frame's result with its neighbours' results, each warped onto the
frame along DIS optical flow between *guides* (pictures whose motion is the shot's: the inputs, at any size), and
weighted where the flow holds both ways and the warped guide matches. ``temporal_error`` measures flicker: the mean
change between consecutive frames after motion compensation, to be read beside the source's own.
All colour arrays here are (H, W, 3) float32 in the working range unless a docstring says otherwise.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from vsae.core.ops.planes import channel_mean, channel_sum, repeat_plane

# A pixel whose flow does not come back within this many pixels (of the guide), or whose warped guide differs by
# more than this in the working range (-1, 1), is occluded or mis-tracked: its neighbour's result is not used there.
FLOW_TOLERANCE_PX = 1.0
MIN_FLOW_SIDE = 32
GUIDE_TOLERANCE = 0.08


@functools.lru_cache(maxsize=2)
def _grid(h: int, w: int) -> np.ndarray:
    """(h, w, 2) float32 pixel positions (x, y), read-only: the last two sizes kept (the guides' and the result's:
    every aligned frame of a shot wants them; a 1080p grid costs 9 ms to build and holds 16 MB)."""
    grid = np.dstack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))
    grid.flags.writeable = False
    return grid


def align(image: np.ndarray, guide: np.ndarray, image_guide: np.ndarray,
          detail: str = "medium", flows=None) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (a neighbour's (H, W, C) result) warped onto the frame of ``guide``; ``image_guide`` is the
    neighbour's own guide. Flow is estimated between the guides ((h, w, 3) working range, any size: guides smaller
    than the image, such as Upres's low-res inputs, give the flow at their size for a fraction of the cost, scaled
    up). flows: what computes the flows (``core.ops.retime.FlowPair``; default ``flow_pair``). Returns (warped
    (H, W, C) float32, weight (H, W, 1) float32 in [0, 1]: 1 where the flow holds both ways and the warped guide
    matches, 0 where it does not)."""
    import cv2

    from vsae.core.ops.retime import flow_pair

    h, w = guide.shape[:2]
    if min(h, w) < MIN_FLOW_SIDE:  # DIS needs some pixels to work on: tiny guides are enlarged (at most to the image)
        k = min(MIN_FLOW_SIDE / min(h, w), image.shape[0] / h, image.shape[1] / w)
        size = (max(1, round(w * k)), max(1, round(h * k)))
        guide, image_guide = (cv2.resize(g, size, interpolation=cv2.INTER_CUBIC) for g in (guide, image_guide))
        h, w = guide.shape[:2]
    # guide(p) shows what image_guide shows at p + F(p)
    forward, backward = (flows or flow_pair)(guide, image_guide, detail)
    pos = _grid(h, w) + forward
    # cv2.remap takes the (H, W, 2) positions as one two-channel map: the same samples as x and y passed apart,
    # without the two strided copies that separate maps cost.
    back = cv2.remap(backward, pos, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    back += forward  # the loop's error: zero where the flow comes back to where it started
    loop_error = channel_sum(np.square(back, out=back))
    np.sqrt(loop_error, out=loop_error)
    guide_error = channel_mean(np.abs(np.subtract(_sampled(image_guide, pos), guide)))
    inside = (pos[..., 0] >= 0) & (pos[..., 0] <= w - 1) & (pos[..., 1] >= 0) & (pos[..., 1] <= h - 1)
    scale = image.shape[1] / w, image.shape[0] / h
    weight = ((loop_error < FLOW_TOLERANCE_PX) & (guide_error < GUIDE_TOLERANCE) & inside).astype(np.float32)
    if scale != (1.0, 1.0):
        size = (image.shape[1], image.shape[0])
        forward = np.asarray(cv2.resize(forward, size, interpolation=cv2.INTER_LINEAR), np.float32)  # no copy
        for axis in (0, 1):  # each plane by its own factor (as float32): a broadcast over a last axis of 2 is slow
            forward[..., axis] *= np.float32(scale[axis])
        weight = cv2.resize(weight, size, interpolation=cv2.INTER_LINEAR)
        pos = np.add(_grid(image.shape[0], image.shape[1]), forward, out=forward)
    weight = cv2.GaussianBlur(weight, (0, 0), 1.0)[..., None]  # no hard seams where neighbours drop out
    return _sampled(image, pos), weight


def _sampled(image: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``warp(image, pos)`` as float32 (the same samples), with pos as one two-channel map."""
    import cv2

    out = cv2.remap(np.ascontiguousarray(image), pos, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out.reshape(pos.shape[:2] + image.shape[2:]).astype(np.float32, copy=False)


def stabilise(result: np.ndarray, guide: np.ndarray, neighbours: Sequence[tuple[np.ndarray, np.ndarray]],
              detail: str = "medium", flows=None) -> np.ndarray:
    """A frame's ``result`` averaged with its neighbours' results aligned onto it.

    result, guide: this frame's (H, W, 3) result and guide; neighbours: (result, guide) of nearby frames (the
    frames before and after); flows: as ``align``'s. Returns (H, W, 3) float32: where no neighbour aligns,
    ``result`` itself."""
    total = np.array(result, np.float32)
    weight = np.ones(result.shape[:2] + (1,), np.float32)
    for other, other_guide in neighbours:
        warped, w = align(other, guide, other_guide, detail, flows)
        total += np.multiply(warped, repeat_plane(w, warped.shape[2]), out=warped)  # warped is align's own array
        weight += w
    return np.divide(total, repeat_plane(weight, total.shape[2]), out=total)


def temporal_error(frames: Sequence[np.ndarray], guides: Sequence[np.ndarray] | None = None,
                   detail: str = "medium", regions: Sequence[np.ndarray] | None = None) -> float:
    """Flicker of a sequence: the mean absolute difference between each frame and the one before it warped onto it
    along optical flow, over pixels where the flow holds both ways.

    frames: (H, W, 3) display values in [0, 1], in order; guides: pictures whose motion is followed (default: the
    frames themselves; give the source so that results are compared along the same motion); regions: (H, W) bool
    per frame, where it is measured (default: everywhere). A source's own figure is its floor: lighting, noise and
    the flow's own errors."""
    guides = frames if guides is None else guides
    errors = []
    for t in range(1, len(frames)):
        g_now = np.asarray(guides[t], np.float32) * 2 - 1  # display [0, 1] as the flow's working range
        g_before = np.asarray(guides[t - 1], np.float32) * 2 - 1
        warped, weight = align(np.asarray(frames[t - 1], np.float32), g_now, g_before, detail)
        valid = weight[..., 0] > 0.99
        if regions is not None:
            valid &= np.asarray(regions[t], bool)
        if valid.any():
            errors.append(float(np.abs(np.asarray(frames[t], np.float32) - warped)[valid].mean()))
    return float(np.mean(errors)) if errors else 0.0
