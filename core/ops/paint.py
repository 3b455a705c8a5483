"""Paint and reproject (the paper's edits: copy a patch from another frame or paste new content, then project the
edited frame onto the shot): content laid into a hole, then only the hole reprojected through the shot model with
every other pixel held, so the paste takes on the shot's own look and its seams close.

The content comes from another frame of the shot (``frame``: ``offset`` frames away, aligned to this frame by
optical flow when ``follow`` is on, so the paste moves with the shot), from the same frame (``clone``) or from a
still image (``still``), translated by (``dx``, ``dy``) pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsae.core.model.inference import ModelSource, model_from
from vsae.errors import ParameterError

SOURCES = ("frame", "clone", "still")


@dataclass(frozen=True)
class PaintOptions:
    """Where the content comes from (``source``, one of SOURCES), its translation (``dx`` right, ``dy`` down, in
    pixels), whether another frame is first aligned to this one by optical flow (``follow``), the reprojections
    (``iterations``; 0: the paste as it is), how far in from the region's edge they reach (``band`` pixels; 0: the
    whole region) and the region's ``grow`` and ``feather`` in pixels."""

    source: str = "frame"
    dx: float = 0.0
    dy: float = 0.0
    follow: bool = True
    iterations: int = 0
    band: int = 0
    grow: int = 0
    feather: float = 2.0


def edge_band(region: np.ndarray, band: int) -> np.ndarray:
    """The pixels of ``region`` ((H, W) bool) less than ``band`` pixels from its edge; the whole region for 0."""
    import cv2

    if band <= 0:
        return region
    inside = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 3)
    return region & (inside <= band)


def translated(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``image`` moved by (dx, dy) pixels: out(x, y) = image(x - dx, y - dy), bilinear, reflected at the border.
    image: (H, W, C) float32."""
    import cv2

    if not dx and not dy:
        return image
    shift = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    h, w = image.shape[:2]
    return cv2.warpAffine(np.ascontiguousarray(image), shift, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT).reshape(image.shape)


def aligned(target: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``other`` warped onto ``target``'s geometry by optical flow (target(p) shows what other shows at p + F(p)).
    Both (H, W, 3) float32 working range."""
    from vsae.core.ops.retime import flow_pair, warp

    flow, _ = flow_pair(target, other)
    h, w = target.shape[:2]
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), axis=-1)
    return warp(other, grid + flow)


def paint_content(target: np.ndarray, options: PaintOptions, other: np.ndarray | None = None) -> np.ndarray:
    """What goes into the hole before reprojection: ``other`` (another frame of the shot, or a still) or the
    target itself (clone), aligned (``follow``, frames only) and translated. All (H, W, 3) float32 working range."""
    if options.source not in SOURCES:
        raise ParameterError(f"source {options.source!r}: expected one of {', '.join(SOURCES)}")
    if options.source == "clone":
        content = target
    else:
        if other is None:
            raise ParameterError(f"paint: source {options.source} needs its image")
        if other.shape != target.shape:
            raise ParameterError(f"paint: the {options.source} is {other.shape[1]}x{other.shape[0]}, the frame "
                                 f"{target.shape[1]}x{target.shape[0]}")
        content = aligned(target, other) if options.source == "frame" and options.follow else other
    return translated(np.asarray(content, np.float32), options.dx, options.dy)


def paint(target: np.ndarray, hole: np.ndarray, content: np.ndarray, shot_model: ModelSource | None,
          options: PaintOptions = PaintOptions()) -> tuple[np.ndarray, np.ndarray]:
    """Paint's whole algorithm on one frame: ``content`` laid into ``hole`` (grown by ``options.grow``), then the
    hole (or its edge, ``options.band`` pixels deep) reprojected ``options.iterations`` times with everything else
    held: the target outside, the paste inside the band.

    target, content: (H, W, 3) float32 working range (``paint_content`` makes the content); hole: (H, W) bool;
    shot_model: returns the ShotModel, asked for only when there is a hole to reproject. Returns (fill (H, W, 3)
    working range, equal to ``target`` outside the hole; matte (H, W) float32 in [0, 1], feathered outward).
    Composite in scene-linear with ``clean_plate.composite``.
    """
    from vsae.core.ops.clean_plate import hole_matte, reproject_fill

    hard, soft = hole_matte(hole, options.grow, options.feather)
    if not hard.any():
        return np.array(target, np.float32), soft
    guess = np.where(hard[:, :, None], content, target).astype(np.float32)
    if options.iterations:
        guess = reproject_fill(model_from(shot_model, "Paint's reprojection"), guess, guess,
                               edge_band(hard, options.band), options.iterations)
    return guess, soft
