"""Contact sheets: rows of frames side by side in one 8-bit PNG, for a person to look at."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vsae.core.io.sequence import Frame, write_image


def contact_sheet(rows: list[list[np.ndarray]], gap: int = 4, max_width: int = 1600,
                  labels: Sequence[str] = (), headers: Sequence[str] = ()) -> np.ndarray:
    """rows of (H, W, 3) scene-linear frames -> one (H', W', 3) scene-linear image.

    Every frame gets a cell the size of the largest, shrunk (area filter) so a row fits ``max_width``; a smaller or
    differently shaped frame is fitted inside its cell, centred, aspect kept. Rows and columns are separated by
    ``gap`` black pixels. ``labels``: a text in the top-left of each row's first cell; ``headers``: a text at the
    bottom-left of each cell of the first row (what the columns are).
    """
    import cv2

    cols = max(len(r) for r in rows)
    ch = max(img.shape[0] for row in rows for img in row)
    cw = max(img.shape[1] for row in rows for img in row)
    scale = min(1.0, (max_width - gap * (cols - 1)) / (cols * cw))
    th, tw = max(1, int(ch * scale)), max(1, int(cw * scale))
    sheet = np.zeros((len(rows) * th + gap * (len(rows) - 1), cols * tw + gap * (cols - 1), 3), np.float32)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            s = min(tw / img.shape[1], th / img.shape[0])
            size = (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s)))
            # Shrunk by area; enlarged by nearest neighbour, so a low-resolution source shows its pixels.
            how = cv2.INTER_AREA if s < 1 else cv2.INTER_NEAREST
            tile = img if size == (img.shape[1], img.shape[0]) else cv2.resize(
                np.ascontiguousarray(img, np.float32), size, interpolation=how)
            y = r * (th + gap) + (th - size[1]) // 2
            x = c * (tw + gap) + (tw - size[0]) // 2
            sheet[y:y + size[1], x:x + size[0]] = tile[:, :, :3]
    font = max(0.35, th / 300)
    for r, label in enumerate(labels):
        _text(sheet, label, (6, r * (th + gap) + int(20 * font) + 4), font)
    for c, header in enumerate(headers):
        _text(sheet, header, (c * (tw + gap) + 6, th - 8), font)
    return sheet


def _text(image: np.ndarray, text: str, origin: tuple[int, int], font: float) -> None:
    """White text on a black box (readable on any picture), drawn in place into a float image. OpenCV draws text
    on 8-bit images only: the text is drawn as 8-bit coverage and laid over."""
    import cv2

    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font, 1)
    x, y = origin
    image[max(0, y - h - 3):y + base + 1, max(0, x - 3):x + w + 3] = 0.0
    cover = np.zeros(image.shape[:2], np.uint8)
    cv2.putText(cover, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font, 255, 1, cv2.LINE_AA)
    image += (cover.astype(np.float32) / 255)[:, :, None]


def write_contact_sheet(path: str, rows: list[list[np.ndarray]], labels: Sequence[str] = (),
                        headers: Sequence[str] = ()) -> None:
    """Write ``contact_sheet(rows, labels=labels, headers=headers)`` as an sRGB 8-bit PNG (atomically)."""
    write_image(path, Frame(rgb=contact_sheet(rows, labels=labels, headers=headers), pixel_type="uint8"))
