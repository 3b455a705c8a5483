"""Explore: averages of latents against per-pixel means on the DAVIS clips, and shot-cut detection on bikes-multishot.

    python bench/explore_quality.py [--clips davis-bear,...] [--k 4] [--iterations 3]

Per DAVIS clip (its protocol model from clip_models.py; latents of every frame at 512x256): k-means on the map
(k fixed, default 4, so clips compare), and per cluster
- sharpness (variance of the Laplacian of the display image) of the latent average (decoded mean latent, reprojected
  ``--iterations`` times) beside the per-pixel mean of the same frames and beside the real frames themselves;
- the same two through the model: its decoded frames' sharpness (the ceiling an average through a 5-minute model
  can reach) and the per-pixel mean of those decoded frames;
- PSNR of each average against its nearest real frame (the most similar frame of the clip): an average that is a
  plausible frame scores high; a blur of many frames scores low;
- with ``--fine-tune STEPS``, the same for the average through a copy of the model first trained that many steps on
  the cluster's frames alone (the shipped ``vsae.core.training.fine_tune``, what ``vsae average --fine-tune`` does).
bikes-multishot (250 frames, 6 shots; truth in shots.txt): a model trained on all its frames (the clip's own
exploration, not a held-out test), cuts from jumps between consecutive codes, precision and recall (a cut within one
frame of the truth counts), beside the same rule on raw pixels (jumps of the downsized frames).
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from clip_models import clip_model
from common import CLIPS, DAVIS, display_to_working, load_clip, require_clips, save_results, working_to_display


def cluster_figures(clip: str, k: int, iterations: int, model=None, frames: np.ndarray | None = None,
                    fine_tune_steps: int = 0, steps: int = 4000) -> dict:
    """Per cluster of the shot's latent map: sharpness of the latent average and of the per-pixel mean, PSNR to
    the nearest real frame. model: the protocol's by default; frames: (N, H, W, 3) working range if loaded."""
    from vsae.core import explore
    from vsae.core.metrics import psnr
    from vsae.core.model.padding import stride_pads

    if frames is None:
        frames = display_to_working(load_clip(clip))
    if model is None:
        model = clip_model(clip, steps=steps, frames=frames)
    latents = model.encode_batches(f.transpose(2, 0, 1) for f in frames)
    shot = explore.latent_map(latents, range(len(frames)), explore.CLUSTER_COMPONENTS)
    labels, _ = explore.kmeans(shot.coords, k)
    pads = stride_pads(frames.shape[1], frames.shape[2])[0]
    display = np.stack([working_to_display(f) for f in frames])
    # The model's own pictures of the frames: the sharpest an average through this model can be.
    recon = np.stack([working_to_display(r.transpose(1, 2, 0))
                      for r in model.decode(latents, pads)])
    rows = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        latent_avg = working_to_display(explore.latent_average(model, latents[members], pads, iterations)
                                        .transpose(1, 2, 0))
        pixel_avg = display[members].mean(axis=0)
        nearest = max(range(len(display)), key=lambda i: psnr(latent_avg, display[i]))
        tuned = {}
        if fine_tune_steps:
            from vsae.core.training.fine_tune import fine_tune

            copy = fine_tune(model, frames[members], fine_tune_steps)
            tuned_avg = working_to_display(explore.latent_average(
                copy, copy.encode_batches(frames[i].transpose(2, 0, 1) for i in members), pads, iterations)
                .transpose(1, 2, 0))
            tuned = {"sharp_finetuned": explore.sharpness(tuned_avg),
                     "psnr_finetuned_nearest": max(psnr(tuned_avg, d) for d in display)}
        rows.append({
            **tuned, "cluster": c, "frames": len(members),
            "sharp_latent": explore.sharpness(latent_avg), "sharp_pixel": explore.sharpness(pixel_avg),
            "sharp_real": float(np.mean([explore.sharpness(display[i]) for i in members])),
            "sharp_recon": float(np.mean([explore.sharpness(recon[i]) for i in members])),
            "sharp_recon_pixel": explore.sharpness(recon[members].mean(axis=0)),
            "psnr_latent_nearest": psnr(latent_avg, display[nearest]),
            "psnr_pixel_nearest": max(psnr(pixel_avg, d) for d in display),
        })
    mean = {key: float(np.mean([r[key] for r in rows])) for key in rows[0] if key not in ("cluster", "frames")}
    return {"clip": clip, "k": k, **{key: round(v, 5 if key.startswith("sharp") else 2) for key, v in mean.items()},
            "clusters": rows}


