"""Temporal stability of per-frame reprojection: flicker, beside the source's own, and per-frame quality.

Each node renders a run of consecutive frames through the file renderer's context (the shipped node definitions).
Flicker is ``core.ops.temporal.temporal_error``: the mean absolute change (display values) between each output
frame and the one before it warped onto it along DIS optical flow of the *real* frames, where that flow holds both
ways; the real frames' own figure is the floor (lighting, noise, the flow's errors). Per-frame quality: PSNR against
the real frames on the held-out (odd) frames. The shot model is the protocol's (bench/clip_models.py: 512x256,
trained on the even frames; --steps).

- upres: every frame downsampled by --factor (area), Upres with ``temporal`` 0 (each frame alone) and the values of
  --temporal (neighbours aligned and averaged); bicubic beside them.
- clean_plate: holes over the background, measured inside them; the first guess beside the reprojected fill.
- stretch: the frames squeezed to half their width stretched back (2x); the resampled first guess beside it.
- extend: the frames' centre extended back to full size, measured in the new area; mirror padding beside it, each
  frame alone and with ``temporal`` 1 (neighbours' results aligned along the results' own flow and averaged).

    python bench/flicker.py --clips davis-bear,davis-blackswan,davis-bmx-trees --name choose
    python bench/flicker.py --nodes clean_plate,extend --name other_nodes
"""

from __future__ import annotations

import argparse

import numpy as np

from clip_models import clip_model
from common import DAVIS, display_to_working, load_clip, require_clips, save_results
from model_contribution import linear_clip, to_display


def measure_upres(clip, truth, model, args) -> dict:
    """Upres of the frames cut to 1/factor: each alone, with neighbours (--temporal), bicubic; the whole frame."""
    import cv2

    from vsae.plugin.nodes import load_node
    from vsae.plugin.render_files import file_context

    node = load_node("upres")
    height, width = truth.shape[1:3]
    numbers = list(range(1, len(truth) + 1))
    lows = np.stack([cv2.resize(f, (width // args.factor, height // args.factor), interpolation=cv2.INTER_AREA)
                     for f in truth])
    outputs = {"bicubic": np.clip(np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_CUBIC)
                                            for f in lows]), 0, 1)}
    for radius in [0] + [int(r) for r in args.temporal.split(",")]:
        context = file_context(linear_clip(lows, numbers), lambda: model)
        params = node.resolve({"factor": args.factor, "temporal": radius})
        outputs[f"upres_t{radius}"] = np.stack([to_display(node.render(n, params, context)) for n in numbers])
    return score(outputs, truth, None)


def measure_clean_plate(clip, truth, model, args) -> dict:
    """Clean Plate of holes over the background (another clip's object boxes placed where this clip's object is
    not, bench/clean_plate_quality.py), so the real frame is the answer: the first guess alone (iterations 0) and
    the node's default; measured inside the holes."""
    from vsae.core.io.sequence import Frame
    from vsae.plugin.nodes import load_node
    from vsae.plugin.render_files import file_context

    from clean_plate_quality import clip_masks, foreign_holes
    from model_contribution import ArrayClip

    holes = foreign_holes(clip_masks(clip), clip_masks(DAVIS[(DAVIS.index(clip) + 1) % len(DAVIS)]))[:len(truth)]
    numbers = list(range(len(truth)))
    mattes = ArrayClip({n: Frame(rgb=np.repeat(h[:, :, None], 3, axis=2).astype(np.float32),
                                 alpha=h[:, :, None].astype(np.float32)) for n, h in zip(numbers, holes)})
    node = load_node("clean_plate")
    outputs = {}
    for name, values in (("first_guess", {"iterations": 0}), ("clean_plate", {})):
        context = file_context(linear_clip(truth, numbers), lambda: model, extra={"matte": mattes})
        params = node.resolve(values)
        outputs[name] = np.stack([to_display(node.render(n, params, context)) for n in numbers])
    return score(outputs, truth, holes)


