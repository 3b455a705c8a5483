"""Retime 2x quality (../shared/BENCHMARKS.md): train on even frames, make each odd frame t as the midpoint of t-1
and t+1, score PSNR/SSIM against the real odd frame; every method beside frame blend and DIS flow, same frames.

    python bench/retime_quality.py                       # eight DAVIS clips and bedroom
    python bench/retime_quality.py --clips davis-bear --limit 10

Models: the protocol's shot model of each clip (``clip_models.py``: even frames, 4000 steps = 5 idle minutes).
Every method but the baselines is the node's own operation (``vsae.core.ops.retime.retime_inbetween``), timed whole.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from common import DAVIS, add_scores, display_to_working, load_clip, mean_scores, require_clips, save_results


def main():
    from vsae.core.colour import srgb_to_linear
    from vsae.core.metrics import psnr, ssim, to_display
    from vsae.core.ops.retime import RetimeOptions, blend_frames, retime_inbetween

    from clip_models import DEFAULT_STEPS, clip_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS + ["bedroom"]))
    ap.add_argument("--iterations", type=int, default=2, help="reprojections for the latent+reproject method")
    ap.add_argument("--limit", type=int, default=None, help="score only the first N odd frames of each clip")
    args = ap.parse_args()
    require_clips()
    rows = []
    for clip in args.clips.split(","):
        display = load_clip(clip)
        linear = srgb_to_linear(display).astype(np.float32)
        model = clip_model(clip, frames=display_to_working(display))  # the protocol's model: even frames, 4000 steps
        methods = {"hybrid": RetimeOptions("hybrid"), "flow": RetimeOptions("flow"),
                   "flow_medium": RetimeOptions("flow", flow_detail="medium"), "latent": RetimeOptions("latent"),
                   f"latent+reproject{args.iterations}": RetimeOptions("latent", iterations=args.iterations)}
        scores: dict[str, list] = {}
        seconds: dict[str, list] = {}
        for t in list(range(1, len(display) - 1, 2))[:args.limit]:
            truth = display[t]
            outputs = {}
            for name, options in methods.items():  # the node's own operation, timed whole
                clock = time.perf_counter()
                rgb, _ = retime_inbetween(linear[t - 1], linear[t + 1], 0.5, options, lambda: model)
                seconds.setdefault(name, []).append(time.perf_counter() - clock)
                outputs[name] = to_display(rgb)
            # Baselines as the protocol (and FIGURES.md) compute them: on display values.
            outputs["blend"] = blend_frames(display[t - 1], display[t + 1], 0.5)
            outputs["dis_flow"] = dis_flow_baseline(display[t - 1], display[t + 1])
            for name, img in outputs.items():
                img = np.clip(img, 0, 1)
                scores.setdefault(name, []).append((psnr(img, truth), ssim(img, truth)))
        row = add_scores({"clip": clip, "model_steps": DEFAULT_STEPS, "frames": len(scores["blend"])}, scores)
        row["seconds_per_frame"] = {k: round(float(np.median(v)), 3) for k, v in seconds.items()
                                    if k in ("hybrid", "flow", "latent")}
        print(clip, "seconds per frame", row["seconds_per_frame"], flush=True)
        rows.append(row)
    mean = {m: v["psnr"] for m, v in mean_scores(rows).items()}
    wins = {m: sum(r[m]["psnr"] > r["blend"]["psnr"] for r in rows) for m in rows[0] if isinstance(rows[0][m], dict)
            and "psnr" in rows[0][m]}
    print("mean PSNR", mean)
    print("clips above blend", wins)
    print(save_results("retime_quality", {"model": f"clip_models.py, even frames, {DEFAULT_STEPS} steps",
                                          "rows": rows, "mean_psnr": mean, "mean": mean_scores(rows),
                                          "clips_above_blend": wins}))


def dis_flow_baseline(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The protocol's flow baseline on display frames (H, W, 3) in [0, 1]: OpenCV DIS (MEDIUM) both ways, each
    neighbour warped halfway along the other's flow sampled at the output pixel (a at x + F_ba(x) / 2, b at
    x + F_ab(x) / 2), averaged. Reproduces ../shared/FIGURES.md's DIS column within 0.05 dB."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    ga, gb = (np.round(np.clip(x.mean(axis=2), 0, 1) * 255).astype(np.uint8) for x in (a, b))
    f_ab, f_ba = dis.calc(ga, gb, None), dis.calc(gb, ga, None)
    h, w = ga.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))

    def half(img, flow):
        return cv2.remap(img, gx + 0.5 * flow[..., 0], gy + 0.5 * flow[..., 1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)

    return np.clip(0.5 * half(a, f_ba) + 0.5 * half(b, f_ab), 0, 1)


if __name__ == "__main__":
    main()
