"""What rendering in bf16 costs each node's pixels: every node as shipped, fp32 beside bf16, on the shared clips.

    python bench/bf16_cost.py                          # davis-surf, davis-tennis, davis-car-shadow; 12 frames
    python bench/bf16_cost.py --clips davis-bear --frames 8

The shot model is the protocol's (bench/clip_models.py: 512x256, trained on the even frames, --steps: the
600-step models the other node benchmarks use), run by torch
in fp32 and with bf16 autocast (``ShotModel(precision="bf16")``, what ``--render-precision bf16`` /
``$VSAE_RENDER_PRECISION`` selects). Each node renders through the file renderer's context (the shipped node
definitions) from the clip's first ``--frames`` frames:
- reconstruct (one reprojection) and upres 4x (area-downsampled input): the odd frames, which the model never saw;
- retime latent and hybrid: the even frames at half speed, the in-betweens scored against the odd frames between;
- clean_plate (a box over the frame's centre), extend (the centre 3/4 extended back to full width), stretch (1.5x
  wide), stitch (offsets 0,1): no real answer; scored against their own fp32 output only.

Per node: PSNR of the bf16 output against the fp32 output (display values; higher: bf16 changes less), and where the
real frame is known, PSNR of each against it and the difference (bf16 - fp32, dB).
"""

from __future__ import annotations

import argparse

import numpy as np

from clip_models import clip_model
from common import load_clip, require_clips, save_results
from model_contribution import linear_clip, to_display


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(1.0 / mse)


def renders(node_name: str, params: dict, clip, frames, model) -> np.ndarray:
    from vsae.plugin.nodes import load_node
    from vsae.plugin.render_files import file_context

    node = load_node(node_name)
    resolved = node.resolve(params)
    context = file_context(clip, lambda: model)
    return np.stack([to_display(node.render(f, resolved, context)) for f in frames])


def measure(display: np.ndarray, models: dict) -> dict:
    import cv2

    from vsae.core.io.sequence import Frame
    from vsae.core.model.inference import reconstruct

    n, height, width = display.shape[:3]
    numbers = list(range(1, n + 1))
    odd = [i for i in range(1, n - 1, 2)]  # 0-based indices of the held-out frames with a neighbour each side
    even = display[0::2]
    lows = np.stack([cv2.resize(f, (width // 4, height // 4), interpolation=cv2.INTER_AREA) for f in display])
    box = f"{width * 3 // 8},{height * 3 // 8},{width * 5 // 8},{height * 5 // 8}"
    cut = width // 8
    rows: dict = {}
    for precision, model in models.items():
        out = {}
        full = linear_clip(display, numbers)
        out["reconstruct"] = np.stack([np.clip(to_display(Frame(rgb=reconstruct(model, full.read(i + 1).rgb))), 0, 1)
                                       for i in odd])
        out["upres_4x"] = renders("upres", {"factor": 4}, linear_clip(lows, numbers), [i + 1 for i in odd], model)
        evens = linear_clip(even, list(range(1, len(even) + 1)))
        # At half speed output frame 2k is the in-between of source frames k and k + 1: the real odd frame 2k - 1.
        inbetweens = [2 * k for k in range(1, len(odd) + 1)]
        for method in ("latent", "hybrid"):
            out[f"retime_{method}"] = renders("retime", {"speed": 0.5, "method": method}, evens, inbetweens, model)
        out["clean_plate"] = renders("clean_plate", {"boxes": box}, full, numbers[:4], model)
        centre = linear_clip(np.ascontiguousarray(display[:, :, cut:width - cut]), numbers)
        out["extend"] = renders("extend", {"left": cut, "right": cut}, centre, numbers[:4], model)
        out["stretch"] = renders("stretch", {"scale_x": 1.5}, full, numbers[:4], model)
        out["stitch"] = renders("stitch", {"offsets": "0,1"}, full, numbers[:3], model)
        rows[precision] = out
    truth = {"reconstruct": display[odd], "upres_4x": display[odd], "retime_latent": display[odd],
             "retime_hybrid": display[odd]}
    result = {}
    for name, fp32 in rows["fp32"].items():
        bf16 = rows["bf16"][name]
        entry = {"bf16_vs_fp32_db": round(psnr(bf16, fp32), 2)}
        if name in truth:
            entry["fp32_db"] = round(psnr(fp32, truth[name]), 3)
            entry["bf16_db"] = round(psnr(bf16, truth[name]), 3)
            entry["cost_db"] = round(entry["bf16_db"] - entry["fp32_db"], 3)
        result[name] = entry
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default="davis-surf,davis-tennis,davis-car-shadow")
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--name", default="default")
    args = ap.parse_args()
    require_clips()
    from vsae.core.model.shot_model import ShotModel

    per_clip = {}
    for clip in args.clips.split(","):
        trained = clip_model(clip, steps=args.steps)
        models = {p: ShotModel(trained.config, trained.state, trained.meta, backend="torch", precision=p)
                  for p in ("fp32", "bf16")}
        per_clip[clip] = measure(load_clip(clip, limit=args.frames), models)
        for name, entry in per_clip[clip].items():
            extra = (f"  truth fp32 {entry['fp32_db']:.2f} bf16 {entry['bf16_db']:.2f} ({entry['cost_db']:+.3f} dB)"
                     if "cost_db" in entry else "")
            print(f"{clip:>16s} {name:>14s}  bf16 vs fp32 {entry['bf16_vs_fp32_db']:6.2f} dB{extra}", flush=True)
    names = list(next(iter(per_clip.values())))
    mean = {name: {key: round(float(np.mean([per_clip[c][name][key] for c in per_clip])), 3)
                   for key in per_clip[next(iter(per_clip))][name]} for name in names}
    for name, entry in mean.items():
        print(f"{'mean':>16s} {name:>14s}  " + ", ".join(f"{k} {v}" for k, v in entry.items()))
    print(save_results("bf16_cost", {"clips": per_clip, "mean": mean, "frames": args.frames, "steps": args.steps},
                       run=args.name))


if __name__ == "__main__":
    main()
