"""Clean Plate quality (../shared/BENCHMARKS.md): on held-out (odd) frames, a hole shaped like the bounding box of
another clip's DAVIS mask is filled; PSNR/SSIM inside the hole against the original pixels, beside OpenCV inpaint
(Telea, Navier-Stokes) and the per-pixel median of the other frames where the place is uncovered; pixels outside
the hole are checked unchanged.

The hole of frame t follows the other clip's object: its box at frame t, scaled to at most 8% of the frame's area,
moved by one offset for the whole clip chosen to overlap this clip's own object least (the hole sits on background,
and moves, so other frames can uncover it). Every frame has its hole; fills see only pixels outside holes.
The shot model is the protocol's (bench/clip_models.py: 512x256, trained on the even frames). ``surround+reprojectN``
and ``temporal+reprojectN`` are the node's own operation (``vsae.core.ops.clean_plate.clean_plate``: what other frames
uncover is held, the rest reprojected N times); ``temporal_median`` is its ``plate`` fill over every other frame.

    python bench/clean_plate_quality.py --clips davis-bear --iterations 0,2,5
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from clip_models import clip_model
from common import (CLIPS, DAVIS, PAPER_SIZE, add_scores, display_to_working, load_clip, mean_scores, require_clips,
                    save_results, working_to_display)


def clip_masks(clip: str) -> np.ndarray:
    """(N, 256, 512) float32 masks at the protocol size."""
    import cv2

    folder = os.path.join(CLIPS, clip, "masks")
    return np.stack([cv2.resize((cv2.imread(os.path.join(folder, f), cv2.IMREAD_GRAYSCALE) > 127).astype(np.float32),
                                PAPER_SIZE, interpolation=cv2.INTER_AREA) for f in sorted(os.listdir(folder))])


def foreign_holes(own: np.ndarray, foreign: np.ndarray, max_area: float = 0.08) -> np.ndarray:
    """(N, H, W) bool holes: the foreign clip's mask boxes, scaled and offset to avoid ``own`` objects."""
    n, h, w = own.shape
    boxes = []
    for t in range(n):
        ys, xs = np.nonzero(foreign[t % len(foreign)] > 0.5)
        if len(ys) == 0:
            boxes.append(boxes[-1] if boxes else (w / 2, h / 2, 8.0, 8.0))
            continue
        bw, bh = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        scale = min(1.0, np.sqrt(max_area * h * w / (bw * bh)))
        boxes.append(((xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2, bw * scale, bh * scale))
    boxes = np.array(boxes)
    best = None
    for dy in range(-h // 2, h // 2 + 1, 16):
        for dx in range(-w // 2, w // 2 + 1, 16):
            cx, cy = boxes[:, 0] + dx, boxes[:, 1] + dy
            if (cx - boxes[:, 2] / 2 < 0).any() or (cx + boxes[:, 2] / 2 > w).any() or \
                    (cy - boxes[:, 3] / 2 < 0).any() or (cy + boxes[:, 3] / 2 > h).any():
                continue
            holes = np.zeros((n, h, w), bool)
            for t in range(n):
                holes[t, int(cy[t] - boxes[t, 3] / 2):int(cy[t] + boxes[t, 3] / 2),
                      int(cx[t] - boxes[t, 2] / 2):int(cx[t] + boxes[t, 2] / 2)] = True
            overlap = (holes & (own > 0.5)).sum()
            if best is None or overlap < best[0]:
                best = (overlap, holes)
    return best[1]


def main():
    import cv2

    from vsae.core.ops.clean_plate import CleanPlateOptions, clean_plate, fill_frames
    from vsae.core.metrics import psnr, ssim

    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS))
    ap.add_argument("--iterations", default="0,2,5")
    ap.add_argument("--search", type=int, default=10, help="frames each side the temporal fill looks at")
    args = ap.parse_args()
    require_clips()
    iterations = [int(i) for i in args.iterations.split(",")]
    rows = []
    for ci, clip in enumerate(args.clips.split(",")):
        display = load_clip(clip)
        working = display_to_working(display)
        model = clip_model(clip, frames=working)
        holes = foreign_holes(clip_masks(clip), clip_masks(DAVIS[(DAVIS.index(clip) + 1) % len(DAVIS)]
                                                           if clip in DAVIS else DAVIS[0]))
        scores: dict[str, list] = {}
        outside_exact = True
        for t in range(1, len(display), 2):
            hole = holes[t]
            ys, xs = np.nonzero(hole)
            y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            truth = display[t]
            cut8 = np.round(np.where(hole[:, :, None], 0, truth) * 255).astype(np.uint8)
            outputs = {
                "telea": cv2.inpaint(cut8, hole.astype(np.uint8), 3, cv2.INPAINT_TELEA).astype(np.float32) / 255,
                "navier_stokes": cv2.inpaint(cut8, hole.astype(np.uint8), 3, cv2.INPAINT_NS).astype(np.float32) / 255,
            }
            # The node's own operation, with the hole as given (no grow, no feather): the metric is inside it.
            for fill in ("surround", "temporal", "plate"):
                for n in (iterations if fill != "plate" else [0]):
                    order = fill_frames(t, range(len(display)), fill, args.search if fill != "plate" else len(display))
                    out, matte = clean_plate(working[t], hole, [(working[s], holes[s]) for s in order],
                                             lambda: model, CleanPlateOptions(fill=fill, iterations=n, grow=0,
                                                                              feather=0.0))
                    outside_exact &= bool((out[matte == 0] == working[t][matte == 0]).all())
                    outputs["temporal_median" if fill == "plate" else f"{fill}+reproject{n}"] = working_to_display(out)
            for name, img in outputs.items():
                scores.setdefault(name, []).append((
                    psnr(img[hole], truth[hole]), ssim(img[y0:y1, x0:x1], truth[y0:y1, x0:x1])))
        rows.append(add_scores({"clip": clip, "hole_fraction": round(float(holes.mean()), 3),
                                "outside_exact": outside_exact}, scores))
    mean = mean_scores(rows)
    print("mean", mean)
    print(save_results("clean_plate_quality", {"iterations": iterations, "search": args.search, "rows": rows,
                                               "mean": mean}))


if __name__ == "__main__":
    main()
