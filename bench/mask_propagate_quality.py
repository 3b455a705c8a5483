"""Mask Propagate quality (../shared/BENCHMARKS.md): from the true mask of frame 0 only, masks for every later frame;
J (mean IoU over frames 1..N-1) and F (boundary measure, tolerance 0.008 of the diagonal) at the native 854x480,
beside the frame-0 mask carried frame to frame by DIS optical flow. Also frames per second and peak memory.

The shot model is the protocol's (bench/clip_models.py: 512x256, trained on the even frames; ``--steps`` for
another training length); the node's own operation (``vsae.core.ops.mask_propagate.MaskPropagation``) propagates on the
native frames with its pixel codes at 512 on the long side, and the mattes are scored at native size. Each clip is
also propagated with its colour alone as the code (no encoder): what the model adds.

    python bench/mask_propagate_quality.py --clips davis-bear
    # settings chosen on four clips and reported on the other four, and the other way round:
    python bench/mask_propagate_quality.py --choose-on davis-bear,davis-bmx-trees,davis-cows,davis-surf \
        --grid image_weight=1,4 --grid radius=8,16
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import numpy as np

from clip_models import DEFAULT_STEPS, clip_model
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


_LOADED: dict = {}  # the clip being scored: frames, masks, model and flow baseline


def score_clip(clip: str, settings, steps: int, colour_alone: bool = False) -> dict:
    """J / F of the node's operation (``MaskPropagation``) on ``clip`` with these PropagationSettings, without and
    with its guided refinement, beside DIS flow and, with ``colour_alone``, the same propagation with the frame's
    colour as the only code (no encoder: what the model adds). The clip's frames, masks, flow baseline and model are
    loaded once per process."""
    import cv2

    from vsae.core.colour import srgb_to_linear
    from vsae.core.ops.mask_propagate import MaskPropagateOptions, MaskPropagation, boundary_f, jaccard

    if clip not in _LOADED:
        native = load_clip(clip, size=None)
        masks = load_masks(clip)
        small = display_to_working(np.stack([cv2.resize(f, PAPER_SIZE, interpolation=cv2.INTER_AREA)
                                             for f in native]))
        _LOADED.clear()  # one clip at a time in memory
        _LOADED[clip] = (srgb_to_linear(native).astype(np.float32), masks, clip_model(clip, steps=steps, frames=small),
                         flow_baseline(native, masks[0]))
    linear, masks, model, flow = _LOADED[clip]
    frames = range(len(linear))

    def propagate(options, refine=None):
        prop = MaskPropagation(linear.__getitem__, frames, {0: masks[0]}, lambda: model, options)
        return [prop.matte(t, refine) for t in frames], prop

    # Codes at the model's training width (512 on the long side), as the node's working_size sets them.
    options = MaskPropagateOptions(settings, working_size=PAPER_SIZE[0], refine=True)
    start = time.perf_counter()
    refined, prop = propagate(options)
    fps = (len(linear) - 1) / (time.perf_counter() - start)
    outputs = {"codes": [prop.matte(t, refine=False) for t in frames], "codes+refine": refined, "dis_flow": flow}
    if colour_alone:
        alone = replace(settings, layers=0, image_weight=1.0)
        outputs["colour+refine"] = propagate(MaskPropagateOptions(alone, working_size=PAPER_SIZE[0]))[0]
    row = {"clip": clip, "frames": len(linear), "fps": round(fps, 2)}
    for name, preds in outputs.items():
        row[name] = {"J": round(float(np.mean([jaccard(p, m) for p, m in zip(preds[1:], masks[1:])])), 3),
                     "F": round(float(np.mean([boundary_f(p, m) for p, m in zip(preds[1:], masks[1:])])), 3)}
    print(clip, f"{row['fps']} fps", "  ".join(f"{k} J {v['J']:.3f} F {v['F']:.3f}" for k, v in row.items()
                                               if isinstance(v, dict)), flush=True)
    return row


def mean_of(rows: list[dict]) -> dict:
    methods = [k for k in rows[0] if isinstance(rows[0][k], dict)]
    return {m: {s: round(float(np.mean([r[m][s] for r in rows])), 3) for s in ("J", "F")} for m in methods}


def choose_and_report(choose: list[str], report: list[str], grid: list[dict], steps: int) -> dict:
    """The grid point with the best mean J (codes + refinement) on ``choose``, then scored on ``report``: settings
    are never judged on the clips they were chosen on."""
    from vsae.core.ops.mask_propagate import PropagationSettings

    trials = []
    for clip in choose:  # clip-major: each clip's model and flow are loaded once
        for i, point in enumerate(grid):
            row = score_clip(clip, PropagationSettings(**point), steps)
            trials.append((i, row))
    means = [float(np.mean([r["codes+refine"]["J"] for j, r in trials if j == i])) for i in range(len(grid))]
    best = int(np.argmax(means))
    rows = [score_clip(clip, PropagationSettings(**grid[best]), steps, colour_alone=True) for clip in report]
    return {"chosen_on": choose, "reported_on": report, "grid": grid, "grid_mean_J": [round(m, 3) for m in means],
            "chosen": grid[best], "rows": rows, "mean": mean_of(rows)}


def main():
    import itertools

    from vsae.core.ops.mask_propagate import PropagationSettings

    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS))
    ap.add_argument("--set", action="append", default=[], help="PropagationSettings field=value")
    ap.add_argument("--name", default="default", help="the run's name in bench/results/mask_propagate_quality.json")
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="training steps of each clip's model")
    ap.add_argument("--grid", action="append", default=[],
                    help="field=v1,v2,...: settings to choose among (with --choose-on)")
    ap.add_argument("--choose-on", help="clips to choose the --grid settings on; they are reported on the other "
                                        "--clips, and the other way round")
    ap.add_argument("--splits", type=int, choices=(1, 2), default=2,
                    help="2: also choose on the other clips and report on --choose-on; 1: one direction only")
    args = ap.parse_args()
    require_clips()

    def typed(field, value):
        return type(getattr(PropagationSettings, field))(value)

    fixed = {k: typed(k, v) for k, v in (s.split("=", 1) for s in args.set)}
    clips = args.clips.split(",")
    if args.choose_on:
        axes = [(k, [typed(k, v) for v in vs.split(",")]) for k, vs in (g.split("=", 1) for g in args.grid)]
        grid = [{**fixed, **dict(zip([k for k, _ in axes], values))}
                for values in itertools.product(*[vs for _, vs in axes])]
        a = args.choose_on.split(",")
        b = [c for c in clips if c not in a]
        splits = []
        for choose, report in [(a, b), (b, a)][:args.splits]:
            splits.append(choose_and_report(choose, report, grid, args.steps))
            print("chosen on", ",".join(choose), splits[-1]["chosen"], "reported:", splits[-1]["mean"], flush=True)
            # Saved after each direction: one takes most of an hour on two cores.
            print(save_results("mask_propagate_quality", {"steps": args.steps, "splits": splits}, run=args.name))
        return
    settings = PropagationSettings(**fixed)
    rows = [score_clip(clip, settings, args.steps, colour_alone=True) for clip in clips]
    mean = mean_of(rows)
    print("mean", mean, f"peak RSS {peak_rss_mib():.0f} MiB")
    print(save_results("mask_propagate_quality", {"settings": settings.__dict__, "steps": args.steps, "rows": rows,
                                                  "mean": mean, "peak_rss_mib": round(peak_rss_mib())}, run=args.name))


if __name__ == "__main__":
    main()
