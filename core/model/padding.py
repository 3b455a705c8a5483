"""Padding a frame to the model stride and cropping it back, for tensors and numpy arrays alike.

A frame of any size is reflect-padded up to multiples of 64, split evenly between opposite sides (so the frame's
centre stays on the latent grid's centre), and cropped back exactly after decoding. Where a side is too small to
reflect (pad >= size), edges are replicated instead.
"""

from __future__ import annotations

import numpy as np

Pads = tuple  # (top, bottom, left, right)


def stride_pads(height: int, width: int, stride: int = 64) -> tuple[Pads, str]:
    """Pads (top, bottom, left, right) that bring (height, width) to multiples of ``stride``, and the mode:
    ``"reflect"``, or ``"replicate"`` where the frame is smaller than a pad."""
    ph, pw = (-height) % stride, (-width) % stride
    pads = (ph // 2, ph - ph // 2, pw // 2, pw - pw // 2)
    mode = "reflect" if max(pads[0], pads[1]) < height and max(pads[2], pads[3]) < width else "replicate"
    return pads, mode


def pad_array(x: np.ndarray, stride: int = 64) -> tuple[np.ndarray, Pads]:
    """numpy twin of ``model.pad_to_stride``. x: (B, C, H, W) -> padded array and pads."""
    pads, mode = stride_pads(x.shape[-2], x.shape[-1], stride)
    if not any(pads):
        return x, pads
    widths = [(0, 0)] * (x.ndim - 2) + [(pads[0], pads[1]), (pads[2], pads[3])]
    return np.pad(x, widths, mode="reflect" if mode == "reflect" else "edge"), pads


def crop_padding(x, pads: Pads):
    """Undo the padding. x: (..., H + top + bottom, W + left + right) tensor or array -> (..., H, W)."""
    top, bottom, left, right = pads
    h, w = x.shape[-2:]
    return x[..., top:h - bottom, left:w - right]
