"""Extend, Stretch and Stitch: change a frame's canvas, then reproject through the shot model until it is seamless.

- Extend: pad each side (mirror padding keeps the centre's structure, zero padding changes it, as the paper
  found), reproject iteratively; the original area can be held exact at every step.
- Stretch: resample to another size, reproject (the paper iterates 30 times for a 4x horizontal stretch).
- Stitch: frames side by side (a row or a column), reprojected so the seams disappear; optionally only a band
  around each seam is replaced, the rest kept as the frames were.

Arrays: (H, W, 3) float32 working range; masks (H, W) bool or float32.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vsae.errors import ParameterError
from vsae.core.model.inference import ModelSource, Reprojector, reproject_image
from vsae.core.ops.planes import repeat_plane

PADDINGS = ("mirror", "zero", "edge")
LAYOUTS = ("row", "column")


def pad_canvas(x: np.ndarray, left: int, right: int, top: int, bottom: int,
               mode: str = "mirror") -> tuple[np.ndarray, np.ndarray]:
    """(H, W, C) -> (H + top + bottom, W + left + right, C) padded by ``mode``, and the (H', W') bool mask of the
    original area. Mirror padding larger than the frame reflects again (symmetric tiling)."""
    if mode not in PADDINGS:
        raise ParameterError(f"padding {mode!r}: expected one of {', '.join(PADDINGS)}")
    if min(left, right, top, bottom) < 0:
        raise ParameterError("extend: padding must be 0 or more on every side")
    np_mode = {"mirror": "symmetric", "zero": "constant", "edge": "edge"}[mode]
    widths = ((top, bottom), (left, right), (0, 0))
    out = np.pad(x, widths, mode=np_mode).astype(np.float32)  # type: ignore[call-overload]
    original = np.zeros(out.shape[:2], bool)
    original[top:top + x.shape[0], left:left + x.shape[1]] = True
    return out, original


def reproject_canvas(model: Reprojector, canvas: np.ndarray, iterations: int,
                     keep: np.ndarray | None = None) -> np.ndarray:
    """x <- g(f(x)) ``iterations`` times; where ``keep`` (H, W) float in [0, 1] is 1 the canvas's own pixels are put
    back after every step (a soft ``keep`` blends), so the kept area stays exact and the rest grows to fit it."""
    import cv2

    x: np.ndarray = canvas.astype(np.float32)
    if keep is not None:  # what does not change between steps, once, in every channel (planes.py: why)
        k = repeat_plane(keep, canvas.shape[2])
        give, held = 1 - k, canvas * k
        exact = (np.asarray(keep) >= 1).reshape(canvas.shape[:2])  # one plane: where the canvas is put back
        # float32 throughout: OpenCV's multiply, add and masked copy give numpy's values (IEEE single, the same
        # copies) in about half the passes' time; numpy where a wider dtype decides the arithmetic.
        in_opencv = give.dtype == held.dtype == canvas.dtype == np.float32 and 0 < canvas.shape[2] <= 512
    for _ in range(iterations):
        y = reproject_image(model, x)
        if keep is None:
            x = y
        elif in_opencv and y.dtype == np.float32 and y.flags.c_contiguous:  # reproject_image's own: in place
            x = cv2.multiply(y, give, dst=y).reshape(y.shape)
            cv2.add(x, held, dst=x)
            cv2.copyTo(canvas, exact.view(np.uint8), x)
        else:
            x = np.multiply(y, give)
            x += held
            np.copyto(x, canvas, where=repeat_plane(exact, canvas.shape[2]))
    return np.ascontiguousarray(x, dtype=np.float32)


def match_held_area(out: np.ndarray, canvas: np.ndarray, held: np.ndarray, falloff: float = 24.0) -> np.ndarray:
    """Carry the held area's difference from the model into the generated area, fading with distance.

    Holding the original exact while the model fills the rest leaves a step at the border wherever the model's
    picture differs from the original (its reconstruction is not exact). ``out`` is the model's picture of the
    whole canvas (not held); the low-frequency difference ``canvas - out`` inside the held area is extended
    outward (normalised Gaussian filtering) and added to the generated pixels with weight exp(-distance / falloff),
    so the two sides meet without a step.
    out, canvas: (H, W, C); held: (H, W) bool. Returns a new (H, W, C); held pixels are ``canvas``'s.
    """
    import cv2

    sigma = falloff / 2
    channels = canvas.shape[2]
    mask = held.astype(np.float32)
    diff = np.subtract(canvas, out, dtype=np.float32)
    diff *= repeat_plane(mask, channels)
    field = cv2.GaussianBlur(diff, (0, 0), sigma).reshape(diff.shape)  # the difference spread outward...
    den = cv2.GaussianBlur(mask, (0, 0), sigma)
    field /= repeat_plane(np.maximum(den, 1e-3), channels)  # ...normalised by how much held area it came from
    dist = cv2.distanceTransform((~held).astype(np.uint8), cv2.DIST_L2, 5)
    # exp(-d / falloff) where any held area reaches, else 0; a factor in {0, 1} applied to the plane first gives the
    # same products as applied after the colour (the plane is never negative, so not even a zero's sign changes)
    field *= repeat_plane(np.exp(-dist / falloff) * (den > 1e-3), channels)
    field += out
    np.copyto(field, canvas, where=repeat_plane(held, channels))
    return field


def stitch_canvas(frames: Sequence[np.ndarray], layout: str = "row") -> tuple[np.ndarray, list[int]]:
    """Frames (H, W, C) of one size side by side (``row``) or stacked (``column``); returns the canvas and the
    seam positions (the first column/row of each frame after the first)."""
    if layout not in LAYOUTS:
        raise ParameterError(f"layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    axis = 1 if layout == "row" else 0
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        sizes = ", ".join(f"{s[1]}x{s[0]}" for s in shapes)
        raise ParameterError(f"stitch: frames differ in size ({sizes})")
    size = frames[0].shape[axis]
    return np.concatenate(frames, axis=axis).astype(np.float32), [size * i for i in range(1, len(frames))]


def seam_keep(shape: tuple[int, int], seams: Sequence[int], layout: str, band: int) -> np.ndarray:
    """(H, W) float32: 0 within ``band`` pixels of a seam (replaced by the reprojection), rising linearly to 1 over
    the next ``band`` pixels (kept as the frames were)."""
    h, w = shape
    length = w if layout == "row" else h
    pos = np.arange(length, dtype=np.float32)
    dist = np.full(length, np.inf, np.float32)
    for s in seams:
        dist = np.minimum(dist, np.abs(pos - (s - 0.5)))
    ramp = np.clip((dist - band) / max(band, 1), 0.0, 1.0)
    return np.broadcast_to(ramp[None, :] if layout == "row" else ramp[:, None], (h, w)).astype(np.float32).copy()


def seam_energy(image: np.ndarray, seams: Sequence[int], layout: str = "row") -> float:
    """Mean absolute gradient across the seams divided by the mean across every other column (row): 1.0 means a
    seam is as visible as any edge of the picture, more means it shows.

    image: (H, W, C); seams: positions as ``stitch_canvas`` gives them; layout row = vertical seams.
    """
    x = image if layout == "row" else image.transpose(1, 0, 2)
    grad = np.abs(np.diff(x.astype(np.float64), axis=1)).mean(axis=(0, 2))  # grad[i]: between columns i and i+1
    at = [s - 1 for s in seams if 0 < s < x.shape[1]]
    if not at:
        raise ParameterError("seam_energy: no seam inside the image")
    others = np.delete(grad, at)
    return float(grad[at].mean() / max(others.mean(), 1e-12))


def extend_seams(original: np.ndarray) -> tuple[list[int], list[int]]:
    """Seam positions of an extended canvas from its original-area mask: (vertical seams x, horizontal seams y)."""
    ys, xs = np.nonzero(original)
    h, w = original.shape
    cols = [x for x in (xs.min(), xs.max() + 1) if 0 < x < w]
    rows = [y for y in (ys.min(), ys.max() + 1) if 0 < y < h]
    return cols, rows


# --- the three nodes' operations: each returns (first guess, result) as working-range canvases -------------------

@dataclass(frozen=True)
class ExtendOptions:
    """``padding`` (one of PADDINGS) the new area's first guess, ``iterations`` reprojections, and
    ``keep_original``: the original area held exact at every step."""

    padding: str = "mirror"
    iterations: int = 5
    keep_original: bool = True


def extend(frame: np.ndarray, pads: tuple[int, int, int, int], shot_model: ModelSource,
           options: ExtendOptions = ExtendOptions()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Extend's whole algorithm: ``frame`` (H, W, 3) working range padded by (left, right, top, bottom) pixels and
    reprojected so the new area belongs to the shot. With ``keep_original`` the original area is held at every
    step, then the model's own picture of the whole canvas, matched to the held original at its border
    (``match_held_area``), gives the result. shot_model: returns the ShotModel (called only with iterations > 0).
    Returns (first guess, result, original-area mask (H', W') bool); the caller puts the original's own pixels
    back inside the mask when it wants them bit for bit."""
    canvas, original = pad_canvas(frame, *pads, mode=options.padding)
    if not options.iterations:
        return canvas, canvas.copy(), original
    model = shot_model()
    out = reproject_canvas(model, canvas, options.iterations,
                           original.astype(np.float32) if options.keep_original else None)
    if options.keep_original:
        out = match_held_area(reproject_canvas(model, out, 1), canvas, original)
    return canvas, out, original


def stitch(tiles: Sequence[np.ndarray], shot_model: ModelSource, layout: str = "row", iterations: int = 5,
           band: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stitch's whole algorithm: ``tiles`` ((H, W, 3) working range, one size) side by side (``layout`` row) or
    stacked (column), reprojected ``iterations`` times; with ``band`` > 0 only that many pixels each side of a
    seam are replaced. Returns (first guess, result)."""
    canvas, seams = stitch_canvas(list(tiles), layout)
    if not iterations:
        return canvas, canvas.copy()
    keep = seam_keep(canvas.shape[:2], seams, layout, band) if band else None
    return canvas, reproject_canvas(shot_model(), canvas, iterations, keep)


def stretch(frame: np.ndarray, size: tuple[int, int], shot_model: ModelSource, filter: str = "bicubic",
            iterations: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Stretch's whole algorithm: ``frame`` (H, W, 3) working range resampled to ``size`` (width, height) by
    ``filter`` and reprojected ``iterations`` times. Returns (first guess, result)."""
    from vsae.core.ops.upres import resize

    canvas = resize(frame, size, filter)
    if not iterations:
        return canvas, canvas.copy()
    return canvas, reproject_canvas(shot_model(), canvas, iterations)

