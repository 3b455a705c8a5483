"""Loading a shot's frames for training: compact in memory, checked as they come in."""

from __future__ import annotations

import numpy as np

from vsae.errors import InputError
from vsae.core import colour
from vsae.core.io.sequence import ShotSequence


def load_training_frames(seq: ShotSequence, scale: float = 1.0) -> np.ndarray:
    """Every frame of ``seq`` in the working range, resized by ``scale`` (area filter).

    Returns (N, H, W, 3) float16: two bytes a value keeps a 100-frame 1080p shot near 1.2 GB.
    Raises InputError naming the first frame whose size differs from the first frame's.
    """
    import cv2

    out = None
    first_size = None
    for i, number in enumerate(seq.frames):
        frame = seq.read(number)
        if first_size is None:
            first_size = frame.size
        elif frame.size != first_size:
            raise InputError(f"{seq.path(number)}: frame {number} is {frame.size[0]}x{frame.size[1]}, "
                             f"the shot's first frame is {first_size[0]}x{first_size[1]}")
        work = colour.to_working(frame.rgb)
        if scale != 1.0:
            size = (max(1, round(first_size[0] * scale)), max(1, round(first_size[1] * scale)))
            work = cv2.resize(work, size, interpolation=cv2.INTER_AREA)
        if out is None:
            out = np.empty((len(seq),) + work.shape, dtype=np.float16)
        out[i] = work
    if out is None:
        raise InputError(f"{seq.label}: no frames to train on")
    return out
