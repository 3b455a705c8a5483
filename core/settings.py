"""Settings of a shot model: its shape (ModelConfig) and how it is trained (TrainSettings). Pure data, no torch,
so the CLI and host adapters can build and check them in milliseconds."""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from vsae.errors import ParameterError

STRIDE = 64
ARCHS = ("fast", "paper")
LOSSES = ("l1", "mse", "l1+mse")
DEGRADATIONS = ("upres", "holes", "retime")  # what the nodes hand the model (core/training/degradations.py)
# From random weights: a high peak helps (bench/train_quality.py, davis-bear 5 min: 1e-2 23.94 dB, 3e-3 23.50).
SCRATCH_LR, SCRATCH_WARMUP = 1e-2, 0.05
# From a prior: the same peak with almost no warm-up. Chosen on davis-bear / blackswan at 1 minute from the shipped
# prior (held-out dB): peak 1e-2 21.85 / 22.26, 3e-3 21.40 / 21.94, 1e-3 20.86 / 21.18 (bench/README.md, session 7).
FINETUNE_LR, FINETUNE_WARMUP = 1e-2, 0.01


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a shot model. ``k``: first-layer filters; the latent has ``12 * k`` channels."""

    arch: str = "fast"
    k: int = 32
    widths: tuple | None = None  # fast arch: encoder channels at h/4 .. h/64 (five values); None: from k
    decoder_widths: tuple | None = None  # fast arch: decoder channels at h/4 .. h/64; None: same as the encoder
    half_width: int = 0  # fast arch: channels of a stem stage and an output stage at h/2 (0: none, 4x shuffles)
    # fast arch: reprojection also carries the encoder's features at h/skip_scale (4, 8, 16 or 32) to the decoder's
    # last stage; encode/decode (the latent every node shares) never use it. 0: none.
    skip_scale: int = 0

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ParameterError(f"arch {self.arch!r}: expected one of {', '.join(ARCHS)}")
        if not 4 <= self.k <= 256:
            raise ParameterError(f"k {self.k}: expected 4..256")
        for name in ("widths", "decoder_widths"):
            value = getattr(self, name)
            if value is not None:
                widths = tuple(int(w) for w in value)
                if self.arch != "fast" or len(widths) != 5 or min(widths) < 1:
                    raise ParameterError(f"{name} {value}: five positive channel counts, fast arch only")
                object.__setattr__(self, name, widths)
        if self.half_width and (self.arch != "fast" or not 1 <= self.half_width <= 256):
            raise ParameterError(f"half_width {self.half_width}: 1..256 channels, fast arch only (0: no h/2 stages)")
        if self.skip_scale and (self.arch != "fast" or self.skip_scale not in (4, 8, 16, 32)):
            raise ParameterError(f"skip_scale {self.skip_scale}: 4, 8, 16 or 32, fast arch only (0: no skip)")

    @property
    def stage_widths(self) -> tuple:
        """Encoder channels of the fast arch at h/4, h/8, h/16, h/32, h/64: wide where the grid is small."""
        return self.widths or (2 * self.k, 3 * self.k, 4 * self.k, 6 * self.k, 8 * self.k)

    @property
    def decoder_stage_widths(self) -> tuple:
        """Decoder channels at h/4 .. h/64. The decoder holds what the model memorises of the shot, and its
        low-resolution stages are cheap, so it may be wider there than the encoder."""
        return self.decoder_widths or self.stage_widths

    @property
    def latent_channels(self) -> int:
        return 12 * self.k

    def to_dict(self) -> dict:
        return asdict(self)


def parse_duration(text: str | float | int | None) -> float | None:
    """``"5m"``, ``"90s"``, ``"1h30m"``, ``"30d"``, ``"300"`` -> seconds; None stays None."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        num = r"(\d+(?:\.\d+)?)"
        parts = re.fullmatch(rf"\s*(?:{num}d)?\s*(?:{num}h)?\s*(?:{num}m)?\s*(?:{num}s?)?\s*", text)
        if not parts or not any(parts.groups()):
            raise ParameterError(f"duration {text!r}: expected a duration such as 90s, 5m, 1h or 30d")
        d, h, m, s = (float(g) if g else 0.0 for g in parts.groups())
        seconds = d * 86400 + h * 3600 + m * 60 + s
    if seconds <= 0:
        raise ParameterError(f"duration {text!r}: must be more than zero")
    return seconds


