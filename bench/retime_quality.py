"""Retime 2x quality (../shared/BENCHMARKS.md): train on even frames, make each odd frame t as the midpoint of t-1
and t+1, score PSNR/SSIM against the real odd frame; every method beside frame blend and DIS flow, same frames.

    python bench/retime_quality.py --clips davis-bear --budget 5m
"""

from __future__ import annotations

import argparse

import numpy as np

from common import (DAVIS, add_scores, display_to_working, load_clip, mean_scores, require_clips, save_results,
                    working_to_display)


def main():
    from vsae.core.colour import from_working
    from vsae.core.metrics import psnr, ssim, to_display
    from vsae.core.progress import Progress
    from vsae.core.retime import blend_frames, flow_inbetween, interpolate_latents
    from vsae.core.settings import TrainSettings, parse_duration
    from vsae.core.shot_model import ShotModel
    from vsae.core.trainer import train

    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS + ["bedroom"]))
    ap.add_argument("--budget", default="5m")
    ap.add_argument("--iterations", type=int, default=2, help="reprojections for the latent+reproject method")
    args = ap.parse_args()
    require_clips()
    rows = []
    for clip in args.clips.split(","):
        display = load_clip(clip)
        working = display_to_working(display)
        linear = from_working(working)
        settings = TrainSettings(budget_s=parse_duration(args.budget), checkpoint_every_s=1e9)
        progress = Progress(clip, interval=60)
        result = train(working[0::2].astype(np.float16), settings, progress=progress)
        progress.close()
        model = ShotModel(settings.model_config, result.state_dict, backend="torch")
        scores: dict[str, list] = {}
        for t in range(1, len(display) - 1, 2):
            truth = display[t]
            z, pads = model.encode(working[[t - 1, t + 1]].transpose(0, 3, 1, 2))
            mid = model.decode(interpolate_latents(z[0:1], z[1:2], 0.5), pads)
            outputs = {
                "latent": working_to_display(mid[0].transpose(1, 2, 0)),
                f"latent+reproject{args.iterations}": working_to_display(
                    model.reproject(mid, args.iterations)[0].transpose(1, 2, 0)),
                # Baselines as the protocol (and FIGURES.md) compute them: on display values.
                "blend": blend_frames(display[t - 1], display[t + 1], 0.5),
                "dis_flow": np.clip(flow_inbetween(display[t - 1], display[t + 1], 0.5), 0, 1),
                "node_flow_linear": to_display(flow_inbetween(linear[t - 1], linear[t + 1], 0.5)),
            }
            for name, img in outputs.items():
                scores.setdefault(name, []).append((psnr(img, truth), ssim(img, truth)))
        rows.append(add_scores({"clip": clip, "steps": result.steps, "budget_s": settings.budget_s}, scores))
    mean = {m: v["psnr"] for m, v in mean_scores(rows).items()}
    print("mean PSNR", mean)
    print(save_results("retime_quality", {"budget": args.budget, "rows": rows, "mean_psnr": mean}))


if __name__ == "__main__":
    main()
