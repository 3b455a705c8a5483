"""Training speed: frame-iterations per second at 512x256 for arch=paper and the default arch, side by side.

    python bench/train_speed.py [--k 32] [--batch 4]

One step = forward + backward + Adam on a batch of full 512x256 frames, bf16 autocast where supported (as the
trainer runs). Median of 5 timed runs of 3 steps after a warm-up, both archs in the same process.
"""

from __future__ import annotations

import argparse

from common import median_time, peak_rss_mib, save_results


def step_fn(arch: str, k: int, batch: int, precision: str):
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--paper-k", type=int, default=64, help="k of the paper's arch (the paper uses 64)")
    ap.add_argument("--batch", type=int, default=4)
    args = ap.parse_args()
    rows = []
    for arch, k, precision in (("paper", args.paper_k, "fp32"), ("paper", args.paper_k, "auto"),
                               ("fast", args.k, "fp32"), ("fast", args.k, "auto")):
        fn, bf16 = step_fn(arch, k, args.batch, precision)
        t = median_time(fn, repeats=5, warmup=1)
        fps = 3 * args.batch / t
        rows.append({"arch": arch, "k": k, "bf16": bf16, "frame_iters_per_s": round(fps, 2)})
        print(f"{arch:5s} k={k:<3d} bf16={bf16!s:5s}  {fps:7.2f} frame-iterations/s", flush=True)
    base = rows[1]["frame_iters_per_s"]
    for r in rows:
        r["ratio_vs_paper_bf16"] = round(r["frame_iters_per_s"] / base, 2)
    print(f"default (fast, bf16) / paper (bf16): {rows[3]['ratio_vs_paper_bf16']}x; peak RSS {peak_rss_mib():.0f} MiB")
    print(save_results("train_speed", {"batch": args.batch, "size": [512, 256], "rows": rows}))


if __name__ == "__main__":
    main()
