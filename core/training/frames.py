"""Loading a shot's frames for training: compact in memory, checked as they come in; a long shot streamed from a
file instead of held."""

from __future__ import annotations

import os

import numpy as np

from vsae.errors import InputError
from vsae.core import colour
from vsae.core.io.sequence import ShotSequence


# Training frames held in memory up to this many bytes (float16); a longer shot goes to a memory-mapped file, so
# that 15,000 frames at 512x256 (11.8 GB) need disk, not memory. $VSAE_TRAIN_HOLD_MB overrides.
HOLD_BYTES = 2 << 30


def training_bytes(seq: ShotSequence, scale: float = 1.0) -> int:
    """Bytes of ``seq``'s frames at the training resolution in float16."""
    width, height = seq.size
    return len(seq) * max(1, round(width * scale)) * max(1, round(height * scale)) * 3 * 2


def streams(seq: ShotSequence, scale: float = 1.0) -> bool:
    """Whether ``seq`` is too long to hold for training (``HOLD_BYTES``, or $VSAE_TRAIN_HOLD_MB)."""
    limit = os.environ.get("VSAE_TRAIN_HOLD_MB")
    return training_bytes(seq, scale) > (float(limit) * 2 ** 20 if limit else HOLD_BYTES)


def mapped_array(path: str, shape: tuple, dtype=np.float16) -> np.ndarray:
    """A new .npy file at ``path`` mapped into memory, zero-filled: whatever was at the path (a stale file, a link
    someone put there) is removed first and the file is created afresh, never opened through a link."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666))
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)


def load_training_frames(seq: ShotSequence, scale: float = 1.0, store: str | None = None) -> np.ndarray:
    """Every frame of ``seq`` in the working range, resized by ``scale`` (area filter).

    Returns (N, H, W, 3) float16: two bytes a value keeps a 100-frame 1080p shot near 1.2 GB. With ``store`` (a
    .npy path in a folder of the caller's) the frames are written there, one at a time, and the array returned is
    a memory map of that file: the shot's length costs disk, not memory. Raises InputError naming the first frame
    whose size differs from the first frame's.
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
            shape = (len(seq),) + work.shape
            out = mapped_array(store, shape) if store else np.empty(shape, dtype=np.float16)
        out[i] = work
    if out is None:
        raise InputError(f"{seq.label}: no frames to train on")
    return out
