"""Shot models of the shared clips, trained once and reused by every benchmark (retime, upres, clean plate, masks).

The protocol's model: 512x256 frames, trained on the even frames only (odd frames stay held out), default
TrainSettings with a fixed step count in place of the wall-clock budget, so that a busy machine gives the same
model as an idle one (4000 steps is what 5 minutes buy on this idle 2-core CPU: 4144 steps in 300 s on davis-bear).
Weights go to bench/models/ (ignored by git) as safetensors, keyed by clip, split and settings.

    python bench/clip_models.py                      # train every clip that has no model yet
    python bench/clip_models.py --clips davis-bear --steps 1000
    python bench/clip_models.py --report             # reconstruction PSNR of each model: trained and held-out frames
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os

import numpy as np

from common import DAVIS, HERE, display_to_working, load_clip, require_clips

MODELS = os.path.join(HERE, "models")
DEFAULT_STEPS = 4000


def model_path(clip: str, split: str = "even", steps: int = DEFAULT_STEPS, overrides: dict | None = None) -> str:
    from vsae.core.settings import TrainSettings

    settings = TrainSettings(budget_s=None, steps=steps, **(overrides or {}))
    digest = hashlib.sha1(json.dumps(settings.key_dict(), sort_keys=True).encode()).hexdigest()[:10]
    return os.path.join(MODELS, f"{clip}-{split}-{steps}-{digest}.safetensors")


def clip_model(clip: str, split: str = "even", steps: int = DEFAULT_STEPS, overrides: dict | None = None,
               frames: np.ndarray | None = None):
    """The ShotModel of ``clip`` (torch backend), trained now if bench/models/ has none.

    split: "even" (the held-out protocol) or "all". frames: the clip's working-range frames if already loaded.
    """
    from vsae.core.progress import Progress
    from vsae.core.settings import TrainSettings
    from vsae.core.model.shot_model import ShotModel
    from vsae.core.training.trainer import train

    path = model_path(clip, split, steps, overrides)
    if os.path.exists(path):
        return ShotModel.load(path, backend="torch")
    if frames is None:
        frames = display_to_working(load_clip(clip))
    settings = TrainSettings(budget_s=None, steps=steps, checkpoint_every_s=1e9, **(overrides or {}))
    progress = Progress(f"train {clip}", interval=60)
    result = train((frames[0::2] if split == "even" else frames).astype(np.float16), settings, progress=progress)
    progress.close()
    model = ShotModel(settings.model_config, result.state_dict,
                      meta={"clip": clip, "split": split, **result.metrics}, backend="torch")
    os.makedirs(MODELS, exist_ok=True)
    model.save(path)
    return model


def reconstruction_report(clip: str, model, split: str) -> dict:
    """Reconstruction PSNR (display values) of ``model`` on the clip's trained frames, and on the odd frames it never
    saw when split is "even"."""
    from vsae.core.metrics import psnr

    from common import working_to_display

    display = load_clip(clip)
    working = display_to_working(display)

    def mean_psnr(indices):
        scores = []
        for i in indices:
            out = model.reproject(working[i:i + 1].transpose(0, 3, 1, 2))[0].transpose(1, 2, 0)
            scores.append(psnr(np.clip(working_to_display(out), 0, 1), display[i]))
        return round(float(np.mean(scores)), 2)

    row = {"clip": clip, "split": split, "trained_db": mean_psnr(range(0, len(display), 2 if split == "even" else 1))}
    if split == "even":
        row["held_out_db"] = mean_psnr(range(1, len(display), 2))
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS + ["bedroom"]))
    ap.add_argument("--split", default="even", choices=("even", "all"))
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--report", action="store_true", help="score each model's reconstructions (trains missing ones)")
    args = ap.parse_args()
    require_clips()
    rows = []
    for clip in args.clips.split(","):
        model = clip_model(clip, args.split, args.steps)
        print(clip, model_path(clip, args.split, args.steps), model.meta, flush=True)
        if args.report:
            rows.append(reconstruction_report(clip, model, args.split))
            print(rows[-1], flush=True)
    if rows:
        from common import save_results

        means = {k: round(float(np.mean([r[k] for r in rows])), 2) for k in rows[0] if k.endswith("_db")}
        print("mean", means)
        print(save_results("clip_models", {"rows": rows, "mean": means}, run=f"{args.split}_{args.steps}"))


if __name__ == "__main__":
    main()
