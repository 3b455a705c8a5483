"""Training speed: the trainer beside a bare loop of the same model and the machine's bf16 matrix rate, one process.

    python bench/train_speed.py                 # trainer vs bare loop vs matmul, then the archs side by side
    python bench/train_speed.py --skip-archs    # the first part only

Part 1 (default settings, 512x256 frames, batch and precision as `vsae train` runs them):
- ``matmul``: GFLOP/s of a 4096x4096 bf16 matrix multiply (fp32 too): what the CPU's matrix units reach;
- ``bare``: forward + L1 loss + backward + the training's Adam (``trainer.optimizer``) on one fixed batch in the
  training's layout, nothing else;
- ``bare_unfused_adam``: the bare loop with Adam updating one parameter at a time (as before session 14);
- ``convolutions``: the step's convolutions alone (``convolution_floor``): the ceiling of a step made of them;
- ``matrix_products``: those convolutions as the bare matrix products they amount to, at their shapes
  (``matrix_product_ceiling``): what the matrix units reach at the sizes this model has, above any convolution;
- ``trainer``: ``core.training.trainer.train`` for ``--steps`` steps on 24 procedural frames (its loop time, from
  its own clock: sampling, the motion-weighted loss, the schedule and bookkeeping included; the batch-norm pass and
  the evaluation after the loop are not).
GFLOP/s = the step's floating-point operations (``torch.utils.flop_counter``: forward and backward, convolutions
and matrix products) x steps/s; medians of ``--repeats``, interleaved so that a change in the machine's speed falls
on all three.

Part 2: frame-iterations/s for arch=paper (k=64) beside the default arch, fp32 and bf16 (batch 4 of full frames).
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import median_time, peak_rss_mib, save_results


def matmul_rate(dtype_name: str, n: int = 4096, repeats: int = 3) -> float:
    import torch

    dtype = getattr(torch, dtype_name)
    a, b = torch.rand(n, n).to(dtype), torch.rand(n, n).to(dtype)
    t = median_time(lambda: a @ b, repeats=repeats, warmup=1)
    return 2 * n ** 3 / t / 1e9


def default_settings(steps: int):
    from vsae.core.settings import TrainSettings

    return TrainSettings(steps=steps, budget_s=None, checkpoint_every_s=3600)


def procedural_frames(count: int = 24, width: int = 512, height: int = 256):
    """(count, H, W, 3) float16 working-range frames of a smooth texture drifting, as the cache hands the trainer."""
    import cv2
    import numpy as np

    from vsae.core.colour import to_working

    rng = np.random.default_rng(0)
    base = rng.uniform(0.02, 0.8, (height // 16 + 4, width // 16 + 4, 3)).astype(np.float32)
    big = cv2.resize(base, (width + 2 * count + 8, height + count + 8), interpolation=cv2.INTER_CUBIC)
    return np.stack([to_working(big[n:n + height, 2 * n:2 * n + width]) for n in range(count)]).astype(np.float16)


def bare_loop(settings, frames, fused: bool = True):
    """A step function of the default model on one batch shaped as the trainer's (full frames, channels last);
    ``fused`` False: Adam as it ran before session 14 (one parameter at a time), for the fused update's gain."""
    import torch
    import torch.nn.functional as F

    from vsae.core.model.autoencoder import ShotAutoencoder
    from vsae.core.training.trainer import optimizer, use_bf16

    torch.manual_seed(0)
    model = ShotAutoencoder(settings.model_config).to(memory_format=torch.channels_last).train()
    opt = (optimizer(model.parameters(), 1e-3) if fused
           else torch.optim.Adam(model.parameters(), 1e-3, betas=(0.9, 0.99), foreach=False))
    x = torch.from_numpy(frames[:settings.batch]).permute(0, 3, 1, 2).float().contiguous(
        memory_format=torch.channels_last)
    bf16 = use_bf16(settings, torch.device("cpu"))

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = model(x)
        loss = F.l1_loss(y.float(), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step, model, x, bf16


def step_flops(model, x, bf16: bool) -> float:
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = model(x)
        F.l1_loss(y.float(), x).backward()
    model.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def convolution_shapes(model, x, bf16: bool) -> list:
    """(module, input shape, output shape) of each of the model's convolutions in a forward pass of ``x``."""
    import torch

    seen: list = []
    hooks = [m.register_forward_hook(lambda m, inputs, out: seen.append((m, inputs[0].shape, out.shape)))
             for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        model(x)
    for hook in hooks:
        hook.remove()
    return seen


def matrix_product_ceiling(model, x, bf16: bool):
    """The step's convolutions as the three matrix products each one is (forward: columns x weights; backward:
    the input's gradient and the weights'), at their shapes (M = batch x output pixels, K = input channels x kernel
    taps, N = output channels), on operands already laid out, in the step's precision: no gathering of columns,
    nothing else. What the matrix units reach at these shapes, which are far smaller than the 4096-square
    ``matmul``: a ceiling above any convolution kernel's. Returns (step, FLOPs)."""
    import torch

    dtype = torch.bfloat16 if bf16 else torch.float32
    products, flops = [], 0.0
    for conv, i_shape, o_shape in convolution_shapes(model, x, bf16):
        m = o_shape[0] * o_shape[2] * o_shape[3]
        k = i_shape[1] * conv.kernel_size[0] * conv.kernel_size[1] // conv.groups
        n = o_shape[1]
        products.append((torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype), torch.randn(m, n).to(dtype)))
        flops += 3 * 2 * m * k * n

    def step():
        for columns, weights, grad in products:
            columns @ weights
            grad @ weights.t()
            columns.t() @ grad

    return step, flops


def convolution_floor(model, x, bf16: bool):
    """The step's convolutions alone: each of the model's convolutions, forward and backward (weight gradient, and
    the input's where the step needs it), at the shape and precision the step runs it, on inputs already in that
    precision; nothing else (no batch norm, activations, resampling, loss or optimiser). Its rate is what these
    convolution kernels reach here: the ceiling of any training step made of them. Returns (step, FLOPs)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    seen = convolution_shapes(model, x, bf16)
    dtype = torch.bfloat16 if bf16 else torch.float32

    def tensor(shape, grad):
        return torch.randn(shape).to(dtype).contiguous(memory_format=torch.channels_last).requires_grad_(grad)

    convs = [(m, tensor(i_shape, n > 0), tensor(o_shape, False)) for n, (m, i_shape, o_shape) in enumerate(seen)]

    def step():
        model.zero_grad(set_to_none=True)
        for conv, inputs, grad in convs:
            inputs.grad = None
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = conv(inputs)
            out.backward(grad)

    with FlopCounterMode(display=False) as counter:
        step()
    return step, float(counter.get_total_flops())


def part_one(steps: int, repeats: int) -> dict:
    from vsae.core.training.trainer import train

    settings = default_settings(steps)
    frames = procedural_frames()
    step, model, x, bf16 = bare_loop(settings, frames)
    flops = step_flops(model, x, bf16)
    conv_step, conv_flops = convolution_floor(model, x, bf16)
    product_step, product_flops = matrix_product_ceiling(model, x, bf16)
    unfused_step = bare_loop(settings, frames, fused=False)[0]
    train(frames, default_settings(3))  # warm-up: first-call costs of the kernels
    for _ in range(3):
        step()
        conv_step()
        product_step()
        unfused_step()
    rates: dict[str, list] = {"matmul_bf16": [], "matmul_fp32": [], "bare": [], "trainer": [], "convolutions": [],
                              "bare_unfused_adam": [], "matrix_products": []}

    def steps_per_s(fn) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        return steps / (time.perf_counter() - start)

    for r in range(repeats):
        rates["matmul_bf16"].append(matmul_rate("bfloat16"))
        rates["matmul_fp32"].append(matmul_rate("float32"))
        loops = [("bare", step), ("bare_unfused_adam", unfused_step), ("convolutions", conv_step),
                 ("matrix_products", product_step)]
        for name, fn in loops if r % 2 == 0 else loops[::-1]:  # the order turned every repeat: no loop always first
            rates[name].append(steps_per_s(fn))
        result = train(frames, settings)
        rates["trainer"].append(result.steps / result.elapsed_s)
        print(f"  matmul bf16 {rates['matmul_bf16'][-1]:.0f} GFLOP/s, bare {rates['bare'][-1]:.2f} steps/s, "
              f"trainer {rates['trainer'][-1]:.2f} steps/s", flush=True)
    m = {k: statistics.median(v) for k, v in rates.items()}
    out = {"settings": {"batch": settings.batch, "crop": settings.crop, "bf16": bf16, "size": [512, 256],
                        "motion_weight": settings.motion_weight},
           "gflop_per_step": round(flops / 1e9, 2), "matmul_bf16_gflops": round(m["matmul_bf16"]),
           "matmul_fp32_gflops": round(m["matmul_fp32"]),
           "bare_steps_per_s": round(m["bare"], 2), "trainer_steps_per_s": round(m["trainer"], 2),
           "bare_gflops": round(m["bare"] * flops / 1e9), "trainer_gflops": round(m["trainer"] * flops / 1e9)}
    out["trainer_vs_bare"] = round(m["trainer"] / m["bare"], 3)
    out["trainer_vs_matmul_bf16"] = round(out["trainer_gflops"] / m["matmul_bf16"], 3)
    out["bare_vs_matmul_bf16"] = round(out["bare_gflops"] / m["matmul_bf16"], 3)
    out["bare_unfused_adam_steps_per_s"] = round(m["bare_unfused_adam"], 2)
    out["fused_adam_gain"] = round(m["bare"] / m["bare_unfused_adam"], 3)
    out["convolution_gflop_per_step"] = round(conv_flops / 1e9, 2)
    out["convolutions_ms_per_step"] = round(1e3 / m["convolutions"], 1)
    out["convolutions_gflops"] = round(m["convolutions"] * conv_flops / 1e9)
    out["convolutions_vs_matmul_bf16"] = round(out["convolutions_gflops"] / m["matmul_bf16"], 3)
    out["matrix_products_gflops"] = round(m["matrix_products"] * product_flops / 1e9)
    out["matrix_products_vs_matmul_bf16"] = round(out["matrix_products_gflops"] / m["matmul_bf16"], 3)
    print(f"step {out['gflop_per_step']} GFLOP; trainer {out['trainer_steps_per_s']} steps/s "
          f"({out['trainer_gflops']} GFLOP/s) = {out['trainer_vs_bare']:.3f} of the bare loop "
          f"({out['bare_steps_per_s']} steps/s, {out['bare_gflops']} GFLOP/s); against the bf16 matmul "
          f"{out['matmul_bf16_gflops']} GFLOP/s: trainer {out['trainer_vs_matmul_bf16']:.2f}, bare "
          f"{out['bare_vs_matmul_bf16']:.2f}; the step's convolutions alone {out['convolutions_ms_per_step']} ms "
          f"({out['convolution_gflop_per_step']} GFLOP, {out['convolutions_gflops']} GFLOP/s = "
          f"{out['convolutions_vs_matmul_bf16']:.2f} of the matmul), as bare matrix products at their shapes "
          f"{out['matrix_products_gflops']} GFLOP/s ({out['matrix_products_vs_matmul_bf16']:.2f}: the ceiling); "
          f"Adam fused / one parameter at a "
          f"time: {out['fused_adam_gain']:.3f}x the steps", flush=True)
    return out


def arch_step_fn(arch: str, k: int, batch: int, precision: str):
    import torch
    import torch.nn.functional as F

    from vsae.core.model.autoencoder import ModelConfig, ShotAutoencoder
    from vsae.core.settings import TrainSettings
    from vsae.core.training.trainer import use_bf16

    torch.manual_seed(0)
    model = ShotAutoencoder(ModelConfig(arch, k)).to(memory_format=torch.channels_last).train()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = (torch.rand(batch, 3, 256, 512) * 0.7).contiguous(memory_format=torch.channels_last)
    bf16 = use_bf16(TrainSettings(precision=precision), torch.device("cpu"))

    def steps():
        for _ in range(3):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                y = model(x)
            loss = F.l1_loss(y.float(), x)
            opt.zero_grad()
            loss.backward()
            opt.step()

    return steps, bf16


def part_two(k: int, paper_k: int, batch: int) -> list:
    rows = []
    for arch, kk, precision in (("paper", paper_k, "fp32"), ("paper", paper_k, "auto"),
                                ("fast", k, "fp32"), ("fast", k, "auto")):
        fn, bf16 = arch_step_fn(arch, kk, batch, precision)
        t = median_time(fn, repeats=5, warmup=1)
        fps = 3 * batch / t
        rows.append({"arch": arch, "k": kk, "bf16": bf16, "frame_iters_per_s": round(fps, 2)})
        print(f"{arch:5s} k={kk:<3d} bf16={bf16!s:5s}  {fps:7.2f} frame-iterations/s", flush=True)
    base = rows[1]["frame_iters_per_s"]
    for r in rows:
        r["ratio_vs_paper_bf16"] = round(r["frame_iters_per_s"] / base, 2)
    print(f"default (fast, bf16) / paper (bf16): {rows[3]['ratio_vs_paper_bf16']}x")
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40, help="steps per timed run of the bare loop and the trainer")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-archs", action="store_true", help="part 1 only")
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--paper-k", type=int, default=64, help="k of the paper's arch (the paper uses 64)")
    ap.add_argument("--batch", type=int, default=4, help="part 2's batch")
    ap.add_argument("--name", default="default")
    args = ap.parse_args()
    results = {"trainer": part_one(args.steps, args.repeats)}
    if not args.skip_archs:
        results.update({"batch": args.batch, "size": [512, 256], "rows": part_two(args.k, args.paper_k, args.batch)})
    print(f"peak RSS {peak_rss_mib():.0f} MiB")
    print(save_results("train_speed", results, run=args.name))


if __name__ == "__main__":
    main()
