"""What each node hands the shot model, made from clean training frames: the inputs of robust training.

Reprojection x <- g(f(x)) can only undo what the model learnt to undo. Trained on clean frames alone, it sees in
Upres a blurred frame, in Clean Plate a hole filled from its surroundings, in Retime a frame predicted from its
neighbours by flow warps, none of which it met in training. With ``TrainSettings.degrade`` > 0 that fraction of the
training inputs is degraded one of these ways, and the loss still compares the output with the clean frame (the
paper's robust variant). Clean inputs make the rest, so the latent codes of clean frames keep their meaning for
Explore and latent Retime.

All arrays: working range, (H, W, 3) float32, channels last.
"""

from __future__ import annotations

import numpy as np

from vsae.core.settings import DEGRADATIONS as KINDS
UPRES_FACTORS = (2, 4, 8, 16)


def downscaled(x: np.ndarray, factor: int) -> np.ndarray:
    """Upres's first guess: ``x`` area-downscaled by ``factor`` and brought back to its size by bicubic."""
    from vsae.core.ops.upres import resize

    h, w = x.shape[:2]
    low = resize(x, (max(1, round(w / factor)), max(1, round(h / factor))))
    return resize(low, (w, h), "bicubic")


def random_holes(rng: np.random.Generator, height: int, width: int, count: int = 3) -> np.ndarray:
    """(H, W) bool: 1..count boxes, each 8-35% of the frame's sides, where Clean Plate would remove something."""
    hole = np.zeros((height, width), bool)
    for _ in range(int(rng.integers(1, count + 1))):
        bh = max(2, int(height * rng.uniform(0.08, 0.35)))
        bw = max(2, int(width * rng.uniform(0.08, 0.35)))
        y0, x0 = int(rng.integers(0, height - bh + 1)), int(rng.integers(0, width - bw + 1))
        hole[y0:y0 + bh, x0:x0 + bw] = True
    return hole


def holes_filled(x: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Clean Plate's first guess without other frames: ``hole`` filled from its surroundings."""
    from vsae.core.ops.clean_plate import surround_fill

    return surround_fill(x, hole)


def neighbour_prediction(frames: np.ndarray, i: int) -> np.ndarray:
    """Retime's first guess of frame ``i``: the flow in-between of frames i-1 and i+1 (at the ends, the one
    neighbour there is). frames: (N, H, W, 3) working range (any float type, or a crop of every frame), in shot
    order. Returns (H, W, 3) float32."""
    from vsae.core.ops.retime import flow_inbetween

    n = len(frames)
    a, b = frames[max(i - 1, 0)], frames[min(i + 1, n - 1)]
    if i == 0 or i == n - 1:
        return np.asarray(b if i == 0 else a, np.float32)
    return flow_inbetween(np.asarray(a, np.float32), np.asarray(b, np.float32), 0.5, detail="medium")


def degrade(x: np.ndarray, kind: str, rng: np.random.Generator, predicted: np.ndarray | None = None) -> np.ndarray:
    """``x`` degraded as the node ``kind`` degrades what it hands the model; ``predicted`` is the frame's
    neighbour prediction over the same area (kind ``retime``)."""
    if kind == "upres":
        return downscaled(x, int(rng.choice(UPRES_FACTORS)))
    if kind == "holes":
        return holes_filled(x, random_holes(rng, *x.shape[:2]))
    if kind == "retime":
        return np.asarray(predicted, np.float32)
    raise ValueError(f"degradation {kind!r}: expected one of {', '.join(KINDS)}")
