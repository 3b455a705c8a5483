"""Contact sheets: rows of frames side by side in one 8-bit PNG, for a person to look at."""

from __future__ import annotations

import numpy as np

from vsae.core.io.sequence import Frame, write_image


def contact_sheet(rows: list[list[np.ndarray]], gap: int = 4, max_width: int = 1600) -> np.ndarray:
    """rows of (H, W, 3) scene-linear frames (all one size) -> one (H', W', 3) scene-linear image.

    Frames are shrunk (area filter) so a row fits ``max_width``; rows are separated by ``gap`` black pixels.
    """
    import cv2

    cols = max(len(r) for r in rows)
    h, w = rows[0][0].shape[:2]
    scale = min(1.0, (max_width - gap * (cols - 1)) / (cols * w))
    th, tw = max(1, int(h * scale)), max(1, int(w * scale))
    sheet = np.zeros((len(rows) * th + gap * (len(rows) - 1), cols * tw + gap * (cols - 1), 3), np.float32)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            tile = cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA) if scale < 1 else img
            sheet[r * (th + gap):r * (th + gap) + th, c * (tw + gap):c * (tw + gap) + tw] = tile
    return sheet


def write_contact_sheet(path: str, rows: list[list[np.ndarray]]) -> None:
    """Write ``contact_sheet(rows)`` as an sRGB 8-bit PNG (atomically)."""
    write_image(path, Frame(rgb=contact_sheet(rows), pixel_type="uint8"))
