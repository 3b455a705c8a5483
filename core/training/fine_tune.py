"""A shot model trained a few steps more on some of its frames: the paper sharpens a cluster's average image this
way (its decoded mean latent, after the model has seen only that cluster for a moment)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from vsae.errors import ParameterError


def fine_tune(model, frames: np.ndarray, steps: int, progress=None):
    """A copy of ``model`` (a ShotModel) trained ``steps`` more steps on ``frames`` alone, by its own training
    settings (from its metadata; the defaults where it has none) with the fine-tuning schedule. frames: (N, H, W, 3)
    float working range. The model itself is not changed; nothing is cached."""
    from vsae.core.model.shot_model import ShotModel
    from vsae.core.settings import TrainSettings
    from vsae.core.training.trainer import train

    if steps < 1:
        raise ParameterError(f"--fine-tune {steps}: expected 1 or more steps")
    if len(frames) == 0:
        raise ParameterError("fine-tune: no frames")
    base = TrainSettings.from_dict(model.meta.get("settings", {})) if model.meta.get("settings") else TrainSettings()
    settings = replace(base, steps=steps, budget_s=None, checkpoint_every_s=1e9, lr=None, warmup=None,
                       eval_frames=min(base.eval_frames, len(frames)))
    result = train(np.asarray(frames, np.float32), settings, init_state=model.state, progress=progress)
    return ShotModel(model.config, result.state_dict, meta={**model.meta, "fine_tuned_steps": steps},
                     backend="torch", precision=model.precision, device=model.device)
