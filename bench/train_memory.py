"""Peak resident memory while training a 100-frame 1920x1080 shot (target <= 4 GiB).

    python bench/train_memory.py [--frames 100] [--steps 20] [--train-args "--degrade 0.5 --half-width 16"]

Writes a procedural 1080p shot (8-bit PNG, as a delivered plate might be) to a temp folder, then runs
``vsae train`` on it in a child process: loading every frame, crops and full-frame steps, the final batch-norm pass,
evaluation, ONNX export and latents. Peak RSS of the child from getrusage.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time

from common import save_results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--train-args", default="", help="more `vsae train` options, as one string")
    ap.add_argument("--tag", default="", help="suffix of the results file")
    args = ap.parse_args()
    from vsae.core.demo.procedural import ProceduralShot
    from vsae.core.io.sequence import Frame, write_image

    with tempfile.TemporaryDirectory() as folder:
        shot = ProceduralShot(width=1920, height=1080, frames=args.frames)
        for i in range(args.frames):
            rgb, _ = shot.render(float(i))
            write_image(os.path.join(folder, "plates", f"shot.{1001 + i:04d}.png"), Frame(rgb=rgb, pixel_type="uint8"))
        t = time.time()
        env = {**os.environ, "VSAE_CACHE": os.path.join(folder, "cache")}
        subprocess.run([sys.executable, "-m", "vsae.cli", "train", os.path.join(folder, "plates", "shot.####.png"),
                        "--steps", str(args.steps), "--checkpoint-every", "1e9", *shlex.split(args.train_args)],
                       env=env, check=True)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    row = {"frames": args.frames, "size": [1920, 1080], "steps": args.steps, "train_args": args.train_args,
           "peak_rss_mib": round(peak),
           "wall_s": round(time.time() - t, 1)}
    print(f"training {args.frames} frames of 1920x1080: peak RSS {peak:.0f} MiB ({peak / 1024:.2f} GiB)")
    print(save_results("train_memory", row, run=args.tag))


if __name__ == "__main__":
    main()