@dataclass
class TrainSettings:
    """How a shot model is trained. Fields marked ``key`` change the model and so its cache key."""

    arch: str = "fast"
    k: int = 32
    widths: tuple | None = None
    decoder_widths: tuple | None = None
    half_width: int = 0
    skip_scale: int = 0
    budget_s: float | None = 300.0
    steps: int | None = None
    # Defaults from bench/train_quality.py on davis-bear (512x256, 5 min; the closing notes list every variant):
    # full frames beat 256 crops (23.50 vs 23.20 dB), batch 2 beats 4 and 1 (23.74 vs 23.50 / 22.46), and a higher
    # peak learning rate helps (1e-2: 23.94). Crops of 512 only bite on plates larger than that, where full frames
    # would make each step slow.
    batch: int = 2
    crop: int | None = 512  # side of the random crops (a multiple of 64); None trains on full frames only
    full_frame_every: int = 4  # every n-th step takes full frames, so the model sees the frame edges
    lr: float | None = None  # peak learning rate; None: SCRATCH_LR from random weights, FINETUNE_LR from a prior
    warmup: float | None = None  # fraction of the run ramping the rate up; None: as the start weights want
    loss: str = "l1"
    # Pixels away from the shot's mean frame (what moves) weigh up to this much more in the loss. On the procedural
    # shot (60 s) 4.0 lifts reconstruction from 25.7 to 29.0 dB and the moving objects appear at all; held to the
    # end it costs real footage 0.3-0.6 dB on frames the model never saw (everything moves in a hand-held shot) ...
    motion_weight: float = 4.0
    # ... and fades linearly to nothing at this fraction of the run (None: held to the end). davis-bear / blackswan,
    # 5 minutes, held-out dB: held 23.60 / 22.64, none at all 24.17 / 22.95, fading by half-way 24.29 / 23.12 (the
    # moving object too: 25.55 inside blackswan's DAVIS masks, 25.34 held); the other six clips at 1 minute +0.57.
    motion_fade: float | None = 0.5
    # Robust training (core/training/degradations.py): this fraction of the inputs is degraded as the nodes degrade
    # what they hand the model, of these kinds; the loss still compares with the clean frame. 0: clean inputs only.
    degrade: float = 0.0
    degrade_kinds: tuple = ("upres", "holes", "retime")
    train_scale: float = 1.0  # train on frames resized by this factor (0 < s <= 1)
    seed: int = 0
    precision: str = "auto"  # auto | bf16 | fp32
    # Not part of the key: they change how the run is watched or spread, not the model (a data-parallel run trains
    # the same global batches: bench/README.md, scale-out).
    checkpoint_every_s: float = 30.0
    eval_frames: int = 8
    nproc: int = 1  # data-parallel processes on this machine (torch.distributed; see core/training/data_parallel.py)

    _NOT_KEY = ("checkpoint_every_s", "eval_frames", "nproc")

    def __post_init__(self):
        self.model_config  # validates arch, k and widths
        self.widths, self.decoder_widths = self.model_config.widths, self.model_config.decoder_widths  # as tuples
        if self.budget_s is None and self.steps is None:
            raise ParameterError("training needs --budget or --steps")
        if self.steps is not None and self.steps < 1:
            raise ParameterError(f"--steps {self.steps}: must be at least 1")
        if self.budget_s is not None and not (math.isfinite(self.budget_s) and self.budget_s > 0):
            raise ParameterError(f"--budget {self.budget_s}: must be a finite duration above zero")
        if self.batch < 1:
            raise ParameterError(f"--batch {self.batch}: must be at least 1")
        if self.crop is not None and (self.crop < STRIDE or self.crop % STRIDE):
            raise ParameterError(f"--crop {self.crop}: must be a multiple of {STRIDE}")
        if self.loss not in LOSSES:
            raise ParameterError(f"--loss {self.loss!r}: expected one of {', '.join(LOSSES)}")
        if not (math.isfinite(self.degrade) and 0 <= self.degrade <= 1):
            raise ParameterError(f"--degrade {self.degrade}: a fraction of the inputs, 0 to 1")
        if isinstance(self.degrade_kinds, str):  # "upres,holes", as a command line or a bench gives it
            self.degrade_kinds = tuple(k for k in self.degrade_kinds.split(",") if k)
        self.degrade_kinds = tuple(self.degrade_kinds)
        if not self.degrade_kinds or not set(self.degrade_kinds) <= set(DEGRADATIONS):
            raise ParameterError(f"--degrade-kinds {','.join(self.degrade_kinds)}: one or more of "
                                 f"{', '.join(DEGRADATIONS)}")
        if not 0 < self.train_scale <= 1:
            raise ParameterError(f"--train-scale {self.train_scale}: expected 0 < scale <= 1")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ParameterError(f"--precision {self.precision!r}: expected auto, bf16 or fp32")
        if not (math.isfinite(self.motion_weight) and self.motion_weight >= 0):
            raise ParameterError(f"--motion-weight {self.motion_weight}: must be a finite number, 0 or more")
        if self.motion_fade is not None and not (math.isfinite(self.motion_fade) and self.motion_fade > 0):
            raise ParameterError(f"--motion-fade {self.motion_fade}: a fraction of the run above zero, or none")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise ParameterError(f"--lr {self.lr}: must be a finite number above zero")
        if self.warmup is not None and not (math.isfinite(self.warmup) and 0 <= self.warmup < 1):
            raise ParameterError(f"--warmup {self.warmup}: a fraction of the run, 0 or more and below 1")
        if self.nproc < 1:
            raise ParameterError(f"--nproc {self.nproc}: at least 1")
        if self.batch % self.nproc:
            raise ParameterError(f"--batch {self.batch}: must be a multiple of --nproc {self.nproc} (the global "
                                 f"batch is split between the processes)")
        if not 0 <= self.seed < 2 ** 32:
            raise ParameterError(f"--seed {self.seed}: expected 0 .. {2 ** 32 - 1}")

    @property
    def model_config(self) -> ModelConfig:
        return ModelConfig(self.arch, self.k, self.widths, self.decoder_widths, self.half_width,
                           self.skip_scale)

    def schedule(self, warm_start: bool) -> tuple[float, float]:
        """(peak learning rate, warm-up fraction) of a run from random weights or, with ``warm_start``, from a prior
        or another model: what the settings give, else the defaults for that start."""
        lr, warmup = (FINETUNE_LR, FINETUNE_WARMUP) if warm_start else (SCRATCH_LR, SCRATCH_WARMUP)
        return (self.lr if self.lr is not None else lr), (self.warmup if self.warmup is not None else warmup)

    def key_dict(self) -> dict:
        """The settings that define the trained model, for the cache key."""
        key = {k: v for k, v in asdict(self).items() if k not in self._NOT_KEY}
        for name in ("widths", "decoder_widths"):  # lists, as JSON gives them back: a checkpoint compares equal
            key[name] = list(key[name]) if key[name] else None
        key["degrade_kinds"] = list(key["degrade_kinds"]) if self.degrade else None  # no degradation: kinds moot
        for name in ("half_width", "skip_scale"):  # added after models were cached: the default keeps their keys
            if not key[name]:
                del key[name]
        return key

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainSettings:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


