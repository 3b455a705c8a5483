"""Per-shot training: fit a ShotAutoencoder to the frames of one shot.

Reconstruction loss, Adam, a warm-up then linear decay of the learning rate over the run (by steps, or by the
fraction of a wall-clock budget spent), 64-aligned random crops mixed with full frames, no flips (a mirrored copy of
the shot would split its manifold in two), bf16 autocast where the CPU has bf16 units, channels-last memory.

A checkpoint (one safetensors file: weights, optimiser state, RNG state and progress) is written atomically every
``checkpoint_every_s``; a run started again with the same checkpoint path resumes where it stopped. With ``steps``
set and the same seed a run is deterministic; with a time budget the number of steps depends on the machine.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from vsae.errors import InputError, ParameterError, TrainingError
from vsae.core.model.autoencoder import STRIDE, ShotAutoencoder, pad_to_stride
from vsae.core.progress import Progress, TrainingLog
from vsae.core.settings import TrainSettings

FULL_FRAME_PIXELS = 2 * 1024 * 1024


@dataclass
class TrainResult:
    state_dict: dict
    steps: int
    elapsed_s: float
    metrics: dict = field(default_factory=dict)


def bf16_supported() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def training_device() -> torch.device:
    """CUDA when this torch build sees a GPU, else the CPU (the farm's usual case)."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def use_bf16(settings: TrainSettings, device: torch.device) -> bool:
    if settings.precision == "fp32":
        return False
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return settings.precision == "bf16" or bf16_supported()


def optimizer(params, lr: float) -> torch.optim.Adam:
    """The training's Adam. Fused: one kernel updates every parameter instead of a dozen elementwise passes each
    (bench/train_speed.py: 4-7% more steps a second on a 2-core CPU; the same update up to rounding)."""
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.99), fused=True)


