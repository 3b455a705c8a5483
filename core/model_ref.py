"""Which shot model renders: one answer for the command line, the render server and the benchmarks.

A ``ModelRef`` names a model either by its cache key, or by the plates it is trained on and the training settings
(the cache key follows from the frames' content and the settings); ``resolve`` finds it in the cache, trains it
there when allowed, and loads it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from vsae.errors import ParameterError
from vsae.core.settings import TrainSettings


@dataclass(frozen=True)
class ModelRef:
    """key: a cache key or a prefix of at least 6 characters; or shot: the plates (a sequence pattern, folder or
    movie) with ``frames`` (a range such as 1001-1100; default all) read as ``colorspace``, trained with
    ``settings`` and started from ``init_from`` (a shipped prior's name, a prior or model file, another shot's
    cache key, or None/"none": random weights) when the cache has no model."""

    key: str | None = None
    shot: str | None = None
    frames: str | None = None
    colorspace: str = "auto"
    settings: TrainSettings = field(default_factory=TrainSettings)
    init_from: str | None = None

    def __post_init__(self):
        if not self.key and not self.shot:
            raise ParameterError("model: give a cache key or the plates the shot model is trained on")


def initial_weights(cache, ref: str | None, settings: TrainSettings) -> dict | None:
    """Weights to start training from (see ``ModelRef.init_from``). Weights that do not fit ``settings``' model are
    refused here, before the cache or any training is touched."""
    from vsae.core.training.prior import SHIPPED, check_fits, load_prior
    from vsae.core.model.shot_model import ShotModel

    if ref is None or ref == "none":
        return None
    if ref in SHIPPED or os.path.isfile(ref):
        state = load_prior(ref).state
    else:
        state = ShotModel.load(cache.resolve(ref).weights_path).state
    check_fits(state, settings.model_config, f"--init-from {ref}")
    return state


def resolve_entry(ref: ModelRef, cache, train: bool = True, progress=None):
    """The cache entry (``vsae.core.cache.CacheEntry``) of ``ref`` in ``cache`` (a ``ModelCache``): by key, or by
    plates and settings, trained first when missing and ``train`` is set (ModelNotFound when not)."""
    from vsae.core.io.sequence import open_shot

    if ref.key:
        return cache.resolve(ref.key)
    seq = open_shot(str(ref.shot), ref.frames, ref.colorspace)  # a ref without a key has a shot (checked)
    init_state = initial_weights(cache, ref.init_from, ref.settings)
    return cache.get_or_train(seq, ref.settings, train=train, init_state=init_state, progress=progress)


def resolve(ref: ModelRef, cache=None, train: bool = True, backend: str = "auto", precision: str = "fp32",
            progress=None, device: str = "auto"):
    """The ``ShotModel`` of ``ref``, loaded for ``backend`` (auto, torch, onnx) at ``precision`` (fp32, bf16) on
    ``device`` (auto, cpu, cuda, cuda:N).

    cache: a ``ModelCache``, or None for the user's ($VSAE_CACHE or the platform's cache folder)."""
    from vsae.core.cache import ModelCache

    entry = resolve_entry(ref, cache if cache is not None else ModelCache(None), train=train, progress=progress)
    return entry.load_model(backend=backend, precision=precision, device=device)