def screenshot(clip: str, k: int, path: str) -> str:
    """The panel on a clip's protocol model, its largest cluster selected: a picture for people to judge."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qtpy import QtWidgets

    from vsae.core import colour
    from vsae.core.explore import ShotExplorer
    from vsae.plugin.qt.explore_panel import ExplorePanel

    frames = display_to_working(load_clip(clip))
    model = clip_model(clip, frames=frames)
    latents = model.encode_batches(f.transpose(2, 0, 1) for f in frames)
    explorer = ShotExplorer.from_arrays(model, latents, range(len(frames)), clip, plates=colour.from_working(frames))
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    panel = ExplorePanel(explorer)
    panel.resize(1100, 760)
    panel.show()
    labels = panel.cluster(k)
    largest = int(np.bincount(labels).argmax())
    panel.map.select_frames(np.flatnonzero(labels == largest))
    panel.show_frame(int(np.flatnonzero(labels == largest)[0]))
    panel.wait_idle()
    app.processEvents()
    panel.grab().save(path, quality=85)
    return path


def cut_figures(steps: int) -> dict:
    from vsae.core import explore

    clip = "bikes-multishot"
    with open(os.path.join(CLIPS, clip, "shots.txt")) as fh:
        truth = [int(line.split("-")[0]) for line in fh if line[:1].isdigit()][1:]
    frames = display_to_working(load_clip(clip))
    model = clip_model(clip, split="all", steps=steps, frames=frames)
    latents = model.encode_batches(f.transpose(2, 0, 1) for f in frames)
    found = explore.shot_cuts(latents)
    small = np.stack([f[::8, ::8] for f in load_clip(clip)])[:, None]  # the rule on raw pixels, 64x32
    pixel_found = explore.shot_cuts(small)
    return {"clip": clip, "latent": explore.cut_scores(found, truth), "pixels": explore.cut_scores(pixel_found, truth)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(c for c in DAVIS))
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--steps", type=int, default=4000, help="the protocol model's training steps (default 4000)")
    ap.add_argument("--fine-tune", type=int, default=0, help="also the average after this many fine-tuning steps "
                                                             "on the cluster (default 0: not)")
    ap.add_argument("--name", help="this run's name in the record (default: default)")
    ap.add_argument("--cut-steps", type=int, default=4000, help="training steps of the bikes-multishot model")
    ap.add_argument("--skip-cuts", action="store_true")
    ap.add_argument("--screenshot", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                         "explore_panel_bear.jpg"),
                    help="the panel on davis-bear, its largest cluster selected ('' for none)")
    args = ap.parse_args()
    require_clips()
    rows = []
    for clip in args.clips.split(","):
        if not clip:
            continue
        r = cluster_figures(clip, args.k, args.iterations, fine_tune_steps=args.fine_tune, steps=args.steps)
        rows.append(r)
        print(f"{clip:18s} sharpness: latent avg {r['sharp_latent']:.5f}, pixel mean {r['sharp_pixel']:.5f} "
              f"(real frames {r['sharp_real']:.5f}); through the model: its frames {r['sharp_recon']:.5f}, their "
              f"pixel mean {r['sharp_recon_pixel']:.5f}.  PSNR to nearest frame: latent avg "
              f"{r['psnr_latent_nearest']:.2f} dB, pixel mean {r['psnr_pixel_nearest']:.2f} dB"
              + (f"; fine-tuned {args.fine_tune} steps: sharpness {r['sharp_finetuned']:.5f}, PSNR "
                 f"{r['psnr_finetuned_nearest']:.2f} dB" if args.fine_tune else ""), flush=True)
    payload = {"k": args.k, "iterations": args.iterations, "steps": args.steps, "fine_tune": args.fine_tune,
               "clips": rows}
    if rows:
        keys = ["sharp_latent", "sharp_pixel", "sharp_real", "sharp_recon", "sharp_recon_pixel", "psnr_latent_nearest",
                "psnr_pixel_nearest"] + (["sharp_finetuned", "psnr_finetuned_nearest"] if args.fine_tune else [])
        payload["mean"] = {key: round(float(np.mean([r[key] for r in rows])), 5) for key in keys}
        print("mean", payload["mean"])
    if not args.skip_cuts:
        cuts = cut_figures(args.cut_steps)
        payload["cuts"] = cuts
        for kind in ("latent", "pixels"):
            s = cuts[kind]
            print(f"cuts ({kind}): precision {s['precision']:.2f} recall {s['recall']:.2f}  found {s['found']}  "
                  f"truth {s['truth']}", flush=True)
    if args.screenshot:
        print(screenshot("davis-bear", args.k, args.screenshot))
    print(save_results("explore_quality", payload, args.name))


if __name__ == "__main__":
    main()
