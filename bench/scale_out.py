"""Data-parallel training: steps/s and the model reached with 1 and N processes, through `vsae train` itself.

    python bench/scale_out.py                        # davis-bear, 600 steps, 1 vs 2 processes, 2 repeats
    python bench/scale_out.py --nproc 1,2,4 --steps 2000 --clip davis-cows

Each run trains the clip's frames (at --train-scale, about 512x288 for DAVIS) by steps into a fresh cache, so every
process count trains the same batches; steps/s is the training loop's own time from the model's manifest (start-up
apart), and the whole command's wall time is reported beside it. The median of the repeats is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from common import CLIPS, ROOT, require_clips, save_results


def run(clip: str, steps: int, nproc: int, scale: float) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        cmd = [sys.executable, "-m", "vsae.cli", "train", os.path.join(CLIPS, clip, "frames"), "--steps", str(steps),
               "--train-scale", str(scale), "--cache", cache, "--nproc", str(nproc), "--checkpoint-every", "1e9"]
        start = time.monotonic()
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
        wall = time.monotonic() - start
        key = out.split()[1]
        with open(os.path.join(cache, "models", key, "manifest.json")) as fh:
            metrics = json.load(fh)["metrics"]
    return {"steps_per_s": steps / metrics["elapsed_s"], "wall_s": wall, "train_psnr_db": metrics["train_psnr_db"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", default="davis-bear")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--nproc", default="1,2")
    ap.add_argument("--train-scale", type=float, default=0.6)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    require_clips()
    rows = []
    for n in (int(v) for v in args.nproc.split(",")):
        runs = [run(args.clip, args.steps, n, args.train_scale) for _ in range(args.repeats)]
        row = {"nproc": n, **{k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    for r in rows:
        r["speedup"] = round(r["steps_per_s"] / rows[0]["steps_per_s"], 2)
        print(f"nproc {r['nproc']}: {r['steps_per_s']:.2f} steps/s ({r['speedup']}x), wall {r['wall_s']:.1f} s, "
              f"trained-frame PSNR {r['train_psnr_db']:.2f} dB")
    print(save_results("scale_out", {"clip": args.clip, "steps": args.steps, "train_scale": args.train_scale,
                                     "cpus": os.cpu_count(), "rows": rows}))


if __name__ == "__main__":
    main()
