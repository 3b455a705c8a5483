"""Procedural footage for the shipped prior: shots with the statistics of filmed plates, made here, so the weights
trained on them carry no one else's licence.

Each shot is built from what a camera sees, in scene-linear values:
- depth layers of "dead leaves" (overlapping shapes whose sizes follow a power law: the model of natural images
  whose edges and 1/f spectrum match photographs), each leaf textured with fractal (1/f) noise; a ragged horizon
  between layers, parallax by depth under a pan with hand-held shake, the far layers defocused;
- foreground objects (textured leaves of their own) on smooth paths that turn as they move;
- a light that drifts in level and colour, highlights above 1.0, motion blur from several sub-frame renders, and
  sensor noise that grows with the signal.

>>> shot = LayeredShot(width=128, height=64, frames=3, seed=1)
>>> clip = shot.frames_linear()
>>> clip.shape, clip.dtype, bool(clip.min() >= 0)
((3, 64, 128, 3), dtype('float32'), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def fractal_noise(rng: np.random.Generator, h: int, w: int, exponent: float) -> np.ndarray:
    """(h, w) float32 noise with amplitude spectrum 1/f**exponent, zero mean, unit standard deviation; periodic in
    both directions (made in the Fourier domain), so it tiles under a pan."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fy * fy + fx * fx)
    f[0, 0] = 1.0
    spectrum = (rng.standard_normal(f.shape) + 1j * rng.standard_normal(f.shape)) / f ** exponent
    spectrum[0, 0] = 0.0
    field = np.fft.irfft2(spectrum, s=(h, w)).astype(np.float32)
    return field / (field.std() + 1e-8)


def _palette(rng: np.random.Generator) -> np.ndarray:
    """A random linear colour, log-uniform in level (a frame holds deep shade and bright surfaces)."""
    level = np.exp(rng.uniform(np.log(0.02), np.log(0.8)))
    chroma = rng.dirichlet([2.0, 2.0, 2.0]) * 3.0
    return (level * (0.45 + 0.55 * chroma)).astype(np.float32)


