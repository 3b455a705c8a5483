"""A procedural shot with known answers: textured parallax background, moving objects, masks, in-between frames.

Rendered as a function of continuous time, so the frame at t + 0.5 is the true in-between of frames t and t + 1
(ground truth for Retime), the object coverage is the true matte (ground truth for Mask Propagate), and the
background without objects is the true clean plate. Values are scene-linear, with a highlight above 1.0.

>>> shot = ProceduralShot(width=128, height=64, frames=4)
>>> rgb, mask = shot.render(1.5)
>>> rgb.shape, mask.shape, bool(rgb.max() > 1.0)
((64, 128, 3), (64, 128), True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from vsae.core.io.sequence import Frame, output_path, write_image

FIRST_FRAME = 1001


def _texture(rng: np.random.Generator, h: int, w: int, base: np.ndarray, contrast: float) -> np.ndarray:
    """A periodic (tileable) colour texture: a few random sinusoids, (h, w, 3) linear values."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    field = np.zeros((h, w), np.float32)
    for _ in range(6):
        fy, fx = rng.integers(1, 7), rng.integers(1, 9)
        phase = rng.uniform(0, 2 * np.pi)
        field += np.sin(2 * np.pi * (fy * yy / h + fx * xx / w) + phase) / (fy + fx)
    field = field / (np.abs(field).max() + 1e-6)
    tint = rng.uniform(0.6, 1.4, size=3).astype(np.float32)
    return np.clip(base[None, None, :] * (1 + contrast * field[:, :, None] * tint), 0.005, None).astype(np.float32)


def _shift(tex: np.ndarray, dx: float, out_w: int) -> np.ndarray:
    """Columns [dx, dx + out_w) of a horizontally periodic texture, linearly interpolated for fractional dx."""
    w = tex.shape[1]
    x = (np.arange(out_w, dtype=np.float64) + dx) % w
    x0 = np.floor(x).astype(int)
    f = (x - x0).astype(np.float32)[None, :, None]
    return tex[:, x0] * (1 - f) + tex[:, (x0 + 1) % w] * f


