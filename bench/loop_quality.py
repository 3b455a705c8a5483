"""Loop quality (the paper's video textures): how visible is the jump back of an endless loop, cut or cross-faded?

For each clip the Loop node (``plugin/nodes/loop.py``, through the file renderer's context) finds the best loop of
the shot model's codes (every frame of the clip, at least ``--min-length`` frames long) and renders one pass of it,
whose last frame leads into its first. Each transition method (``cut``: transition 0; ``blend``, ``flow``,
``hybrid``, ``latent``: ``--transition`` frames cross-faded) is scored by the perceptual distance of consecutive
output frames: the largest over the pass (where the jump shows), beside the clip's own median step between
consecutive frames (natural motion). Distance: 1 - SSIM of the display-referred frames at a quarter of their size
(128x64: the structure a viewer sees jump, not the fine texture that moves in every frame), a documented stand-in
for the paper's learned perceptual distance (LPIPS needs network weights fetched from the internet; none are here).
The shot model is the protocol's (bench/clip_models.py: 512x256, trained on the even frames; --steps).

    python bench/loop_quality.py --clips davis-bear,davis-blackswan,davis-bmx-trees --name choose
    python bench/loop_quality.py --clips davis-breakdance,davis-car-shadow,davis-cows --name report
"""

from __future__ import annotations

import argparse

import numpy as np

from clip_models import clip_model
from common import DAVIS, display_to_working, load_clip, require_clips, save_results
from model_contribution import linear_clip, to_display

METHODS = ("cut", "blend", "flow", "hybrid", "latent")


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """The perceptual stand-in: 1 - SSIM of two display-referred (H, W, 3) frames in [0, 1], each reduced twice by
    a Gaussian pyramid (a quarter of the size)."""
    import cv2

    from vsae.core.metrics import ssim

    def quarter(x):
        return cv2.pyrDown(cv2.pyrDown(np.asarray(x, np.float32)))

    return 1.0 - ssim(quarter(a), quarter(b))


def main():
    from vsae.plugin.nodes import load_node
    from vsae.plugin.render_files import file_context

    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS[:6]))
    ap.add_argument("--steps", type=int, default=600, help="the shot model's training steps (default 600)")
    ap.add_argument("--min-length", type=int, default=12, help="the shortest loop searched (default 12)")
    ap.add_argument("--transition", type=int, default=4, help="cross-faded frames (default 4, the node's)")
    ap.add_argument("--name", help="this run's name in the record (default: default)")
    args = ap.parse_args()
    require_clips()
    node = load_node("loop")
    rows = []
    for clip in args.clips.split(","):
        display = load_clip(clip)
        model = clip_model(clip, steps=args.steps, frames=display_to_working(display))
        numbers = list(range(1, len(display) + 1))
        context = file_context(linear_clip(display, numbers), lambda: model)
        natural = float(np.median([distance(a, b) for a, b in zip(display, display[1:])]))
        row: dict = {"clip": clip, "natural_step": round(natural, 4)}
        loop = None
        for method in METHODS:
            params = node.resolve({"method": "blend" if method == "cut" else method, "min_length": args.min_length,
                                   "transition": 0 if method == "cut" else args.transition})
            loop = node.find_loop(params, context)  # found once, kept in the context's cache
            span = loop[1] - loop[0]
            frames = [to_display(node.render(numbers[0] + k, {**params, "length": span}, context))
                      for k in range(span)]
            steps = [distance(a, b) for a, b in zip(frames, frames[1:] + frames[:1])]
            row[method] = {"largest_step": round(max(steps), 4), "mean_step": round(float(np.mean(steps)), 4)}
        assert loop is not None
        row["loop"] = [numbers[loop[0]], numbers[loop[1] - 1]]
        rows.append(row)
        print(row, flush=True)
    mean = {m: {s: round(float(np.mean([r[m][s] for r in rows])), 4) for s in ("largest_step", "mean_step")}
            for m in METHODS}
    mean["natural_step"] = round(float(np.mean([r["natural_step"] for r in rows])), 4)
    print("mean", mean)
    print(save_results("loop_quality", {"steps": args.steps, "min_length": args.min_length,
                                        "transition": args.transition, "metric": "1 - SSIM (display, quarter size)",
                                        "rows": rows,
                                        "mean": mean}, args.name))


if __name__ == "__main__":
    main()
