"""Clean Plate: fill a hole (boxes or a matte) with what should be behind it, then composite inside the hole only.

A first guess fills the hole, iterative reprojection through the shot model pulls it onto the shot's manifold
with the pixels outside the hole held fixed (x <- keep(source, g(f(x)))), and the result is composited back through
the feathered hole matte: outside it the frame is the source, bit for bit.

First guesses:
- ``surround`` (the paper's): the hole's surroundings mirrored into it from its four sides, nearest side weighted most.
- ``temporal``: the same place in other frames of the shot, aligned by DIS optical flow whose field is completed
  across the hole from its surroundings (the hole's own motion is what must not be followed); the median of the
  nearest frames that see the place uncovered; ``surround`` where none does.
- ``plate``: a locked-off shot's clean background, the per-pixel median of frames where the place is uncovered.

Boxes: ``x0,y0,x1,y1`` in pixels, origin at the top-left corner, x1/y1 exclusive; keyed per frame as
``frame:x0,y0,x1,y1``, linear between keys and held before the first and after the last; several boxes are
separated by ``|``. Arrays: frames (H, W, 3) float32 working range, holes (H, W) bool, mattes (H, W) float32.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vsae.errors import InputError, ParameterError
from vsae.core.model.inference import ModelSource, Reprojector, model_from, reproject_image
from vsae.core.ops.retime import flow_grey

FILLS = ("temporal", "surround", "plate")


@dataclass(frozen=True)
class CleanPlateOptions:
    """How a hole is filled: the first guess (``fill``, one of FILLS), reprojections through the shot model of what
    no other frame uncovers (``iterations``), and the hole grown by ``grow`` pixels (negative shrinks) and feathered
    outward over ``feather`` pixels."""

    fill: str = "temporal"
    iterations: int = 5
    grow: int = 4
    feather: float = 2.0

Box = tuple[float, float, float, float]


def parse_boxes(text: str) -> list[list[tuple[int | None, Box]]]:
    """Box tracks from ``frame:x0,y0,x1,y1; ... | ...`` (or a file holding that text).

    >>> parse_boxes("1001:10,10,50,40; 1011:30,10,70,40 | 5,5,9,9")
    [[(1001, (10.0, 10.0, 50.0, 40.0)), (1011, (30.0, 10.0, 70.0, 40.0))], [(None, (5.0, 5.0, 9.0, 9.0))]]
    """
    if text and os.path.isfile(text):
        with open(text) as fh:
            text = fh.read().replace("\n", ";")
    tracks = []
    for track_text in text.split("|"):
        keys = []
        for key in filter(None, (k.strip() for k in track_text.split(";"))):
            frame, _, coords = key.rpartition(":")
            try:
                box = tuple(float(v) for v in coords.split(","))
                number = int(frame) if frame.strip() else None
            except ValueError:
                raise ParameterError(f"boxes {key!r}: expected [frame:]x0,y0,x1,y1") from None
            if len(box) != 4:
                raise ParameterError(f"boxes {key!r}: expected [frame:]x0,y0,x1,y1")
            if box[2] <= box[0] or box[3] <= box[1]:
                raise ParameterError(f"boxes {key!r}: x1,y1 must be right of and below x0,y0")
            keys.append((number, box))
        if keys:
            if len(keys) > 1 and any(f is None for f, _ in keys):
                raise ParameterError(f"boxes {track_text.strip()!r}: several keys of one box each need a frame")
            tracks.append(sorted(keys, key=lambda k: k[0] or 0))
    return tracks


def scale_boxes(text: str, scale: float) -> str:
    """Box tracks (``parse_boxes`` text or file) with every coordinate times ``scale``, as text (proxy renders).

    >>> scale_boxes("1001:10,10,50,40 | 5,5,9,9", 0.5)
    '1001:5,5,25,20 | 2.5,2.5,4.5,4.5'
    """
    def key(frame, box):
        coords = ",".join(f"{v * scale:g}" for v in box)
        return coords if frame is None else f"{frame}:{coords}"

    return " | ".join("; ".join(key(f, b) for f, b in track) for track in parse_boxes(text))


def box_at(track: list[tuple[int | None, Box]], frame: float) -> Box:
    """A box track's box at ``frame``: linear between keys, held outside them."""
    if len(track) == 1:
        return track[0][1]
    keys = [(float(f), box) for f, box in track if f is not None]  # a track of several boxes keys each one
    if frame <= keys[0][0]:
        return keys[0][1]
    if frame >= keys[-1][0]:
        return keys[-1][1]
    for (fa, a), (fb, b) in zip(keys, keys[1:]):
        if fa <= frame <= fb:
            t = (frame - fa) / (fb - fa)
            x0, y0, x1, y1 = ((1 - t) * va + t * vb for va, vb in zip(a, b))
            return x0, y0, x1, y1
    raise AssertionError("unreachable")


