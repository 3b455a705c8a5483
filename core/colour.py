"""Colour: scene-linear pixels to the network's working range and back, exactly invertibly.

The working transform (documented in the README) is, per channel,

    s = GAIN * sign(x) * |x| ** (1 / GAMMA)        (a perceptual, gamma-like lift)
    w = s / (1 + |s|)                               (a soft knee: all of R maps into (-1, 1))

and its inverse ``x = sign(w) * (|w| / (1 - |w|) / GAIN) ** GAMMA``. Values above 1.0 (highlights) and below 0.0
(negative lobes of resampling filters) survive the round trip; nothing is clipped up to +-65504 (the half-float
range), where the network's outputs are held. With GAIN = 2, mid grey 0.18 lands
near 0.48, 1.0 at 0.67 and 16.0 at 0.88, so display-range content fills most of the range the network sees.

Integer files (8/16-bit PNG, TIFF, JPEG, DPX) hold display-encoded values; ``decode_display``/``encode_display``
convert them to and from scene-linear with the sRGB curve, or with OpenColorIO through OpenImageIO when ``$OCIO``
is set and a colour space is named (see ``vsae.core.io.sequence``).
"""

from __future__ import annotations

import numpy as np

GAIN = 2.0
GAMMA = 2.2
# The network's output is held inside this before the inverse (the knee's inverse has a pole at |w| = 1). It is the
# working value of 65504, the largest half float: every value a half EXR can hold round-trips exactly.
WORKING_LIMIT = 0.99679


def to_working(linear: np.ndarray) -> np.ndarray:
    """Scene-linear to working range.

    linear: (..., C) float, any real values. Returns the same shape, float32 in (-1, 1).
    """
    return in_parts(_to_working, np.asarray(linear, dtype=np.float32))


# The two transforms below are the formulas in the module's docstring, operation for operation in float32 (to) and
# float64 (from) as first written, with the passes over the data made in place: the same values bit for bit (a NaN
# stays a NaN), 1.5-2.3x faster (tests/core/test_colour.py holds them to the plain formulas).
def _to_working(x: np.ndarray) -> np.ndarray:
    s = np.power(np.abs(x), 1.0 / GAMMA)
    s *= GAIN  # times 2 is exact: the same as applying the gain to the sign first
    s *= np.sign(x)
    knee = np.abs(s)
    knee += 1.0
    s /= knee
    return s.astype(np.float32, copy=False)


def from_working(working: np.ndarray) -> np.ndarray:
    """Working range to scene-linear; the exact inverse of ``to_working``.

    working: (..., C) float in (-1, 1); values at or beyond +-WORKING_LIMIT are held there (network overshoot).
    Returns float32 scene-linear values.
    """
    return in_parts(_from_working, np.asarray(working))


def _from_working(working: np.ndarray) -> np.ndarray:
    w = np.asarray(working, dtype=np.float64)
    s = np.minimum(np.abs(w), WORKING_LIMIT)  # |w| held at the limit: the clip's magnitude; the sign is w's
    s /= 1.0 - s
    s /= GAIN
    np.power(s, GAMMA, out=s)
    s *= np.sign(w)
    return s.astype(np.float32)


# Whole frames are converted in blocks of this many values (1 MB of float64), so that a block's temporaries stay in
# the core's cache where a 1080p frame's whole float64 temporaries (50 MB each) go to memory and back at every step:
# from_working 2.3x and to_working 1.4x faster at 1080p. On one thread: beside ONNX Runtime's threads, conversion
# threads slowed both (bench/README.md, session 13). A block is a multiple of 64 values, so that every value goes
# through the same vectorised loop as when the array is converted whole.
PART_VALUES = 1 << 17


def in_parts(fn, x: np.ndarray) -> np.ndarray:
    """``fn`` (elementwise, returning float32) over ``x`` in blocks of PART_VALUES: the same values as ``fn(x)``."""
    if x.size <= PART_VALUES:
        return fn(x)
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty(flat.size, np.float32)
    for start in range(0, flat.size, PART_VALUES):
        out[start:start + PART_VALUES] = fn(flat[start:start + PART_VALUES])
    return out.reshape(x.shape)


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """sRGB-encoded display values in [0, 1] to linear (IEC 61966-2-1), float32."""
    v = np.asarray(v, dtype=np.float32)
    return np.where(v <= 0.04045, v / 12.92, np.power((np.maximum(v, 0.04045) + 0.055) / 1.055, 2.4)).astype(
        np.float32
    )


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear to sRGB-encoded display values; the inverse of ``srgb_to_linear`` (not clipped)."""
    x = np.asarray(x, dtype=np.float32)
    return np.where(
        x <= 0.0031308, x * 12.92, 1.055 * np.power(np.maximum(x, 0.0031308), 1.0 / 2.4) - 0.055
    ).astype(np.float32)


def rec709_to_linear(v: np.ndarray) -> np.ndarray:
    """Rec.709 display-encoded values (BT.1886: a pure 2.4 power, as a Resolve "Rec.709 Gamma 2.4" timeline holds
    them) to linear light, float32; sign kept for values below 0 (a float timeline's overshoot)."""
    v = np.asarray(v, dtype=np.float32)
    return (np.sign(v) * np.power(np.abs(v), 2.4)).astype(np.float32)


def linear_to_rec709(x: np.ndarray) -> np.ndarray:
    """Linear to Rec.709 (BT.1886, gamma 2.4) display-encoded values; the inverse of ``rec709_to_linear``."""
    x = np.asarray(x, dtype=np.float32)
    return (np.sign(x) * np.power(np.abs(x), 1.0 / 2.4)).astype(np.float32)


def unpremultiply(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Colour divided by alpha where alpha > 0 (left as is where alpha is 0).

    rgb: (H, W, 3); alpha: (H, W, 1). Returns (H, W, 3) float32.
    """
    a = np.asarray(alpha, dtype=np.float32)
    safe = np.where(a > 0, a, 1.0)
    return (np.asarray(rgb, dtype=np.float32) / safe).astype(np.float32)


def premultiply(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Colour times alpha. rgb: (H, W, 3); alpha: (H, W, 1). Returns (H, W, 3) float32."""
    return (np.asarray(rgb, dtype=np.float32) * np.asarray(alpha, dtype=np.float32)).astype(np.float32)