def dead_leaves(rng: np.random.Generator, h: int, w: int, count: int, min_r: float, max_r: float,
                alpha_cover: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A dead-leaves layer: (h, w, 3) linear colour and (h, w) coverage of the leaves in [0, 1] (the colour covers
    the whole frame: under the leaves lies a ground of its own texture).

    ``count`` shapes (discs, ellipses, rectangles, polygons) with radii from a 1/r**3 law between ``min_r`` and
    ``max_r``, drawn nearest last; each is a flat colour with its own fractal texture and a shading gradient.
    With ``alpha_cover`` < 1 only that fraction of the shapes is drawn (a layer with holes). Horizontally periodic:
    shapes that cross the right edge wrap to the left. Drawn as a map of leaf numbers at twice the size, coloured
    per pixel and averaged down: antialiased edges at the cost of one pass.
    """
    import cv2

    s = 2  # supersampling
    hs, ws = h * s, w * s
    label = np.full((hs, ws), count, np.int32)  # the ground: one more leaf under all the others
    u = rng.uniform(size=count)  # inverse transform sampling of p(r) ~ r^-3 on [min_r, max_r]
    radii = np.sort((min_r ** -2 - u * (min_r ** -2 - max_r ** -2)) ** -0.5)[::-1] * s
    centres = np.stack([rng.uniform(0, ws, count), rng.uniform(0, hs, count)], 1)
    for n, (r, (cx, cy)) in enumerate(zip(radii, centres)):  # large first: small leaves fall on top
        if rng.uniform() > alpha_cover:
            continue
        kind = rng.integers(0, 4)
        aspect, angle = rng.uniform(0.15, 1.0), float(rng.uniform(0, 180))
        corners = np.sort(rng.uniform(0, 2 * np.pi, rng.integers(3, 8)))
        for shift in (-ws, 0, ws):  # wrap horizontally
            c = (int(round(cx + shift)), int(round(cy)))
            if kind == 0:
                cv2.circle(label, c, max(1, int(r)), n, -1)
            elif kind == 1:
                cv2.ellipse(label, c, (max(1, int(r)), max(1, int(r * aspect))), angle, 0, 360, n, -1)
            else:
                if kind == 2:
                    pts = cv2.boxPoints((c, (2 * r, 2 * r * aspect), angle if aspect > 0.5 else 0.0))
                else:
                    pts = np.stack([c[0] + r * np.cos(corners), c[1] + r * np.sin(corners)], 1)
                cv2.fillPoly(label, [np.round(pts).astype(np.int32)], n)
    n = count + 1
    radii, centres = np.append(radii, hs), np.vstack([centres, [ws / 2, hs / 2]])
    base = np.stack([_palette(rng) for _ in range(n)])
    grad = rng.normal(0, 0.5, (n, 2)) / np.maximum(radii, 1.0)[:, None]
    amp = rng.uniform(0.05, 0.5, n).astype(np.float32)
    offset = np.stack([rng.integers(0, hs, n), rng.integers(0, ws, n)], 1)
    detail = fractal_noise(rng, hs, ws, rng.uniform(0.8, 1.3))
    yy, xx = np.mgrid[0:hs, 0:ws]
    k = label
    shade = np.clip(1.0 + grad[k, 0] * (yy - centres[k, 1]) + grad[k, 1] * (xx - centres[k, 0]), 0.4, 1.6)
    texture = np.exp(amp[k] * detail[(yy + offset[k, 0]) % hs, (xx + offset[k, 1]) % ws])
    colour = base[k] * (shade * texture).astype(np.float32)[:, :, None]
    colour = cv2.resize(colour, (w, h), interpolation=cv2.INTER_AREA)
    cover = cv2.resize((label < count).astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    return colour.astype(np.float32), cover


def _path(rng: np.random.Generator, frames: int, scale: float) -> np.ndarray:
    """(frames + 1,) a smooth random curve: a drift plus two slow sinusoids, in units of ``scale``."""
    t = np.linspace(0, 1, frames + 1)
    curve = rng.normal(0, 1) * t
    for _ in range(2):
        curve += rng.normal(0, 0.3) * np.sin(2 * np.pi * rng.uniform(0.2, 1.5) * t + rng.uniform(0, 2 * np.pi))
    return (curve * scale).astype(np.float32)


@dataclass
class LayeredShot:
    """A procedural shot of ``frames`` frames at ``width`` x ``height``, different for every ``seed``."""

    width: int = 512
    height: int = 256
    frames: int = 24
    seed: int = 0
    motion_blur_samples: int = 3

    def __post_init__(self):
        rng = self.rng = np.random.default_rng(self.seed)
        h, w = self.height, self.width
        wide = 2 * w  # layers are twice the frame's width and periodic: a pan never runs off them
        self.layers = []
        n_layers = int(rng.integers(2, 5))
        for depth in range(n_layers):  # far to near
            scale = h * (0.5 + depth)
            colour, cover = dead_leaves(rng, h + h // 4, wide, int(rng.integers(200, 800)), max(2.0, h / 40),
                                        scale * rng.uniform(0.3, 0.8))
            if depth == 0:
                cover = np.ones_like(cover)
            else:
                horizon = h * rng.uniform(0.3, 0.8) + h * 0.15 * np.cumsum(rng.normal(0, 0.08, wide))
                horizon -= np.linspace(0, horizon[-1] - horizon[0], wide)  # periodic: ends meet
                yy = np.arange(h + h // 4, dtype=np.float32)[:, None]
                cover = np.clip(yy - horizon[None, :] + 0.5, 0, 1) * (cover if rng.uniform() < 0.3 else 1.0)
            blur = max(0.0, (n_layers - 1 - depth) * rng.uniform(0, 1.5))
            if blur > 0.3:
                import cv2

                colour = cv2.GaussianBlur(colour, (0, 0), blur)
                cover = cv2.GaussianBlur(cover, (0, 0), blur * 0.5)
            parallax = (depth + 1) / n_layers
            self.layers.append((colour, cover.astype(np.float32), parallax))
        self.pan = _path(rng, self.frames, w * rng.uniform(0.05, 0.5))
        self.shake = _path(rng, self.frames, h * rng.uniform(0.0, 0.04))
        self.objects = []
        for _ in range(int(rng.integers(0, 4))):
            r = h * rng.uniform(0.08, 0.3)
            size = int(2 * r) + 4
            colour, _ = dead_leaves(rng, size, size, 60, 1.5, r * 0.6)
            import cv2

            mask = np.zeros((size, size), np.uint8)
            cv2.ellipse(mask, (size // 2, size // 2), (int(r), int(r * rng.uniform(0.4, 1.0))),
                        float(rng.uniform(0, 180)), 0, 360, 1, -1, cv2.LINE_AA)
            self.objects.append((colour, mask.astype(np.float32), _path(rng, self.frames, w * 0.6) + rng.uniform(0, w),
                                 _path(rng, self.frames, h * 0.3) + rng.uniform(0.2, 0.8) * h,
                                 _path(rng, self.frames, 40.0)))
        self.light = 1.0 + _path(rng, self.frames, 0.25)
        self.tint = 1.0 + np.stack([_path(rng, self.frames, 0.08) for _ in range(3)], 1)
        self.noise = rng.uniform(0.0, 0.02)
        self.highlights = [(rng.uniform(0, 2 * w), rng.uniform(0, h), rng.uniform(1.5, 6.0))
                           for _ in range(int(rng.integers(0, 4)))]

    def _at(self, t: float) -> np.ndarray:
        import cv2

        h, w = self.height, self.width
        i = int(np.clip(np.floor(t), 0, self.frames - 1))
        f = float(np.clip(t - i, 0, 1))

        def curve(c):
            return float(c[i] * (1 - f) + c[min(i + 1, self.frames)] * f)

        pan, shake = curve(self.pan), curve(self.shake)
        frame = np.zeros((h, w, 3), np.float32)
        for colour, cover, parallax in self.layers:
            dx, dy = pan * parallax, h / 8 + shake * parallax
            m = np.array([[1, 0, -dx], [0, 1, -dy]], np.float32)
            c = cv2.warpAffine(colour, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
            a = cv2.warpAffine(cover, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)[:, :, None]
            frame = frame * (1 - a) + c * a
            for hx, hy, level in self.highlights:
                if parallax == 1.0:  # sun glints ride the nearest layer
                    cv2.circle(frame, (int((hx - dx) % w), int(hy)), max(1, h // 100), (level, level, level * 0.8),
                               -1, cv2.LINE_AA)
        for colour, mask, px, py, angle in self.objects:
            size = mask.shape[0]
            turn = cv2.getRotationMatrix2D((size / 2, size / 2), curve(angle), 1.0)
            turn[:, 2] += (curve(px) - pan - size / 2, curve(py) - size / 2)
            c = cv2.warpAffine(colour, turn, (w, h), flags=cv2.INTER_LINEAR)
            a = cv2.warpAffine(mask, turn, (w, h), flags=cv2.INTER_LINEAR)[:, :, None]
            frame = frame * (1 - a) + c * a
        return frame * curve(self.light) * np.array([curve(self.tint[:, k]) for k in range(3)], np.float32)

    def frame_linear(self, number: int) -> np.ndarray:
        """Frame ``number`` (0-based): (H, W, 3) float32 scene-linear, with motion blur and sensor noise."""
        samples = max(1, self.motion_blur_samples)
        times = number + (np.arange(samples) / samples - 0.5) * 0.5 if samples > 1 else [number]
        frame = np.mean([self._at(float(t)) for t in times], axis=0)
        noise_rng = np.random.default_rng((self.seed, number))
        frame = frame + self.noise * np.sqrt(np.maximum(frame, 0) + 0.01) * noise_rng.standard_normal(frame.shape)
        return np.maximum(frame, 0.0).astype(np.float32)

    def frames_linear(self) -> np.ndarray:
        """(frames, H, W, 3) float32: every frame of the shot."""
        return np.stack([self.frame_linear(i) for i in range(self.frames)])
