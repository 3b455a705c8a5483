"""Inference speed: reconstruct (pad, encode, decode, crop) frames per second, torch vs ONNX Runtime, with peak memory.

    python bench/inference_speed.py [--k 32] [--sizes 512x256,960x540,1920x1080]

Each (size, backend) runs in its own subprocess so its peak resident memory is its own; within it, median of 5
timed frames after 2 warm-up frames. The default arch with random weights (speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from common import median_time, peak_rss_mib, save_results


def measure(size: str, backend: str, k: int, folder: str) -> dict:
    import numpy as np
    import torch

    from vsae.core.model.export import export_onnx
    from vsae.core.model.autoencoder import ModelConfig, ShotAutoencoder
    from vsae.core.model.shot_model import ShotModel

    w, h = map(int, size.split("x"))
    torch.manual_seed(0)
    state = ShotAutoencoder(ModelConfig("fast", k)).state_dict()
    model = ShotModel(ModelConfig("fast", k), state, onnx_dir=folder, backend=backend)
    if backend == "onnx" and not os.path.exists(os.path.join(folder, "reproject.onnx")):
        export_onnx(ShotModel(ModelConfig("fast", k), state), folder)
    base_rss = peak_rss_mib()
    x = np.random.default_rng(0).uniform(0, 0.7, (1, 3, h, w)).astype(np.float32)
    t = median_time(lambda: model.reproject(x), repeats=5, warmup=2)
    return {"size": size, "backend": backend, "fps": round(1 / t, 2), "ms": round(t * 1000, 1),
            "peak_rss_mib": round(peak_rss_mib()), "rss_before_mib": round(base_rss)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--sizes", default="512x256,960x540,1920x1080")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        size, backend = args.one.split(":")
        print(json.dumps(measure(size, backend, args.k, args.dir)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes.split(","):
            for backend in ("torch", "onnx"):
                out = subprocess.run([sys.executable, __file__, "--k", str(args.k), "--one", f"{size}:{backend}",
                                      "--dir", folder], capture_output=True, text=True, check=True)
                row = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(f"{size:>10s} {backend:5s} {row['fps']:7.2f} fps  {row['ms']:8.1f} ms/frame  "
                      f"peak RSS {row['peak_rss_mib']} MiB", flush=True)
    for r in rows:
        torch_row = next(t for t in rows if t["size"] == r["size"] and t["backend"] == "torch")
        r["speedup_vs_torch"] = round(r["fps"] / torch_row["fps"], 2)
    print(save_results("inference_speed", {"k": args.k, "rows": rows}))


if __name__ == "__main__":
    main()