# --- training options, declared once: the command line, farm jobs and the OFX bridge read them from this table ---

def _int_tuple(text: str) -> tuple:
    return tuple(int(v) for v in text.split(","))


def _fraction_or_none(text: str) -> float | None:
    return None if text.strip().lower() == "none" else float(text)


def _crop(text: str) -> int | None:
    return int(text) or None  # 0: full frames only


@dataclass(frozen=True)
class TrainingOption:
    """One training option: the TrainSettings ``field`` it sets, its command-line ``flag``, how its text is read
    (``read``: text -> value, raising ValueError on bad text), what that text looks like, and its help."""

    field: str
    flag: str
    help: str
    read: Callable[[str], Any] = str
    expects: str = "a value"
    choices: tuple | None = None


_D = TrainSettings()
TRAINING_OPTIONS = (
    TrainingOption("budget_s", "--budget", "wall-clock training budget: 90s, 5m, 1h (default 5m)", parse_duration,
                   "a duration"),
    TrainingOption("steps", "--steps", "train this many steps instead of a time budget (deterministic)", int,
                   "a whole number"),
    TrainingOption("arch", "--arch", f"network layers (default {_D.arch})", choices=ARCHS),
    TrainingOption("k", "--k", f"first-layer filters; latent has 12k channels (default {_D.k})", int,
                   "a whole number"),
    TrainingOption("widths", "--widths", "fast arch: channels at h/4,h/8,h/16,h/32,h/64 (default: from k)", _int_tuple,
                   "comma-separated integers"),
    TrainingOption("decoder_widths", "--decoder-widths", "fast arch: decoder channels at h/4..h/64 (default: as the "
                   "encoder)", _int_tuple, "comma-separated integers"),
    TrainingOption("half_width", "--half-width", "fast arch: channels of extra stages at h/2 in stem and output "
                   "(default 0: none)", int, "a whole number"),
    TrainingOption("skip_scale", "--skip-scale", "fast arch: reprojection also carries the encoder's features at h/N "
                   "(4, 8, 16 or 32; default 0: none)", int, "a whole number"),
    TrainingOption("batch", "--batch", f"frames per step (default {_D.batch})", int, "a whole number"),
    TrainingOption("crop", "--crop", f"random crop side, a multiple of 64; 0 = full frames only (default {_D.crop})",
                   _crop, "a whole number"),
    TrainingOption("lr", "--lr", f"peak learning rate (default {SCRATCH_LR:g} from random weights, {FINETUNE_LR:g} "
                   f"from a prior)", float, "a number"),
    TrainingOption("warmup", "--warmup", f"fraction of the run ramping the learning rate up (default "
                   f"{SCRATCH_WARMUP:g} from random weights, {FINETUNE_WARMUP:g} from a prior)", float, "a number"),
    TrainingOption("loss", "--loss", f"reconstruction loss (default {_D.loss})", choices=LOSSES),
    TrainingOption("motion_weight", "--motion-weight", f"extra loss weight on what moves (pixels away from the shot's "
                   f"mean frame) (default {_D.motion_weight:g})", float, "a number"),
    TrainingOption("motion_fade", "--motion-fade", f"fraction of the run by which the motion weight has faded to "
                   f"nothing; none: held to the end (default {_D.motion_fade:g})", _fraction_or_none,
                   "a number, or none"),
    TrainingOption("degrade", "--degrade", "fraction of training inputs degraded as the nodes degrade what they hand "
                   "the model (robust training; the target stays clean) (default 0)", float, "a number"),
    TrainingOption("degrade_kinds", "--degrade-kinds", f"which degradations: {','.join(DEGRADATIONS)} (Upres, Clean "
                   f"Plate, Retime)"),
    TrainingOption("train_scale", "--train-scale", "train on frames resized by this factor", float, "a number"),
    TrainingOption("seed", "--seed", "random seed (default 0)", int, "a whole number"),
    TrainingOption("precision", "--precision", f"training precision (default {_D.precision})",
                   choices=("auto", "bf16", "fp32")),
    TrainingOption("checkpoint_every_s", "--checkpoint-every", f"seconds between checkpoints; a killed run resumes "
                   f"from the last (default {_D.checkpoint_every_s:g})", float, "a number of seconds"),
)
del _D