def working_to_display(w: torch.Tensor) -> torch.Tensor:
    """Working range to sRGB display values in [0, 1], for PSNR figures only (never for pixels written out).

    w: (B, 3, H, W) in (-1, 1). Mirrors ``colour.from_working`` then ``colour.linear_to_srgb``.
    """
    from vsae.core import colour

    w = w.float().clamp(-colour.WORKING_LIMIT, colour.WORKING_LIMIT)
    lin = torch.sign(w) * (w.abs() / (1 - w.abs()) / colour.GAIN) ** colour.GAMMA
    lin = lin.clamp(min=0.0)
    srgb = torch.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin.clamp(min=0.0031308) ** (1 / 2.4) - 0.055)
    return srgb.clamp(max=1.0)  # a metric on display values: highlights count as white, as a viewer shows them


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two (B, 3, H, W) tensors in [0, 1]."""
    mse = torch.mean((a.float() - b.float()) ** 2).item()
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def prepare_frames(frames: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) working-range frames -> padded (N, 3, H', W') float16 tensor, H' and W' multiples of 64.

    Kept as float16 (2 bytes a value) so a 100-frame 1080p shot holds about 1.3 GB. Frames memory-mapped from a
    file (``load_training_frames(store=...)``, a long shot) are used as they are when no padding is needed, else
    padded into a second memory-mapped file beside it: training reads them through the page cache and holds none
    of the shot itself.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise InputError(f"training frames: expected (N, H, W, 3), got {tuple(frames.shape)}")
    out = None
    mapped = frames.filename if isinstance(frames, np.memmap) else None
    if mapped and frames.dtype == np.float16 and frames.shape[1] % STRIDE == 0 and frames.shape[2] % STRIDE == 0:
        # Nothing to pad: the mapped frames themselves, seen as (N, 3, H, W) (channels-last in memory, as the model
        # takes them); no second file.
        return torch.from_numpy(np.asarray(frames)).permute(0, 3, 1, 2)
    for i in range(frames.shape[0]):  # one frame at a time: never a second full-size copy of the shot in float32
        t = pad_to_stride(torch.from_numpy(np.ascontiguousarray(frames[i])).permute(2, 0, 1)[None].float())[0]
        if out is None:
            shape = (frames.shape[0],) + tuple(t.shape[1:])
            if mapped:
                from vsae.core.training.frames import mapped_array

                out = torch.from_numpy(mapped_array(f"{os.path.splitext(str(mapped))[0]}-padded.npy", shape))
            else:
                out = torch.empty(shape, dtype=torch.float16)
        out[i] = t[0]
    if out is None:
        raise InputError("training frames: none")
    return out


class _Sampler:
    """Random 64-aligned crops and full frames from the padded shot; crops on the 64-grid keep the latent cells
    of a crop the same cells as in the full frame."""

    def __init__(self, data: torch.Tensor, settings: TrainSettings, rng: np.random.Generator, rank: int = 0,
                 world: int = 1):
        self.data, self.s, self.rng, self.rank, self.world = data, settings, rng, rank, world
        self.n, _, self.h, self.w = data.shape
        self.mean = None
        if settings.motion_weight > 0:
            self.mean = torch.zeros(data.shape[1:], dtype=torch.float32)
            for frame in data:  # one frame at a time: no float32 copy of the whole shot
                self.mean += frame.float() / self.n

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """This process's part of a training batch: the model's inputs (B, 3, h, w), the clean targets (the same
        tensor unless inputs are degraded) and, with motion weighting, the shot's mean frame over the same area.
        Every process draws the whole global batch from the same random stream and keeps its slice, so N processes
        see what one process would."""
        s = self.s
        idx = self.rng.choice(self.n, size=min(s.batch, self.n), replace=self.n < s.batch)
        full = s.crop is None or (s.full_frame_every > 0 and step % s.full_frame_every == 0) or (
            s.crop >= self.h and s.crop >= self.w)
        share = len(idx) // self.world
        mine = slice(self.rank * share, (self.rank + 1) * share)
        if full:
            ch, cw = self.h, self.w
            corners = [(0, 0)] * len(idx)
        else:
            ch, cw = min(s.crop or self.h, self.h), min(s.crop or self.w, self.w)
            corners = [(int(self.rng.integers(0, (self.h - ch) // STRIDE + 1)) * STRIDE,
                        int(self.rng.integers(0, (self.w - cw) // STRIDE + 1)) * STRIDE) for _ in idx]
        kinds = [None] * len(idx)
        if s.degrade > 0:
            kinds = [s.degrade_kinds[int(self.rng.integers(len(s.degrade_kinds)))] if self.rng.uniform() < s.degrade
                     else None for _ in idx]
        items = list(zip(range(len(idx)), idx, corners, kinds))[mine]
        if full:  # full frames of a large plate would blow up activations: keep a full-frame batch near 2 Mpixel
            items = items[:max(1, min(share, FULL_FRAME_PIXELS // (self.h * self.w)))]
        x = torch.stack([self.data[i, :, y0:y0 + ch, x0:x0 + cw] for _, i, (y0, x0), _ in items]).float()
        means = None
        if self.mean is not None and full:
            means = self.mean.expand(len(items), -1, -1, -1)  # the whole mean frame: a view, no copy a step
        elif self.mean is not None:
            means = torch.stack([self.mean[:, y0:y0 + ch, x0:x0 + cw] for _, _, (y0, x0), _ in items])
        x = x.contiguous(memory_format=torch.channels_last)
        inputs = x
        if any(kind for *_, kind in items):
            from vsae.core.training.degradations import degrade, neighbour_prediction

            inputs = x.clone()
            for j, (g, i, (y0, x0), kind) in enumerate(items):
                if kind is None:
                    continue
                # Its own stream per item of the global batch: every process degrades an item the same way.
                item_rng = np.random.default_rng([s.seed, step, int(g)])
                predicted = None
                if kind == "retime":  # per item, over its area: a copy of the shot would double training memory
                    first = max(i - 1, 0)
                    around = self.data[first:i + 2, :, y0:y0 + ch, x0:x0 + cw].permute(0, 2, 3, 1).numpy()
                    predicted = neighbour_prediction(around, i - first)
                out = degrade(x[j].permute(1, 2, 0).numpy(), kind, item_rng, predicted)
                inputs[j] = torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1)
        return inputs, x, means  # inputs is x itself when nothing was degraded: one copy of the batch


def _lr_at(peak: float, warmup: float, done: float) -> float:
    """Linear warm-up to ``peak`` over the first ``warmup`` of the run, then linear decay to 1% of it."""
    if done < warmup:
        return peak * max(done / warmup, 0.02)
    return peak * max(0.0, 1.0 - (done - warmup) / (1.0 - warmup)) + peak * 0.01


def motion_weight_at(settings: TrainSettings, done: float) -> float:
    """The motion weight at ``done`` (fraction of the run): full at the start, fading linearly to 0 at
    ``motion_fade`` (None: constant). Early on it makes the model carry what moves at all; later the plain loss fits
    every pixel, which is what frames the model never saw are scored on (bench/README.md, session 6)."""
    if settings.motion_fade is None:
        return settings.motion_weight
    return settings.motion_weight * max(0.0, 1.0 - done / settings.motion_fade)


def _loss(settings: TrainSettings, y: torch.Tensor, x: torch.Tensor, mean: torch.Tensor | None = None,
          motion_weight: float | None = None, across: Callable[[torch.Tensor], torch.Tensor] | None = None
          ) -> torch.Tensor:
    """Reconstruction loss; with ``mean`` (the shot's mean frame over the batch's area) pixels that differ from
    the mean, i.e. what moves, weigh up to 1 + motion_weight times more (default: the settings' full weight): a
    model first learns the static plate, and what it must carry frame to frame is the rest.

    ``across``: in a data-parallel run, the mean of a value over the processes, so the weights are normalised over
    the global batch as one process would."""
    err = (y - x).abs() if settings.loss == "l1" else (y - x) ** 2 if settings.loss == "mse" else (
        (y - x).abs() + (y - x) ** 2)
    weight_now = settings.motion_weight if motion_weight is None else motion_weight
    if mean is None or weight_now <= 0:
        return err.mean()
    across = across or (lambda v: v)
    deviation = (x - mean.to(x.device)).abs().mean(dim=1, keepdim=True)
    weight = 1.0 + weight_now * deviation / (across(deviation.mean()) + 1e-3)
    return (err * weight).mean() / across(weight.mean())


def save_checkpoint(path: str, model: torch.nn.Module, opt: torch.optim.Optimizer, meta: dict) -> None:
    """Weights, optimiser moments and progress in one safetensors file, written to a temp name then renamed."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for i, p in enumerate(model.parameters()):
        st = opt.state.get(p, {})
        for name in ("exp_avg", "exp_avg_sq"):
            if name in st:
                tensors[f"opt.{i}.{name}"] = st[name].detach().cpu().contiguous()
        if "step" in st:
            tensors[f"opt.{i}.step"] = torch.as_tensor(st["step"], dtype=torch.float32).reshape(1)
    from vsae.core.io.output_files import write_atomic

    write_atomic(path, lambda tmp: save_file(tensors, tmp, metadata={"vsae": json.dumps(meta)}))


def load_checkpoint(path: str, model: torch.nn.Module, opt: torch.optim.Optimizer) -> dict:
    """Restore a ``save_checkpoint`` file into model and optimiser; returns its progress metadata."""
    from safetensors import safe_open

    with safe_open(path, "pt") as fh:
        meta = json.loads(fh.metadata()["vsae"])
    tensors = load_file(path)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    for i, p in enumerate(model.parameters()):
        if f"opt.{i}.exp_avg" in tensors:
            # The moments in the parameter's own layout (convolutions' are channels last): the fused update walks
            # parameter, gradient and moments through memory alike.
            opt.state[p] = {
                "step": tensors[f"opt.{i}.step"].reshape(()).to(p.device),
                "exp_avg": torch.empty_like(p).copy_(tensors[f"opt.{i}.exp_avg"]),
                "exp_avg_sq": torch.empty_like(p).copy_(tensors[f"opt.{i}.exp_avg_sq"]),
            }
    return meta


def _discard_checkpoint(path: str, exc: Exception, progress) -> None:
    message = f"discarding the damaged checkpoint {path} ({type(exc).__name__}: {exc}); training starts again"
    if progress is not None:
        progress.note(" ".join(message.split()))
    else:
        import warnings

        warnings.warn(message, RuntimeWarning, stacklevel=3)
    try:
        os.unlink(path)
    except OSError:
        pass


# Batch-norm statistics are recomputed over every frame of a shot up to this many, over this many evenly spaced
# frames beyond (a 15,000-frame shot would spend minutes on them; 2,000 frames spread over it sample them).
BATCHNORM_FRAMES = 2000


@torch.no_grad()
def recompute_batchnorm(model: ShotAutoencoder, data: torch.Tensor, device: torch.device, batch: int = 4) -> None:
    """Set every batch-norm's running statistics to the exact mean over the shot's full frames (``BATCHNORM_FRAMES``
    of them, evenly spaced, in a longer shot).

    The running averages left by training trail the weights; inference in eval mode then decodes slightly off.
    """
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    batch = max(1, min(batch, FULL_FRAME_PIXELS // (data.shape[2] * data.shape[3])))
    n = data.shape[0]
    idx = np.arange(n) if n <= BATCHNORM_FRAMES else np.linspace(0, n - 1, BATCHNORM_FRAMES).round().astype(int)
    for i in range(0, len(idx), batch):
        rows = idx[i:i + batch]
        x = data[int(rows[0]):int(rows[-1]) + 1] if n <= BATCHNORM_FRAMES else data[torch.from_numpy(rows)]
        model(x.to(device).float().contiguous(memory_format=torch.channels_last))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()


@torch.no_grad()
def evaluate(model: ShotAutoencoder, data: torch.Tensor, count: int, bf16: bool, device: torch.device) -> float:
    """Mean display-referred PSNR of the model's reconstruction over up to ``count`` evenly spaced frames."""
    model.eval()
    idx = np.linspace(0, data.shape[0] - 1, min(count, data.shape[0])).round().astype(int)
    scores = []
    for i in idx:
        x = data[i:i + 1].to(device).float().contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            y = model(x)
        scores.append(psnr(working_to_display(y), working_to_display(x)))
    return float(np.mean(scores))


def train(frames: np.ndarray, settings: TrainSettings, checkpoint_path: str | None = None,
          init_state: dict | None = None, progress: Progress | TrainingLog | None = None,
          should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """Fit a ShotAutoencoder to one shot.

    frames: (N, H, W, 3) working-range values (float16 or float32), already at the training resolution.
    checkpoint_path: where checkpoints go; if the file exists the run resumes from it.
    init_state: weights to start from (a prior, or another shot's model of the same arch and k); the schedule is
        then the settings' fine-tuning one (``TrainSettings.schedule``).
    should_stop: polled every step; True ends the run early (a checkpoint is written first).

    In a data-parallel run (``core.training.data_parallel``) every process calls this with the same frames and settings
    (rank 0 first announces the training; the others call it once ``await_announcement()`` says so); rank 0 alone
    writes checkpoints and reports progress, and every process returns the same weights.
    """
    from vsae.core.training import data_parallel

    rank, world = data_parallel.world()
    if world > 1:
        data_parallel.check_world(settings, frames.shape[0])
        data_parallel.announce(True)  # rank 0: the other processes load the frames and join
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)  # the global batch's stream: the same in every process
    device = training_device()
    data = prepare_frames(frames)  # stays in host memory; batches go to the device
    if init_state is not None and not all(torch.isfinite(v).all() for v in init_state.values()
                                          if torch.is_floating_point(v)):
        raise ParameterError("--init-from: the weights hold NaN or Inf values")
    peak_lr, warmup = settings.schedule(init_state is not None)

    def fresh():
        net = ShotAutoencoder(settings.model_config)
        if world > 1:
            data_parallel.swap_batchnorm(net, data_parallel.GlobalBatchNorm2d)
        net = net.to(device, memory_format=torch.channels_last)
        if init_state is not None:
            try:
                net.load_state_dict(init_state)
            except RuntimeError as exc:
                raise ParameterError(f"--init-from: weights do not fit {settings.model_config}") from exc
        return net, optimizer(net.parameters(), peak_lr)

    model, opt = fresh()
    bf16 = use_bf16(settings, device)
    step, elapsed_before = 0, 0.0
    if rank == 0 and checkpoint_path and os.path.exists(checkpoint_path):
        try:
            meta = load_checkpoint(checkpoint_path, model, opt)
            resumed = (meta["step"], meta["elapsed_s"], meta["numpy_rng"], meta.get("settings"))
        except Exception as exc:  # truncated, bit-flipped, written by another version: start again, never a traceback
            _discard_checkpoint(checkpoint_path, exc, progress)
            torch.manual_seed(settings.seed)  # the same start as a run that never saw the checkpoint
            model, opt = fresh()
        else:
            if resumed[3] != settings.key_dict():
                raise ParameterError(f"{checkpoint_path}: checkpoint was made with other settings; remove it to "
                                     f"restart")
            step, elapsed_before = resumed[0], resumed[1]
            rng.bit_generator.state = resumed[2]
    if world > 1:  # every process continues from rank 0's start: resumed or not, the same weights and stream
        step, elapsed_before, rng.bit_generator.state = data_parallel.broadcast_json(
            [step, elapsed_before, rng.bit_generator.state])
        data_parallel.broadcast_state(model, opt)
    sampler = _Sampler(data, settings, rng, rank, world)
    # Buffers (batch-norm statistics) are the same in every process already: nothing to broadcast per step.
    net = model if world == 1 else torch.nn.parallel.DistributedDataParallel(model, forward_sync_buffers=False)
    start = time.monotonic()
    last_ckpt = start
    loss_ema = None
    report = progress if rank == 0 else None

    def done_fraction() -> float:
        spent = elapsed_before + time.monotonic() - start
        by_time = spent / settings.budget_s if settings.budget_s else 0.0
        by_steps = step / settings.steps if settings.steps else 0.0
        return min(1.0, max(by_time, by_steps))

    def checkpoint() -> None:
        if checkpoint_path and rank == 0:
            save_checkpoint(checkpoint_path, model, opt, {
                "step": step, "elapsed_s": elapsed_before + time.monotonic() - start,
                "settings": settings.key_dict(), "numpy_rng": rng.bit_generator.state})

    def diverged(value: float, lr: float) -> TrainingError:  # nothing of this run may be cached or rendered
        return TrainingError(f"training diverged at step {step} (loss {value}, learning rate {lr:.3g}); no model "
                             f"was saved: train again with a lower --lr")

    model.train()
    lr, bad = peak_lr, None
    while True:
        frac = done_fraction()
        if world > 1:  # one decision for every process: the slowest clock ends the run, any NaN stops it
            frac, any_bad = data_parallel.all_max([frac, float(bad is not None)])
            if any_bad:
                raise diverged(bad if bad is not None else float("nan"), lr)
        if frac >= 1.0:
            break
        lr = _lr_at(peak_lr, warmup, frac)
        for g in opt.param_groups:
            g["lr"] = lr
        inputs, x, mean = sampler.batch(step)
        inputs, x = inputs.to(device, non_blocking=True), x.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            if model.skip is None:
                y = net(inputs)
            else:  # every other frame of the global batch decodes from the latent alone (see ShotAutoencoder)
                first = step + rank * inputs.shape[0]
                y = net(inputs, torch.arange(first, first + inputs.shape[0], device=device) % 2)
        loss = _loss(settings, y.float(), x, mean, motion_weight_at(settings, frac),
                     across=None if world == 1 else data_parallel.mean_over_processes)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        value = loss.item()
        if not math.isfinite(value):
            if world == 1:
                raise diverged(value, lr)
            bad = value
            continue
        loss_ema = value if loss_ema is None else 0.95 * loss_ema + 0.05 * value
        if report is not None:
            spent = elapsed_before + time.monotonic() - start
            eta = (settings.budget_s - spent) if settings.budget_s and not settings.steps else (
                ((settings.steps or step) - step) * spent / max(step, 1))
            report.update(frac, bar_position=step, step=step, loss=loss_ema, lr=lr, eta_s=round(max(eta, 0.0), 1))
        if time.monotonic() - last_ckpt >= settings.checkpoint_every_s:
            checkpoint()
            last_ckpt = time.monotonic()
        if should_stop is not None and should_stop():
            checkpoint()
            raise InterruptedError("training stopped; it resumes from its checkpoint")
    elapsed = elapsed_before + time.monotonic() - start
    if world > 1:
        data_parallel.swap_batchnorm(model, torch.nn.BatchNorm2d)
    recompute_batchnorm(model, data, device)
    score = evaluate(model, data, settings.eval_frames, bf16, device)
    if report is not None:
        report.update(1.0, bar_position=step, step=step, loss=loss_ema, psnr=round(score, 2), eta_s=0.0)
    state = {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    bad_weights = [k for k, v in state.items() if torch.is_floating_point(v) and not torch.isfinite(v).all()]
    if bad_weights or not math.isfinite(score):
        raise TrainingError(f"training diverged (weights {bad_weights[0] if bad_weights else ''} hold NaN or Inf; "
                            f"PSNR {score}); no model was saved: train again with a lower --lr")
    return TrainResult(state, step, elapsed, {"train_psnr_db": round(score, 3), "final_loss": loss_ema,
                                              "steps": step, "elapsed_s": round(elapsed, 2), "bf16": bf16,
                                              "processes": world})