BOX_ORIGINS = ("top-left", "bottom-left")


def boxes_hole(tracks, frame: int, height: int, width: int, origin: str = "top-left") -> np.ndarray:
    """(H, W) bool: the union of every track's box at ``frame``; a box wholly outside the frame is an error.
    origin: where the boxes' y is measured from: ``top-left`` (image rows) or ``bottom-left`` (Nuke's and
    OpenFX's convention, y up)."""
    if origin not in BOX_ORIGINS:
        raise ParameterError(f"box origin {origin!r}: expected one of {', '.join(BOX_ORIGINS)}")
    hole = np.zeros((height, width), bool)
    for i, track in enumerate(tracks):
        x0, y0, x1, y1 = box_at(track, frame)
        if origin == "bottom-left":
            y0, y1 = height - y1, height - y0
        if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
            raise ParameterError(f"box {i + 1} at frame {frame} ({x0:g},{y0:g},{x1:g},{y1:g}): outside the "
                                 f"{width}x{height} frame")
        hole[max(0, round(y0)):min(height, round(y1)), max(0, round(x0)):min(width, round(x1))] = True
    return hole


def hole_matte(hole: np.ndarray, grow: int = 0, feather: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Grow (or shrink, if negative) a hole by ``grow`` pixels, then feather it outward over ``feather`` pixels.

    Returns (hard (H, W) bool: the pixels to fill, soft (H, W) float32: the composite matte, 1 on ``hard`` and
    exactly 0 beyond the feather, so everything past it stays the source bit for bit).
    """
    import cv2

    hard: np.ndarray = hole.astype(np.uint8)
    if grow:
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(grow) + 1, 2 * abs(grow) + 1))
        hard = cv2.dilate(hard, disk) if grow > 0 else cv2.erode(hard, disk)
    soft = hard.astype(np.float32)
    if feather > 0 and hard.any():
        outside = cv2.distanceTransform(1 - hard, cv2.DIST_L2, 5)
        soft = np.clip(1.0 - outside / feather, 0.0, 1.0).astype(np.float32)
        # The ramp's pixels are filled too (they blend fill and source), so the fill must cover them.
        hard = soft > 0
    return hard.astype(bool), soft


def surround_fill(x: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Fill each connected part of ``hole`` by mirroring its surroundings in from the four sides of its bounding
    box, each side weighted by 1 / distance^2; OpenCV's Telea inpainting where no side has pixels to give.

    x: (H, W, C) float32; hole: (H, W) bool. Returns a copy with the hole filled.
    """
    import cv2

    out = np.array(x, dtype=np.float32, copy=True)
    h, w = hole.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    leftover = np.zeros_like(hole)
    for c in range(1, count):
        bx, by, bw, bh = stats[c, :4]
        ys, xs = np.nonzero(labels[by:by + bh, bx:bx + bw] == c)
        ys, xs = ys + by, xs + bx
        acc = np.zeros((len(ys), x.shape[2]), np.float64)
        wsum = np.zeros(len(ys), np.float64)
        for sy, sx, dist in ((ys, 2 * bx - 1 - xs, xs - bx + 1), (ys, 2 * (bx + bw) - 1 - xs, bx + bw - xs),
                             (2 * by - 1 - ys, xs, ys - by + 1), (2 * (by + bh) - 1 - ys, xs, by + bh - ys)):
            ok = (sy >= 0) & (sy < h) & (sx >= 0) & (sx < w)
            ok[ok] = ~hole[sy[ok], sx[ok]]
            wgt = ok / dist.astype(np.float64) ** 2
            acc[ok] += x[sy[ok], sx[ok]] * wgt[ok, None]
            wsum += wgt
        found = wsum > 0
        out[ys[found], xs[found]] = (acc[found] / wsum[found, None]).astype(np.float32)
        leftover[ys[~found], xs[~found]] = True
    if leftover.any():
        mask = leftover.astype(np.uint8)
        for ch in range(out.shape[2]):
            out[:, :, ch] = cv2.inpaint(np.ascontiguousarray(out[:, :, ch]), mask, 3, cv2.INPAINT_TELEA)
    return out


def complete_flow(flow: np.ndarray, hole: np.ndarray, near: int = 16, far: int = 40) -> np.ndarray:
    """Replace the flow in and around each part of ``hole`` by an affine motion fitted to a band around it.

    Inside the hole the flow follows what is to be removed, and up to ``near`` pixels out it is smeared by the
    flow's own smoothing; the band from ``near`` to ``far`` pixels out holds the background's motion. An affine
    fit (with one pass dropping outliers) carries pans, zooms and rotations across the hole.
    flow: (H, W, 2) float32; hole: (H, W) bool. Returns a new (H, W, 2).
    """
    import cv2

    out = flow.copy()
    h, w = hole.shape
    inner = cv2.dilate(hole.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * near + 1,) * 2))
    outer = cv2.dilate(hole.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * far + 1,) * 2))
    count, labels = cv2.connectedComponents(outer)
    for c in range(1, count):
        part = labels == c
        by, bx = np.nonzero(part & (inner == 0))
        if len(by) < 6:
            continue
        design = np.stack([bx, by, np.ones_like(bx)], axis=1).astype(np.float64)
        target = flow[by, bx].astype(np.float64)
        keep = np.ones(len(by), bool)
        for _ in range(2):
            coef, *_ = np.linalg.lstsq(design[keep], target[keep], rcond=None)
            residual = np.linalg.norm(design @ coef - target, axis=1)
            keep = residual <= max(2.5 * np.median(residual), 0.5)
        fy, fx = np.nonzero(part & (inner > 0))
        out[fy, fx] = (np.stack([fx, fy, np.ones_like(fx)], axis=1) @ coef).astype(np.float32)
    return out


