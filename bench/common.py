"""Shared pieces of the benchmarks: the shared clips at the protocol's size, metrics, timing and memory.

Protocol: ../shared/BENCHMARKS.md (paper protocol: every frame resized to 512x256 by area).
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
CLIPS = os.environ.get("VSAE_CLIPS", os.path.join(ROOT, "..", "shared", "clips"))
DAVIS = ["davis-bear", "davis-blackswan", "davis-bmx-trees", "davis-breakdance", "davis-car-shadow", "davis-cows",
         "davis-surf", "davis-tennis"]
PAPER_SIZE = (512, 256)  # (width, height)


def require_clips() -> None:
    if not os.path.isdir(CLIPS):
        sys.exit(f"bench: shared clips not found at {CLIPS} (set VSAE_CLIPS)")


def load_clip(name: str, size: tuple[int, int] | None = PAPER_SIZE, limit: int | None = None) -> np.ndarray:
    """A shared clip's frames as sRGB display values (N, H, W, 3) float32 in [0, 1], area-resized to ``size``."""
    import cv2

    folder = os.path.join(CLIPS, name, "frames")
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith((".jpg", ".png")))[:limit]
    out = []
    for f in files:
        bgr = cv2.imread(os.path.join(folder, f), cv2.IMREAD_COLOR)
        img = bgr[:, :, ::-1].astype(np.float32) / 255.0
        if size is not None and (img.shape[1], img.shape[0]) != size:
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        out.append(img)
    return np.stack(out)


def display_to_working(display: np.ndarray) -> np.ndarray:
    """(…, 3) sRGB display values -> working range, as vsae reads an 8-bit plate."""
    from vsae.core.colour import srgb_to_linear, to_working

    return to_working(srgb_to_linear(display))


def working_to_display(working: np.ndarray) -> np.ndarray:
    from vsae.core.colour import from_working
    from vsae.core.metrics import to_display

    return to_display(from_working(working))


def median_time(fn, repeats: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def add_scores(row: dict, scores: dict) -> dict:
    """Put each method's mean PSNR/SSIM into ``row`` and print the row on one line.

    scores: method -> [(psnr, ssim), ...] over the clip's frames. Returns ``row``.
    """
    for name, vals in scores.items():
        row[name] = {"psnr": round(float(np.mean([v[0] for v in vals])), 2),
                     "ssim": round(float(np.mean([v[1] for v in vals])), 3)}
    print(row["clip"], "  ".join(f"{k} {v['psnr']:.2f}/{v['ssim']:.3f}" for k, v in row.items()
                                 if isinstance(v, dict)), flush=True)
    return row


def mean_scores(rows: list[dict]) -> dict:
    """Each method's PSNR/SSIM averaged over the clips' rows (as ``add_scores`` made them)."""
    methods = [k for k in rows[0] if isinstance(rows[0][k], dict) and "psnr" in rows[0][k]]
    return {m: {s: round(float(np.mean([r[m][s] for r in rows])), 3) for s in ("psnr", "ssim")} for m in methods}


def save_results(benchmark: str, payload: dict, run: str | None = None) -> str:
    """Record one run of ``benchmark`` (named by its --tag/--name; ``default`` without one) in its record,
    bench/results/<benchmark>.json (bench/records.py). Returns the record's path."""
    from records import save_run

    return save_run(benchmark, payload, run or "default")
