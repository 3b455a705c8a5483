"""Training quality on the shared clips: reconstruction PSNR on trained and held-out frames after a budget.

    python bench/train_quality.py --clips davis-bear --budgets 1m,2m,5m            # train on even, test on odd
    python bench/train_quality.py --clips davis-bear --budgets 5m --set k=48 --set lr=5e-3
    python bench/train_quality.py --clips davis-bear --budgets 1m --init-from-clip davis-blackswan
    python bench/train_quality.py --clips davis-bear --budgets 1m --train-frames 4     # a 4-frame shot

Each budget is its own training run (the learning-rate schedule spans the budget). PSNR on sRGB display values at
512x256 (the paper protocol), eval-mode model, one reprojection.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from common import DAVIS, display_to_working, load_clip, require_clips, save_results, working_to_display


def reconstruct_psnr(model, working: np.ndarray, display: np.ndarray) -> float:
    from vsae.core.metrics import psnr

    scores = []
    for i in range(0, len(working), 4):
        x = working[i:i + 4].transpose(0, 3, 1, 2)
        y = model.reproject(np.ascontiguousarray(x)).transpose(0, 2, 3, 1)
        scores += [psnr(working_to_display(y[j]), display[i + j]) for j in range(len(y))]
    return float(np.mean(scores))


def run(clip: str, budget_s: float, overrides: dict, split: str, init_state=None, log=True,
        train_frames: int | None = None) -> dict:
    from vsae.core.progress import Progress
    from vsae.core.model.shot_model import ShotModel
    from vsae.core.settings import TrainSettings
    from vsae.core.training.trainer import train

    display = load_clip(clip)
    working = display_to_working(display)
    train_idx = np.arange(0, len(display), 2) if split == "even" else np.arange(len(display))
    test_idx = np.arange(1, len(display), 2) if split == "even" else np.array([], int)
    if train_frames:  # a short shot: its first frames (held-out frames stay the whole clip's)
        train_idx = train_idx[:train_frames]
    settings = TrainSettings(**{**dict(budget_s=budget_s, checkpoint_every_s=1e9), **overrides})
    t = time.time()
    progress = Progress(f"{clip}", interval=30) if log else None
    result = train(working[train_idx].astype(np.float16), settings, init_state=init_state, progress=progress)
    if progress:
        progress.close()
    model = ShotModel(settings.model_config, result.state_dict, backend="torch")
    row = {"clip": clip, "budget_s": budget_s, "split": split, "train_frames": len(train_idx),
           "settings": settings.key_dict(),
           "steps": result.steps,
           "trained_psnr": reconstruct_psnr(model, working[train_idx], display[train_idx]),
           "heldout_psnr": reconstruct_psnr(model, working[test_idx], display[test_idx]) if len(test_idx) else None,
           "wall_s": round(time.time() - t, 1)}
    return row, result.state_dict


def parse_value(v: str):
    if "," in v:
        return tuple(parse_value(x) for x in v.split(","))
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return None if v == "None" else v


def main():
    from vsae.core.settings import parse_duration

    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS))
    ap.add_argument("--budgets", default="1m,2m,5m")
    ap.add_argument("--split", default="even", choices=("even", "all"))
    ap.add_argument("--set", action="append", default=[], help="a TrainSettings field, e.g. k=48")
    ap.add_argument("--init-from-clip", help="train a model on this clip first (5m), warm-start from it")
    ap.add_argument("--train-frames", type=int, help="train on only the first N frames of the split (a short shot)")
    ap.add_argument("--name", default="default", help="the run's name in bench/results/train_quality.json")
    args = ap.parse_args()
    require_clips()
    overrides = {k: parse_value(v) for k, v in (s.split("=", 1) for s in args.set)}
    init_state = None
    rows = []
    if args.init_from_clip:
        donor, init_state = run(args.init_from_clip, 300, overrides, "all")
        donor["role"] = "warm-start donor"
        rows.append(donor)
    for clip in args.clips.split(","):
        for b in args.budgets.split(","):
            row, _ = run(clip, parse_duration(b), overrides, args.split, init_state, train_frames=args.train_frames)
            rows.append(row)
            heldout = "-" if row["heldout_psnr"] is None else f"{row['heldout_psnr']:.2f}"
            print(f"{clip:18s} budget {b:>4s}  steps {row['steps']:5d}  trained {row['trained_psnr']:.2f} dB  "
                  f"held-out {heldout} dB", flush=True)
    print(save_results("train_quality", {"overrides": overrides, "rows": rows}, run=args.name))


if __name__ == "__main__":
    main()