def measure_extend(clip, truth, model, args) -> dict:
    """Extend of the frames' centre (1/8 of the size cut from each side) back to the full size, so the real frame
    is the answer in the new area: mirror padding alone (iterations 0) and the node's default; measured in the new
    area."""
    from vsae.plugin.nodes import load_node
    from vsae.plugin.render_files import file_context

    node = load_node("extend")
    height, width = truth.shape[1:3]
    dy, dx = height // 8, width // 8
    numbers = list(range(len(truth)))
    new_area = np.ones((height, width), bool)
    new_area[dy:height - dy, dx:width - dx] = False
    outputs = {}
    for name, values in (("mirror", {"iterations": 0}), ("extend", {"temporal": 0}), ("extend_t1", {"temporal": 1})):
        context = file_context(linear_clip(truth[:, dy:height - dy, dx:width - dx], numbers), lambda: model)
        params = node.resolve({"width": width, "height": height, **values})
        outputs[name] = np.stack([to_display(node.render(n, params, context)) for n in numbers])
    return score(outputs, truth, [new_area] * len(truth))


def measure_stretch(clip, truth, model, args) -> dict:
    """Stretch of the frames squeezed to half their width (area filter) back to full width, so the real frame is
    the answer: the resampled first guess alone (iterations 0) and the node's default; the whole frame."""
    import cv2

    from vsae.plugin.nodes import load_node
    from vsae.plugin.render_files import file_context

    node = load_node("stretch")
    height, width = truth.shape[1:3]
    numbers = list(range(len(truth)))
    squeezed = np.stack([cv2.resize(f, (width // 2, height), interpolation=cv2.INTER_AREA) for f in truth])
    outputs = {}
    for name, values in (("resampled", {"iterations": 0}), ("stretch", {})):
        context = file_context(linear_clip(squeezed, numbers), lambda: model)
        params = node.resolve({"scale_x": 2.0, **values})
        outputs[name] = np.stack([to_display(node.render(n, params, context)) for n in numbers])
    return score(outputs, truth, None)


def score(outputs: dict, truth: np.ndarray, regions) -> dict:
    """Each output's flicker (along the real frames' motion) and PSNR on the odd frames, in ``regions`` (per frame
    (H, W) bool, or None: everywhere), beside the real frames' own flicker there."""
    from vsae.core.metrics import psnr
    from vsae.core.ops.temporal import temporal_error

    odd = range(1, len(truth), 2)

    def inside(frames, t):
        return frames[t] if regions is None else frames[t][regions[t]]

    row: dict = {"real": {"flicker": round(temporal_error(truth, regions=regions), 5)}}
    for name, frames in outputs.items():
        row[name] = {"flicker": round(temporal_error(frames, truth, regions=regions), 5),
                     "psnr_odd": round(float(np.mean([psnr(inside(frames, t), inside(truth, t)) for t in odd])), 2)}
    return row


MEASURES = {"upres": measure_upres, "clean_plate": measure_clean_plate, "extend": measure_extend,
            "stretch": measure_stretch}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS[:6]))
    ap.add_argument("--nodes", default="upres", help=f"nodes measured, of {','.join(MEASURES)} (default upres)")
    ap.add_argument("--steps", type=int, default=600, help="the shot model's training steps (default 600)")
    ap.add_argument("--frames", type=int, default=24, help="consecutive frames rendered per clip (default 24)")
    ap.add_argument("--factor", type=int, default=4, help="Upres factor (default 4)")
    ap.add_argument("--temporal", default="1,2", help="Upres temporal radii tried beside 0 (default 1,2)")
    ap.add_argument("--name", help="this run's name in the record (default: default)")
    args = ap.parse_args()
    require_clips()
    nodes = args.nodes.split(",")
    rows = []
    for clip in args.clips.split(","):
        full = load_clip(clip)
        model = clip_model(clip, steps=args.steps, frames=display_to_working(full))
        row = {"clip": clip, "frames": min(args.frames, len(full))}
        for node in nodes:
            row[node] = MEASURES[node](clip, full[:args.frames], model, args)
        rows.append(row)
        print(row, flush=True)
    mean = {node: {name: {s: round(float(np.mean([r[node][name][s] for r in rows])), 5) for s in rows[0][node][name]}
                   for name in rows[0][node]} for node in nodes}
    print("mean", mean)
    print(save_results("flicker", {"steps": args.steps, "frames": args.frames, "factor": args.factor,
                                   "metric": "temporal_error (display, flow of the real frames)", "rows": rows,
                                   "mean": mean}, args.name))


if __name__ == "__main__":
    main()
