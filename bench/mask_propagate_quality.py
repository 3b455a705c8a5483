"""Mask Propagate quality (../shared/BENCHMARKS.md): from the true mask of frame 0 only, masks for every later frame;
J (mean IoU over frames 1..N-1) and F (boundary measure, tolerance 0.008 of the diagonal) at the native 854x480,
beside the frame-0 mask carried frame to frame by DIS optical flow. Also frames per second and peak memory.

The shot model is the protocol's (bench/clip_models.py: 512x256, trained on the even frames); pixel codes are
computed on the 512x256 frames and the mattes scored at native size.

    python bench/mask_propagate_quality.py --clips davis-bear
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from clip_models import clip_model
from common import CLIPS, DAVIS, PAPER_SIZE, display_to_working, load_clip, peak_rss_mib, require_clips, save_results


def load_masks(clip: str) -> np.ndarray:
    import cv2

    folder = os.path.join(CLIPS, clip, "masks")
    files = sorted(os.listdir(folder))
    return np.stack([(cv2.imread(os.path.join(folder, f), cv2.IMREAD_GRAYSCALE) > 127).astype(np.float32)
                     for f in files])


def flow_baseline(display: np.ndarray, mask0: np.ndarray) -> list[np.ndarray]:
    """The frame-0 mask warped frame to frame along DIS flow (preset MEDIUM), at native size."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    h, w = mask0.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    grey = np.round(display.mean(axis=3) * 255).astype(np.uint8)
    masks, current = [mask0], mask0
    for t in range(1, len(display)):
        flow = dis.calc(grey[t], grey[t - 1], None)  # t -> t-1: pull from t-1
        current = cv2.remap(current, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        masks.append(current)
    return masks


def main():
    import cv2

    from vsae.core.mask_propagate import (Propagation, PropagationSettings, boundary_f, grid_to_mask, jaccard,
                                          mask_to_grid, refine_matte)
    from vsae.core.pixel_codes import hypercolumns

    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS))
    ap.add_argument("--set", action="append", default=[], help="PropagationSettings field=value")
    ap.add_argument("--name", default="mask_propagate_quality")
    args = ap.parse_args()
    require_clips()
    settings = PropagationSettings(**{k: type(getattr(PropagationSettings, k))(v)
                                      for k, v in (s.split("=", 1) for s in args.set)})
    rows = []
    for clip in args.clips.split(","):
        native = load_clip(clip, size=None)
        masks = load_masks(clip)
        h, w = masks.shape[1:]
        small = display_to_working(np.stack([cv2.resize(f, PAPER_SIZE, interpolation=cv2.INTER_AREA) for f in native]))
        model = clip_model(clip, frames=small)
        key = mask_to_grid(cv2.resize(masks[0], PAPER_SIZE, interpolation=cv2.INTER_AREA), settings.stride)
        start = time.perf_counter()
        prop = Propagation(lambda f: hypercolumns(model, small[f], settings.stride, settings.layers, settings.image_weight), range(len(native)), {0: key},
                           settings)
        grids = [prop.grid_matte(t) for t in range(len(native))]
        fps = (len(native) - 1) / (time.perf_counter() - start)
        guide = display_to_working(native)
        outputs = {
            "codes": [grid_to_mask(g, h, w) for g in grids],
            "codes+refine": [refine_matte(grid_to_mask(g, h, w), guide[t], radius=8) for t, g in enumerate(grids)],
            "dis_flow": flow_baseline(native, masks[0]),
        }
        row = {"clip": clip, "frames": len(native), "fps": round(fps, 2)}
        for name, preds in outputs.items():
            row[name] = {"J": round(float(np.mean([jaccard(p, m) for p, m in zip(preds[1:], masks[1:])])), 3),
                         "F": round(float(np.mean([boundary_f(p, m) for p, m in zip(preds[1:], masks[1:])])), 3)}
        rows.append(row)
        print(clip, f"{row['fps']} fps", "  ".join(f"{k} J {v['J']:.3f} F {v['F']:.3f}" for k, v in row.items()
                                                   if isinstance(v, dict)), flush=True)
    methods = [k for k in rows[0] if isinstance(rows[0][k], dict)]
    mean = {m: {s: round(float(np.mean([r[m][s] for r in rows])), 3) for s in ("J", "F")} for m in methods}
    print("mean", mean, f"peak RSS {peak_rss_mib():.0f} MiB")
    print(save_results(args.name, {"settings": settings.__dict__, "rows": rows, "mean": mean,
                                   "peak_rss_mib": round(peak_rss_mib())}))


if __name__ == "__main__":
    main()
