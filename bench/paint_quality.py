"""Paint quality (the paper's paste-and-reproject edit): on held-out (odd) frames t, the region of the clip's own
moving object (its DAVIS mask's bounding box, grown by 8 pixels) is pasted from frame t + k and scored against the
real frame t: PSNR inside the region, SSIM over its box. Pixels outside the region are checked unchanged.

Methods, all the node's own operation (``vsae.core.ops.paint``, no feather so the score is the region's):
``paste`` (frame t + k's pixels as they are) and ``follow`` (frame t + k aligned to frame t by optical flow first),
each alone and with N reprojections of the whole region (``+reprojectN``) or of a band of B pixels along its edge
(``+reprojectN/bandB``). ``--gain G`` multiplies the pasted content's scene-linear values by G first: a paste that
does not match its surroundings (another exposure), which reprojection is meant to bring back into the shot. The
shot model is the protocol's (bench/clip_models.py: 512x256, trained on the even frames; --steps).

    python bench/paint_quality.py --clips davis-bear,davis-cows --offset 2 --steps 600
"""

from __future__ import annotations

import argparse

import numpy as np

from clip_models import clip_model
from common import DAVIS, add_scores, display_to_working, load_clip, mean_scores, require_clips, save_results, \
    working_to_display


def object_boxes(clip: str, frames: int, grow: int = 8) -> list[np.ndarray | None]:
    """Per frame, the (256, 512) bool box around the clip's object (its mask's bounding box grown by ``grow``)."""
    from clean_plate_quality import clip_masks

    masks = clip_masks(clip)[:frames]
    boxes: list[np.ndarray | None] = []
    for mask in masks:
        ys, xs = np.nonzero(mask > 0.5)
        if len(ys) < 64:
            boxes.append(None)
            continue
        box = np.zeros(mask.shape, bool)
        box[max(0, ys.min() - grow):ys.max() + 1 + grow, max(0, xs.min() - grow):xs.max() + 1 + grow] = True
        boxes.append(box)
    return boxes


def main():
    from vsae.core import colour
    from vsae.core.metrics import psnr, ssim
    from vsae.core.ops.paint import PaintOptions, paint, paint_content

    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS[:6]))
    ap.add_argument("--offset", type=int, default=2, help="k: frame t + k is pasted over frame t (default 2)")
    ap.add_argument("--steps", type=int, default=600, help="the shot model's training steps (default 600)")
    ap.add_argument("--iterations", default="1,5", help="reprojection counts tried (default 1,5)")
    ap.add_argument("--bands", default="0,8", help="edge bands tried, pixels (0: the whole region; default 0,8)")
    ap.add_argument("--gain", type=float, default=1.0, help="the pasted content's exposure against the shot's "
                                                              "(default 1: as shot)")
    ap.add_argument("--name", help="this run's name in the record (default: default)")
    args = ap.parse_args()
    require_clips()
    iterations = [int(v) for v in args.iterations.split(",")]
    bands = [int(v) for v in args.bands.split(",")]
    rows = []
    for clip in args.clips.split(","):
        display = load_clip(clip)
        working = display_to_working(display)
        model = clip_model(clip, steps=args.steps, frames=working)
        boxes = object_boxes(clip, len(display))
        scores: dict[str, list] = {}
        outside_exact = True
        for t in range(1, len(display) - args.offset, 2):
            hole = boxes[t]
            if hole is None:
                continue
            ys, xs = np.nonzero(hole)
            y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            truth = display[t]
            for follow in (False, True):
                options = PaintOptions(source="frame", follow=follow, feather=0.0)
                content = paint_content(working[t], options, working[t + args.offset])
                if args.gain != 1.0:
                    content = colour.to_working(colour.from_working(content) * args.gain)
                for n, band in [(0, 0)] + [(n, b) for n in iterations for b in bands]:
                    out, matte = paint(working[t], hole, content, lambda: model,
                                       PaintOptions(source="frame", follow=follow, iterations=n, band=band,
                                                    feather=0.0))
                    outside_exact &= bool((out[matte == 0] == working[t][matte == 0]).all())
                    name = (("follow" if follow else "paste") + (f"+reproject{n}" if n else "")
                            + (f"/band{band}" if n and band else ""))
                    img = working_to_display(out)
                    scores.setdefault(name, []).append((psnr(img[hole], truth[hole]),
                                                        ssim(img[y0:y1, x0:x1], truth[y0:y1, x0:x1])))
        rows.append(add_scores({"clip": clip, "frames": len(next(iter(scores.values()))),
                                "outside_exact": outside_exact}, scores))
    mean = mean_scores(rows)
    print("mean", mean)
    print(save_results("paint_quality", {"offset": args.offset, "gain": args.gain, "steps": args.steps,
                                         "iterations": iterations,
                                         "bands": bands, "rows": rows, "mean": mean}, args.name))


if __name__ == "__main__":
    main()
