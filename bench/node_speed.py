"""Node speed: Retime and Upres renders through their node definitions, torch vs ONNX Runtime, with peak memory.

    python bench/node_speed.py
    python bench/node_speed.py --cases retime_latent:512x256,upres:1920x1080

Cases (each (case, size, backend) in its own subprocess, so its peak resident memory is its own; median of 5 renders
after 2 warm-up renders; the default arch, k=32, random weights: speed does not depend on the weights):
- ``retime_latent``: Retime at half speed, method latent, from cached latents (the node's latents are computed once
  per source frame and kept): blend two codes, decode, back to scene-linear. Size = the source frames.
- ``retime_hybrid``: the default method (flow both ways, the model's guide and one reprojection where the warps
  disagree), latents cached as above.
- ``upres``: Upres 2x to the given output size, 5 iterations, detail-preserve (the node's default).
- ``upres_tiled``: the same in 1024-pixel tiles (overlap 64), for frames whose one pass would not fit.
Backends: torch and ONNX Runtime in fp32 (the default precision), and torch with bf16 autocast (``--precision bf16``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from common import median_time, peak_rss_mib, save_results

CASES = ("retime_latent:512x256,retime_latent:1920x1080,retime_hybrid:512x256,retime_hybrid:1920x1080,"
         "upres:1920x1080,upres_tiled:1920x1080,upres:3840x2160,upres_tiled:3840x2160")


def measure(case: str, size: str, backend: str, folder: str) -> dict:
    import numpy as np
    import torch

    from vsae.core.model.export import export_onnx
    from vsae.core.model.autoencoder import ModelConfig, ShotAutoencoder
    from vsae.core.io.sequence import Frame
    from vsae.core.model.shot_model import ShotModel
    from vsae.plugin.node import RenderContext
    from vsae.plugin.nodes import load_node

    w, h = map(int, size.split("x"))
    torch.manual_seed(0)
    config = ModelConfig("fast", 32)
    state = ShotAutoencoder(config).state_dict()
    if backend.startswith("onnx") and not os.path.exists(os.path.join(folder, "reproject.onnx")):
        export_onnx(ShotModel(config, state), folder)
    model = ShotModel(config, state, onnx_dir=folder, backend=backend.split("-")[0],
                      precision="bf16" if backend.endswith("-bf16") else "fp32")
    rng = np.random.default_rng(0)
    if case.startswith("retime"):
        node = load_node("retime")
        params = node.resolve({"speed": 0.5, "method": case.split("_")[1]})
        # Smooth random frames, the second a shifted copy of the first: flow has something to find.
        base = rng.uniform(0.02, 0.8, (h // 8 + 2, w // 8 + 2, 3)).astype(np.float32)
        import cv2

        big = cv2.resize(base, (w + 16, h + 16), interpolation=cv2.INTER_CUBIC)
        frames = {1: Frame(rgb=np.ascontiguousarray(big[:h, :w]), pixel_type="float"),
                  2: Frame(rgb=np.ascontiguousarray(big[6:h + 6, 10:w + 10]), pixel_type="float")}
        from vsae.core.model.inference import frame_to_working

        codes = {f: model.encode(frame_to_working(fr.rgb)[None])[0] for f, fr in frames.items()}  # the node's cache
        context = RenderContext(fetch=lambda _n, f: frames[f], source_frames=[1, 2], shot_model=lambda: model,
                                latents=lambda fs: np.concatenate([codes[f] for f in fs]))
        frame = 2  # output 2 at half speed: source time 1.5
    else:
        node = load_node("upres")
        params = node.resolve({"factor": 2, "iterations": 5, "tile": 1024 if case == "upres_tiled" else 0})
        low = Frame(rgb=rng.uniform(0.02, 0.8, (h // 2, w // 2, 3)).astype(np.float32), pixel_type="float")
        context = RenderContext(fetch=lambda _n, f: low, source_frames=[1], shot_model=lambda: model)
        frame = 1
    base_rss = peak_rss_mib()
    t = median_time(lambda: node.render(frame, params, context), repeats=5, warmup=2)
    return {"case": case, "size": size, "backend": backend, "fps": round(1 / t, 2), "ms": round(t * 1000, 1),
            "peak_rss_mib": round(peak_rss_mib()), "rss_before_mib": round(base_rss)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default=CASES)
    ap.add_argument("--backends", default="torch,onnx,torch-bf16",
                    help="torch-bf16: torch with bf16 autocast (ShotModel precision bf16)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        case, size, backend = args.one.split(":")
        print(json.dumps(measure(case, size, backend, args.dir)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for item in args.cases.split(","):
            for backend in args.backends.split(","):
                out = subprocess.run([sys.executable, __file__, "--one", f"{item}:{backend}", "--dir", folder],
                                     capture_output=True, text=True)
                if out.returncode:
                    print(f"{item} {backend}: failed\n{out.stderr[-2000:]}", flush=True)
                    continue
                row = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(f"{row['case']:>14s} {row['size']:>10s} {backend:5s} {row['fps']:7.2f} fps "
                      f"{row['ms']:9.1f} ms/frame  peak RSS {row['peak_rss_mib']} MiB", flush=True)
    for r in rows:
        torch_row = next((t for t in rows if (t["case"], t["size"], t["backend"]) == (r["case"], r["size"], "torch")),
                         None)
        if torch_row:
            r["speedup_vs_torch"] = round(r["fps"] / torch_row["fps"], 2)
    print(save_results("node_speed", {"model": "fast, k=32, random weights", "rows": rows}))


if __name__ == "__main__":
    main()