def read_training_options(texts: dict[str, str], nproc: int = 1) -> TrainSettings:
    """TrainSettings from option texts (TrainSettings field -> its text as typed; absent fields keep their
    defaults); ``--steps`` trains by steps whatever the budget. A bad text is a ParameterError naming the option."""
    values: dict[str, Any] = {"nproc": nproc}
    for option in TRAINING_OPTIONS:
        text = texts.get(option.field)
        if text is None:
            continue
        if option.choices and text not in option.choices:
            raise ParameterError(f"{option.flag} {text!r}: expected one of {', '.join(option.choices)}")
        try:
            values[option.field] = option.read(text)
        except (ValueError, TypeError):
            raise ParameterError(f"{option.flag} {text!r}: expected {option.expects}") from None
    if values.get("steps") is not None:
        values["budget_s"] = None
    return TrainSettings(**values)


def parse_training_options(text: str) -> TrainSettings:
    """TrainSettings from one line of options as ``vsae train`` takes them (``--budget 10m --half-width 16``, or
    ``--budget=10m``): how a host or a farm job carries a shot model's settings. Empty: the defaults.

    >>> parse_training_options("--steps 400 --half-width=16").half_width
    16
    """
    by_flag = {o.flag: o for o in TRAINING_OPTIONS}
    try:
        words = shlex.split(text or "")
    except ValueError as exc:
        raise ParameterError(f"training options {text!r}: {exc}") from None
    texts: dict[str, str] = {}
    i = 0
    while i < len(words):
        flag, eq, value = words[i].partition("=")
        if flag not in by_flag:
            raise ParameterError(f"training option {flag!r}: not one of {', '.join(by_flag)}")
        if not eq:
            if i + 1 >= len(words):
                raise ParameterError(f"training option {flag}: needs a value")
            i += 1
            value = words[i]
        texts[by_flag[flag].field] = value
        i += 1
    return read_training_options(texts)

