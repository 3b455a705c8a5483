"""Retime: which source time each output frame shows, and how an in-between frame is made.

Timing works like Kronos/OFlow: by output speed (0.5 = half speed, each source frame shown twice as long) or by a
frame curve (output frame -> source frame through keyframes, linear between keys). Source times are held inside the
source range: a retime never extrapolates past the shot's first or last frame.

Methods for a fractional source time t between frames a = floor(t) and b = a + 1, alpha = t - a:
``hybrid`` (the default, beyond the paper) warps both frames along DIS optical flow to time t and mixes them; where
the two warps disagree (ghosts, occlusions, flow that failed) the shot model's decode of the interpolated latents
picks the side that shows what is there, and the mix is reprojected through the model; ``flow`` is the warp and
mix alone; ``latent`` decodes (1 - alpha) f(x_a) + alpha f(x_b) (the paper's temporal super-resolution), with
iterations > 0 reprojecting that decode n more times; ``blend`` mixes the two frames; ``nearest`` shows the closer
one. At an integer t every method returns the source frame itself, bit for bit.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

import numpy as np

from vsae.errors import ParameterError
from vsae.core.model.inference import ModelSource, Reprojector, model_from, reproject_image, to_hwc
from vsae.core.ops.planes import channel_mean, repeat_plane

METHODS = ("hybrid", "flow", "latent", "blend", "nearest")


@dataclass(frozen=True)
class RetimeOptions:
    """How an in-between is made: ``method`` (one of METHODS), ``flow_detail`` (a FLOW_DETAIL key; flow, hybrid) and
    ``iterations``, reprojections through the shot model (None: the method's default, 1 for hybrid, 0 for latent)."""

    method: str = "hybrid"
    flow_detail: str = "fine"
    iterations: int | None = None


def parse_curve(text: str) -> list[tuple[float, float]]:
    """Keyframes ``"1001:1001, 1100:1050"`` (output:source), or a file of two columns (output source) per line.

    Returns (output frame, source time) pairs sorted by output frame; at least one.
    """
    source = text
    if os.path.isfile(text):
        with open(text) as fh:
            source = ",".join(":".join(line.split()[:2]) for line in fh if line.strip() and not line.startswith("#"))
    keys = []
    for item in source.replace(";", ",").split(","):
        if not item.strip():
            continue
        try:
            out, src = (float(v) for v in item.split(":"))
        except ValueError:
            raise ParameterError(f"curve {text!r}: expected output:source pairs like 1001:1001,1100:1050") from None
        keys.append((out, src))
    if not keys:
        raise ParameterError(f"curve {text!r}: no keyframes")
    keys.sort()
    if len({k[0] for k in keys}) != len(keys):
        raise ParameterError(f"curve {text!r}: two keyframes on one output frame")
    return keys


def source_time(output_frame: int, output_first: int, source_first: int, source_last: int,
                speed: float | None = None, curve: Sequence[tuple[float, float]] | None = None) -> float:
    """The source time shown at ``output_frame``, held inside [source_first, source_last].

    By speed: source_first + (output_frame - output_first) * speed. By curve: linear between keyframes, flat
    beyond the first and last key.
    """
    if curve:
        outs = [k[0] for k in curve]
        srcs = [k[1] for k in curve]
        t = float(np.interp(output_frame, outs, srcs))
    else:
        t = source_first + (output_frame - output_first) * float(1.0 if speed is None else speed)
    return min(max(t, float(source_first)), float(source_last))


def output_length(source_first: int, source_last: int, speed: float) -> int:
    """How many output frames play the source range once at ``speed`` (the last source frame included)."""
    return int(math.floor((source_last - source_first) / speed + 1e-9)) + 1


def neighbours(t: float, source_frames: Sequence[int]) -> tuple[int, int, float]:
    """The source frames around time t and the blend weight of the later one: (a, b, alpha), t = a + alpha (b - a).

    source_frames may have steps (1001, 1003, ...): neighbours are the frames present.
    """
    frames = list(source_frames)
    i = int(np.searchsorted(frames, t, side="right")) - 1
    i = min(max(i, 0), len(frames) - 1)
    a = frames[i]
    if a == t or i == len(frames) - 1:
        return a, a, 0.0
    b = frames[i + 1]
    return a, b, (t - a) / (b - a)


def interpolate_latents(z_a: np.ndarray, z_b: np.ndarray, alpha: float) -> np.ndarray:
    """(1 - alpha) z_a + alpha z_b. z_a, z_b: (B, 12k, h, w) float32 latents of the same padded size."""
    return ((1.0 - alpha) * z_a + alpha * z_b).astype(np.float32)


def blend_frames(x_a: np.ndarray, x_b: np.ndarray, alpha: float) -> np.ndarray:
    """(1 - alpha) x_a + alpha x_b for any arrays of one shape (colour or alpha planes)."""
    return ((1.0 - alpha) * x_a + alpha * x_b).astype(np.float32)


def flow_grey(working: np.ndarray) -> np.ndarray:
    """(H, W, 3) working-range colour -> (H, W) uint8 grey for DIS (the working range is perceptual, (-1, 1))."""
    return np.round(np.clip(channel_mean(working) * 0.5 + 0.5, 0, 1) * 255).astype(np.uint8)


# DIS settings by detail. "fine" estimates down to full resolution with denser, longer-refined patches: on the
# benchmark's dropped frames it gains 0.05-0.1 dB over "medium" (OpenCV's MEDIUM preset) on six clips of nine and
# loses up to 0.1 on surf, tennis and bedroom, for 7x the flow's time.
FLOW_DETAIL = {
    "medium": {},
    "fine": {"FinestScale": 0, "PatchStride": 2, "GradientDescentIterations": 50},
}


def flow_pair(a: np.ndarray, b: np.ndarray, detail: str = "fine") -> tuple[np.ndarray, np.ndarray]:
    """DIS optical flow both ways between two frames.

    a, b: (H, W, 3) float32 working range. Returns (F_ab, F_ba), each (H, W, 2) float32 in pixels (x, y):
    a(p) shows what b shows at p + F_ab(p).
    """
    import cv2

    if detail not in FLOW_DETAIL:
        raise ParameterError(f"flow_detail {detail!r}: expected one of {', '.join(FLOW_DETAIL)}")
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    for name, value in FLOW_DETAIL[detail].items():
        getattr(dis, "set" + name)(value)
    ga, gb = flow_grey(a), flow_grey(b)
    return dis.calc(ga, gb, None), dis.calc(gb, ga, None)  # type: ignore[call-overload]  # (stubs: flow not optional)


def inbetween_positions(flow: np.ndarray, t: float, iterations: int = 3) -> np.ndarray:
    """Where each pixel of the frame at time t (0 at the flow's start) comes from in the start frame.

    Solves x = p + t F(p) for p by fixed-point steps p <- x - t F(p). The first step alone (sampling the flow at x
    instead of at p, as simple flow interpolation does) misplaces moving edges by t times the flow's change across
    them; three steps gain 0.5 dB on davis-bmx-trees' dropped frames. flow: (H, W, 2) float32.
    Returns (H, W, 2) float32 sample positions (x, y) for ``cv2.remap``.
    """
    import cv2

    h, w = flow.shape[:2]
    grid = np.dstack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))
    pos = grid - t * flow
    for _ in range(iterations):
        pos = grid - t * cv2.remap(flow, pos[..., 0], pos[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return pos


def warp(img: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """img sampled at pos (bilinear, reflected at the border). img: (H, W, C); pos: (H, W, 2). Returns (H, W, C)."""
    import cv2

    return cv2.remap(np.ascontiguousarray(img), pos[..., 0], pos[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT).reshape(pos.shape[:2] + img.shape[2:])


def traced_positions(flow: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Where the pixels passing each point at time t are in the flow's start frame and in its end frame.

    flow: (H, W, 2) from the start frame to the end frame. Returns (start, end), each (H, W, 2) sample positions:
    start from ``inbetween_positions``, end = start + F(start).
    """
    import cv2

    start = inbetween_positions(flow, t)
    return start, start + cv2.remap(flow, start[..., 0], start[..., 1], cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)


# What computes the flows of two frames: ``flow_pair`` itself, or a caller's memo of it (a node keeps the flows of a
# pair across renders: a slow-motion retime makes several in-betweens of one pair, Upres's neighbours share pairs).
FlowPair = Callable[[np.ndarray, np.ndarray, str], tuple[np.ndarray, np.ndarray]]


def flow_warps(a: np.ndarray, b: np.ndarray, alpha: float, detail: str = "fine",
               extra_a: np.ndarray | None = None, extra_b: np.ndarray | None = None, flows: FlowPair | None = None):
    """Both neighbours warped to time alpha between them along DIS flow.

    Each neighbour is sampled twice and the two averaged: along its own flow (a along F_ab, solved for where the
    pixel at each point came from) and where the *other* frame's flow traces the pixel to (a along F_ba: the
    pixels of b passing each point, followed back to a). The two err in different places (a frame's own flow
    fails where its pixels are hidden in the other; the other's, where the other's are), so their mean is closer:
    on the benchmark's dropped frames (breakdance, surf, bmx-trees, blackswan) it gains 0.1-0.4 dB over the
    traced pairing alone, which is what the protocol's DIS baseline samples.
    a, b: (H, W, 3) working range; extra_a, extra_b: optional (H, W, C) planes (alpha) moved with them; flows: what
    computes the flows (default ``flow_pair``). Returns (wa, wb, extra_wa, extra_wb) (the extras None when not given).
    """
    f_ab, f_ba = (flows or flow_pair)(a, b, detail)
    own_a, traced_b = traced_positions(f_ab, alpha)
    own_b, traced_a = traced_positions(f_ba, 1.0 - alpha)

    def twice(img, p, q):
        return None if img is None else (0.5 * (warp(img, p) + warp(img, q))).astype(np.float32)

    return (twice(a, own_a, traced_a), twice(b, own_b, traced_b),
            twice(extra_a, own_a, traced_a), twice(extra_b, own_b, traced_b))


def flow_inbetween(a: np.ndarray, b: np.ndarray, alpha: float, detail: str = "fine") -> np.ndarray:
    """The frame at alpha between a and b by optical flow: (1 - alpha) warp(a) + alpha warp(b).

    a, b: (H, W, 3) float32 working range (mixed there: the working range is perceptual, so a mix of two
    disagreeing warps ghosts no brighter than the eye expects). Returns (H, W, 3).
    """
    wa, wb, _, _ = flow_warps(a, b, alpha, detail)
    return blend_frames(wa, wb, alpha)


def disagreement(wa: np.ndarray, wb: np.ndarray, blur: float = 2.0) -> np.ndarray:
    """How much two warps of one moment differ, smoothed: (H, W) float32, mean over channels of |blur(wa - wb)|."""
    import cv2

    return channel_mean(np.abs(cv2.GaussianBlur(wa - wb, (0, 0), blur)).reshape(wa.shape)).astype(np.float32,
                                                                                                     copy=False)


def hybrid_inbetween(wa: np.ndarray, wb: np.ndarray, alpha: float, guide: np.ndarray,
                     model: Reprojector | None = None,
                     iterations: int = 1, guide_sigma: float = 0.2, ghost: float = 0.2,
                     extra_a: np.ndarray | None = None, extra_b: np.ndarray | None = None):
    """Flow warps mixed with the shot model's help where they disagree (ghosts, occlusions, failed flow).

    wa, wb: (H, W, 3) working-range warps of the neighbours to time alpha (``flow_warps``); guide: (H, W, 3) the
    model's decode of the interpolated latents at the same time: blurry, but where the warps disagree it tells
    which side shows what is there (each side's weight falls with its blurred distance to the guide beyond the
    nearer one's, scale ``guide_sigma``). Then ``iterations`` reprojections of the mix through ``model`` replace it
    where the warps still disagree by more than ``ghost`` (ramping to fully at 2 x ghost), projecting ghosts and
    holes onto the shot's manifold; elsewhere the sharp flow result is kept. extra_a, extra_b: planes mixed with
    the same weights. Returns (rgb (H, W, 3), extra (H, W, C) or None).
    """
    import cv2

    def soft(x):
        return cv2.GaussianBlur(x, (0, 0), 3.0).reshape(x.shape)

    g = soft(guide)
    da, db = channel_mean(np.abs(soft(wa) - g)), channel_mean(np.abs(soft(wb) - g))
    nearer = np.minimum(da, db)
    ka = (1.0 - alpha) * np.exp(-(((da - nearer) / guide_sigma) ** 2))
    kb = alpha * np.exp(-(((db - nearer) / guide_sigma) ** 2))
    total = ka + kb
    ka, kb = (ka / total).astype(np.float32)[..., None], (kb / total).astype(np.float32)[..., None]
    out = np.multiply(wa, repeat_plane(ka, wa.shape[2]))  # planes in every channel: planes.py
    out += np.multiply(wb, repeat_plane(kb, wb.shape[2]))
    extra = ka * extra_a + kb * extra_b if extra_a is not None else None
    if model is not None and iterations > 0:
        mask = np.clip(disagreement(wa, wb) / ghost - 1.0, 0.0, 1.0)
        if mask.any():
            change = np.subtract(reproject_image(model, out, iterations), out)
            out += change * repeat_plane(mask, change.shape[2])
    return out.astype(np.float32, copy=False), extra


def retime_inbetween(a: np.ndarray, b: np.ndarray, alpha: float, options: RetimeOptions = RetimeOptions(),
                     shot_model: ModelSource | None = None, latents: Callable[[], np.ndarray] | None = None,
                     matte_a: np.ndarray | None = None, matte_b: np.ndarray | None = None,
                     flows: FlowPair | None = None):
    """Retime's whole algorithm for one output frame: the picture at ``alpha`` between neighbours a and b.

    a, b: (H, W, 3) float32 scene-linear; alpha in [0, 1]; matte_a, matte_b: (H, W, 1) float32 alphas, both or
    neither; they move with the colour along the flow (flow, hybrid) or are blended (latent, blend).
    shot_model: returns the ShotModel (latent, hybrid; called only by them); latents: returns the (2, C, h, w)
    latent codes of a and b (a host's cache; default: encoded here); flows: what computes the flows (default
    ``flow_pair``; a node's memo of it). Returns (rgb (H, W, 3) float32 scene-linear,
    matte (H, W, 1) float32 or None); at alpha 0 or 1, and by ``nearest``, the nearer neighbour's own arrays.
    """
    from vsae.core.colour import from_working, to_working
    from vsae.core.model.padding import stride_pads

    method, iterations = options.method, options.iterations
    if method not in METHODS:
        raise ParameterError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    if (matte_a is None) != (matte_b is None):
        matte_a = matte_b = None  # an alpha on one side only cannot be carried through the in-between
    if alpha in (0.0, 1.0) or method == "nearest":
        return (a, matte_a) if alpha < 0.5 else (b, matte_b)
    if method == "blend":
        return blend_frames(a, b, alpha), (blend_frames(matte_a, matte_b, alpha)
                                           if matte_a is not None and matte_b is not None else None)
    if method in ("flow", "hybrid"):
        wa, wb, ma, mb = flow_warps(to_working(a), to_working(b), alpha, options.flow_detail, matte_a, matte_b,
                                    flows)
        if method == "flow":
            return (from_working(blend_frames(wa, wb, alpha)).astype(np.float32),
                    blend_frames(ma, mb, alpha) if ma is not None else None)
    model = model_from(shot_model, f"Retime's {method} in-between")
    if latents is not None:
        z = latents()
    else:
        z, _ = model.encode(np.stack([to_working(a), to_working(b)]).transpose(0, 3, 1, 2).astype(np.float32))
    pads, _ = stride_pads(a.shape[0], a.shape[1])
    decoded = model.decode(interpolate_latents(z[0:1], z[1:2], alpha), pads)
    if method == "latent":
        if iterations:
            decoded = model.reproject(decoded, iterations)
        return (from_working(to_hwc(decoded)).astype(np.float32),
                blend_frames(matte_a, matte_b, alpha) if matte_a is not None and matte_b is not None else None)
    out, matte = hybrid_inbetween(wa, wb, alpha, to_hwc(decoded), model,
                                  1 if iterations is None else iterations, extra_a=ma, extra_b=mb)
    return from_working(out).astype(np.float32), matte