@dataclass
class ProceduralShot:
    """A synthetic shot of ``frames`` frames at ``width`` x ``height``; frame i shows time t = i.

    ``margin``: the scene runs on that many pixels beyond each side of the frame (``render(t, wide=True)`` shows
    them: the truth of an Extend)."""

    width: int = 256
    height: int = 128
    frames: int = 24
    seed: int = 0
    margin: int = 0

    def __post_init__(self):
        rng = np.random.default_rng(self.seed)
        h, w = self.height, self.width + 2 * self.margin
        self._far = _texture(rng, h, 2 * w, np.array([0.25, 0.35, 0.55], np.float32), 0.6)
        self._near = _texture(rng, h, 2 * w, np.array([0.18, 0.3, 0.08], np.float32), 0.8)
        yy, xx = np.mgrid[0:h, 0:2 * w].astype(np.float32)
        # The near layer's top edge: a hill line across the lower part of the frame.
        self._hill = 0.62 * h + 0.12 * h * np.sin(2 * np.pi * xx[0] / (2 * w) * 3 + 1.0)
        self._yy = yy[:, :w]
        self._xx = xx[:, :w]
        self._disc_tex = _texture(rng, h, w, np.array([0.8, 0.2, 0.1], np.float32), 0.5)
        self._box_tex = _texture(rng, h, w, np.array([0.75, 0.6, 0.08], np.float32), 0.5)

    def _coverage(self, cx: float, cy: float, r: float, square: bool) -> np.ndarray:
        if square:
            d = np.maximum(np.abs(self._xx - cx), np.abs(self._yy - cy)) - r
        else:
            d = np.hypot(self._xx - cx, self._yy - cy) - r
        return np.clip(0.5 - d, 0.0, 1.0)  # one-pixel antialiased edge

    def objects(self, t: float) -> list[tuple[float, float, float, bool]]:
        """(centre x, centre y, radius, square) of each object at time t, in the wide frame's pixels."""
        h, w, n = self.height, self.width + 2 * self.margin, max(self.frames - 1, 1)
        p = t / n
        disc = (w * (0.15 + 0.7 * p), h * (0.45 + 0.2 * np.sin(2 * np.pi * p)), 0.14 * h, False)
        box = (w * (0.85 - 0.5 * p), h * (0.3 + 0.1 * np.cos(3 * p)), 0.1 * h, True)
        return [disc, box]

    def render(self, t: float, objects: bool = True, wide: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Frame at time t: (H, W, 3) float32 scene-linear and the (H, W) float32 binary object mask. ``objects``
        False: the background alone (the true clean plate); ``wide``: with the margins (W + 2 margin wide)."""
        h, w = self.height, self.width + 2 * self.margin
        far = _shift(self._far, 0.6 * t, w)
        near = _shift(self._near, 2.2 * t, w)
        hill = np.interp((np.arange(w) + 2.2 * t) % (2 * w), np.arange(2 * w), self._hill)
        near_cov = np.clip(self._yy - hill[None, :] + 0.5, 0, 1)[:, :, None]
        rgb = far * (1 - near_cov) + near * near_cov
        # A sun in the sky, above 1.0: highlights must survive the colour round trip.
        sun = self._coverage(w * 0.8 - 0.6 * t, h * 0.15, 0.05 * h, False)[:, :, None]
        rgb = rgb * (1 - sun) + np.array([6.0, 5.0, 3.5], np.float32) * sun
        mask = np.zeros((h, w), np.float32)
        for (cx, cy, r, square), tex in zip(self.objects(t) if objects else [], (self._disc_tex, self._box_tex)):
            cov = self._coverage(cx, cy, r, square)[:, :, None]
            rgb = rgb * (1 - cov) + _shift(tex, -cx, w) * cov
            mask = np.maximum(mask, cov[:, :, 0])
        if not wide and self.margin:
            rgb, mask = rgb[:, self.margin:self.margin + self.width], mask[:, self.margin:self.margin + self.width]
        return rgb.astype(np.float32), (mask >= 0.5).astype(np.float32)

    def write(self, folder: str, inbetweens: bool = True) -> dict[str, str]:
        """Write the shot under ``folder`` as sequences numbered from 1001.

        plates/shot.####.exr (half float), masks/mask.####.png (8-bit), and with ``inbetweens`` the true
        half-frames inbetween/mid.####.exr where frame n holds time n + 0.5. Returns the patterns written.
        """
        patterns = {"plates": os.path.join(folder, "plates", "shot.####.exr"),
                    "masks": os.path.join(folder, "masks", "mask.####.png")}
        if inbetweens:
            patterns["inbetween"] = os.path.join(folder, "inbetween", "mid.####.exr")
        for i in range(self.frames):
            number = FIRST_FRAME + i
            rgb, mask = self.render(float(i))
            write_image(output_path(patterns["plates"], number), Frame(rgb=rgb, pixel_type="half"))
            grey = np.repeat(mask[:, :, None], 3, axis=2)
            write_image(output_path(patterns["masks"], number), Frame(rgb=grey, pixel_type="uint8"),
                        colorspace="linear")
            if inbetweens and i < self.frames - 1:
                mid, _ = self.render(i + 0.5)
                write_image(output_path(patterns["inbetween"], number), Frame(rgb=mid, pixel_type="half"))
        return patterns



class WavesSequence:
    """``count`` frames of moving colour waves, made when read (nothing on disk), with the members of a
    ShotSequence that loading frames for training reads (frames, size, label, path, read, len): a long shot
    (thousands of frames) for tests and benchmarks of length, at a fraction of ``ProceduralShot``'s cost a frame."""

    def __init__(self, count: int, width: int = 64, height: int = 64):
        self.frames = list(range(FIRST_FRAME, FIRST_FRAME + count))
        self.size = (width, height)
        self.label = f"waves.####.exr ({count} frames)"
        self._yy, self._xx = np.mgrid[0:height, 0:width].astype(np.float32)

    def __len__(self) -> int:
        return len(self.frames)

    def path(self, number: int) -> str:
        return f"waves.{number:04d}.exr"

    def read(self, number: int) -> Frame:
        t, xx, yy = (number - FIRST_FRAME) * 0.05, self._xx, self._yy
        rgb = np.stack([0.3 + 0.2 * np.sin(xx / 6 + t), 0.3 + 0.2 * np.cos(yy / 5 - t),
                        0.2 + 0.1 * np.sin((xx + yy) / 9 + 2 * t)], axis=2)
        return Frame(rgb=rgb.astype(np.float32), pixel_type="float")
