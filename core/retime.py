"""Retime: which source time each output frame shows, and how an in-between frame is made.

Timing works like Kronos/OFlow: by output speed (0.5 = half speed, each source frame shown twice as long) or by a
frame curve (output frame -> source frame through keyframes, linear between keys). Source times are held inside the
source range: a retime never extrapolates past the shot's first or last frame.

Methods for a fractional source time t between frames a = floor(t) and b = a + 1, alpha = t - a:
``latent`` decodes (1 - alpha) f(x_a) + alpha f(x_b) (the paper's temporal super-resolution); ``latent`` with
iterations > 0 reprojects that decode n more times; ``flow`` warps both frames along OpenCV DIS optical flow and mixes
them (the benchmark's flow baseline); ``blend`` mixes the two frames; ``nearest`` shows the closer one.
At an integer t every method returns the source frame itself, bit for bit.
"""

from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np

from ..errors import ParameterError

METHODS = ("latent", "flow", "blend", "nearest")


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
        t = source_first + (output_frame - output_first) * float(speed)
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


def _flow_grey(rgb: np.ndarray) -> np.ndarray:
    from .metrics import to_display

    grey = to_display(rgb).mean(axis=2)
    return np.round(grey * 255).astype(np.uint8)


def flow_inbetween(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """The frame at alpha between a and b by DIS optical flow (preset MEDIUM), both ways.

    a, b: (H, W, C) float32 (colour or alpha planes stacked on C). Each neighbour is warped toward time alpha
    along its flow, I(x) = (1 - alpha) a(x - alpha F_ab(x)) + alpha b(x - (1 - alpha) F_ba(x)).
    """
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    ga, gb = _flow_grey(a[:, :, :3]), _flow_grey(b[:, :, :3])
    f_ab, f_ba = dis.calc(ga, gb, None), dis.calc(gb, ga, None)
    h, w = ga.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))

    def warp(img, flow, t):
        return cv2.remap(img, gx - t * flow[..., 0], gy - t * flow[..., 1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT).reshape(img.shape)

    return ((1 - alpha) * warp(a, f_ab, alpha) + alpha * warp(b, f_ba, 1 - alpha)).astype(np.float32)