def sample_points(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``image`` (H, W, C) float32 sampled bilinearly at the N points (xs, ys), edges replicated: (N, C).

    cv2.remap takes maps of fewer than 32767 columns, so the points go in rows of at most 16384 (a hole of 200x170
    pixels is already more than one row can hold).
    """
    import cv2

    row = 16384
    n = len(xs)
    rows = max(1, -(-n // row))
    maps = [np.zeros(rows * row, np.float32) for _ in range(2)]
    maps[0][:n], maps[1][:n] = xs, ys
    out = cv2.remap(image, maps[0].reshape(rows, row), maps[1].reshape(rows, row), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(rows * row, -1)[:n]


def temporal_fill(target: np.ndarray, hole: np.ndarray, others: Sequence[tuple[np.ndarray, np.ndarray]],
                  sources: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Fill ``hole`` from other frames, nearest first: each is aligned to the target by DIS flow completed across
    the hole, and each hole pixel takes the median of the first ``sources`` frames that see it uncovered.

    target: (H, W, 3); hole: (H, W) bool; others: [(frame (H, W, 3), its own hole (H, W) bool)], nearest in time
    first. Returns (filled (H, W, 3), found (H, W) bool: hole pixels some frame uncovered); pixels not found hold
    the surround fill.
    """
    import cv2

    h, w = hole.shape
    guess = surround_fill(target, hole)  # the hole's own content must not steer the flow
    grey = flow_grey(guess)
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    ys, xs = np.nonzero(hole)
    samples = np.full((sources, len(ys), target.shape[2]), np.nan, np.float32)
    taken = np.zeros(len(ys), int)
    for frame, other_hole in others:
        if (taken >= sources).all():
            break
        towards = flow_grey(surround_fill(frame, other_hole))
        flow = complete_flow(dis.calc(grey, towards, None), hole)  # type: ignore[call-overload]
        mx, my = gx[ys, xs] + flow[ys, xs, 0], gy[ys, xs] + flow[ys, xs, 1]
        inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        px, py = np.clip(np.round(mx).astype(int), 0, w - 1), np.clip(np.round(my).astype(int), 0, h - 1)
        ok = inside & ~other_hole[py, px] & (taken < sources)
        values = sample_points(frame, mx, my).reshape(len(ys), -1)
        samples[taken[ok], np.nonzero(ok)[0]] = values[ok]
        taken += ok
    found = taken > 0
    out = guess.copy()
    if found.any():
        out[ys[found], xs[found]] = np.nanmedian(samples[:, found], axis=0)
    mask = np.zeros_like(hole)
    mask[ys[found], xs[found]] = True
    return out, mask


def plate_fill(target: np.ndarray, hole: np.ndarray,
               others: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Fill ``hole`` from a locked-off shot's clean plate: per pixel, the median of the other frames where that
    pixel is outside their hole. Same arguments and return as ``temporal_fill``; no alignment."""
    if not others:  # a one-frame shot
        return surround_fill(target, hole), np.zeros_like(hole)
    stack = np.stack([f for f, _ in others])
    covered = np.stack([hh for _, hh in others])
    ys, xs = np.nonzero(hole)
    values = stack[:, ys, xs].astype(np.float32)
    values[covered[:, ys, xs]] = np.nan
    found = ~np.isnan(values[..., 0]).all(axis=0)
    out = surround_fill(target, hole)
    if found.any():
        out[ys[found], xs[found]] = np.nanmedian(values[:, found], axis=0)
    mask = np.zeros_like(hole)
    mask[ys[found], xs[found]] = True
    return out, mask


def reproject_fill(model: Reprojector, source: np.ndarray, guess: np.ndarray, hole: np.ndarray,
                   iterations: int) -> np.ndarray:
    """Iterative reprojection of the hole with everything else held to the source: x <- where(hole, g(f(x)), source).

    source, guess: (H, W, 3) working range; hole: (H, W) bool. Returns (H, W, 3).
    """
    x = np.where(hole[:, :, None], guess, source).astype(np.float32)
    for _ in range(iterations):
        y = reproject_image(model, x)
        x = np.where(hole[:, :, None], y, source).astype(np.float32)
    return x


def fill_frames(frame: int, shot_frames: Sequence[int], fill: str, search: int) -> list[int]:
    """The frames a ``temporal`` or ``plate`` fill of ``frame`` reads, nearest first (none for ``surround``): the
    ``2 * search`` nearest, or for ``plate`` that many spread over the whole shot.

    >>> fill_frames(5, range(1, 11), "temporal", 2)
    [4, 6, 3, 7]
    """
    if fill == "surround":
        return []
    frames = [f for f in shot_frames if f != frame]
    if fill == "plate" and len(frames) > 2 * search:  # a locked-off plate: spread over the whole shot
        step = len(frames) / (2 * search)
        frames = [frames[int(i * step)] for i in range(2 * search)]
    return sorted(frames, key=lambda f: (abs(f - frame), f))[:2 * search]


def clean_plate(target: np.ndarray, hole: np.ndarray, others: Sequence[tuple[np.ndarray, np.ndarray]],
                shot_model: ModelSource | None,
                options: CleanPlateOptions = CleanPlateOptions()) -> tuple[np.ndarray, np.ndarray]:
    """Clean Plate's whole algorithm on one frame: what should be behind ``hole``, and the matte to lay it in by.

    The hole is grown and feathered (``hole_matte``); the first guess fills it (``options.fill``); what other frames
    uncover is real picture and is held like the surroundings, and only the rest is reprojected through the shot
    model ``options.iterations`` times (``reproject_fill``). target: (H, W, 3) float32 working range; hole: (H, W) bool
    before growing; others: [(frame (H, W, 3) working range, its hole (H, W) bool before growing)], nearest in time
    first (``fill_frames``; unused by ``surround``); shot_model: returns the ShotModel, called only when some pixel
    is left to reproject (a node's model may not be trained yet; None with 0 iterations).
    Returns (fill (H, W, 3) float32 working range, equal to ``target`` where the matte is 0; matte (H, W) float32 in
    [0, 1], all 0 when the hole is empty). Composite with ``composite`` in scene-linear.
    """
    if options.fill not in FILLS:
        raise ParameterError(f"fill {options.fill!r}: expected one of {', '.join(FILLS)}")
    hard, soft = hole_matte(hole, options.grow, options.feather)
    if not hard.any():  # nothing to remove on this frame (the object is out of shot)
        return np.array(target, np.float32), soft
    cut = np.where(hard[:, :, None], 0.0, target).astype(np.float32)
    if options.fill == "surround":
        guess = surround_fill(cut, hard)
    else:
        grown = [(frame, hole_matte(other_hole, options.grow, options.feather)[0]) for frame, other_hole in others]
        guess, found = (temporal_fill if options.fill == "temporal" else plate_fill)(cut, hard, grown)
        # What other frames uncovered is held like the surroundings; the model fills only the rest (on held-out
        # DAVIS frames 23.25 dB against 21.70 when the model redoes the whole hole).
        cut = np.where(found[:, :, None], guess, cut).astype(np.float32)
        hard = hard & ~found
    if options.iterations and hard.any():
        guess = reproject_fill(model_from(shot_model, "Clean Plate's reprojection"), cut, guess, hard,
                               options.iterations)
    return guess, soft


def composite(source: np.ndarray, fill: np.ndarray, matte: np.ndarray) -> np.ndarray:
    """source over which ``fill`` is laid through ``matte``; where the matte is 0 the source is returned bit for bit.

    source, fill: (H, W, C); matte: (H, W) in [0, 1].
    """
    m = matte[:, :, None]
    return np.where(m > 0, source * (1 - m) + fill * m, source).astype(source.dtype)


def matte_from_frame(frame, name: str, height: int, width: int) -> np.ndarray:
    """The hole matte a clip's frame carries: its alpha, or the mean of its colour channels without one.

    Returns (H, W) float32; a size other than the plate's is an error naming ``name``.
    """
    plane = frame.alpha[:, :, 0] if frame.alpha is not None else frame.rgb.mean(axis=2)
    if plane.shape != (height, width):
        raise InputError(f"{name}: matte is {plane.shape[1]}x{plane.shape[0]}, the plate {width}x{height}")
    return np.clip(plane, 0.0, 1.0).astype(np.float32)
