"""Quality figures, computed the way the benchmark protocol (../shared/BENCHMARKS.md) states them: on display values.

Frames are compared as sRGB-encoded values in [0, 1], as a viewer shows them (scene-linear values are encoded and
clipped for the comparison only; the pixels themselves are never clipped).
"""

from __future__ import annotations

import numpy as np

from vsae.core.colour import linear_to_srgb


def to_display(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) scene-linear -> sRGB display values in [0, 1], float32 (for metrics)."""
    return np.clip(linear_to_srgb(np.maximum(rgb, 0.0)), 0.0, 1.0)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two arrays of display values in [0, 1]."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def display_psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two scene-linear (H, W, 3) frames, compared as display values."""
    return psnr(to_display(a), to_display(b))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5) of two (H, W, C) arrays in [0, 1],
    averaged over channels."""
    import cv2

    c1, c2 = 0.01 ** 2, 0.03 ** 2
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)

    def blur(x):
        return cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2)
    return float(np.mean(num / den))
