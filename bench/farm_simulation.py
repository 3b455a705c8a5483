"""A render farm on this machine: `vsae farm openjd` writes the job, `openjd run` runs its training task and then its
render chunks, two tasks at once (each with half the cores), beside one `vsae retime` process doing the same work.

    python bench/farm_simulation.py                     # 100-frame 512x256 procedural shot, Retime 2x, 8 chunks
    python bench/farm_simulation.py --steps 200 --frames 24 --chunks 4

Reports the wall time of each (the farm's: training task, then the chunks two at a time), checks every frame of the
farm render against the single render byte for byte, and that the cache holds one model and no lock or temp file.
Needs openjd-cli (in the test extra). No shared clips: the shot is vsae's own procedural one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from common import ROOT, save_results


def openjd() -> str:
    found = shutil.which("openjd", path=os.path.dirname(sys.executable)) or shutil.which("openjd")
    if not found:
        sys.exit("bench: openjd-cli not installed (pip install -e '.[test]')")
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--steps", type=int, default=600, help="training steps (the same in both runs)")
    ap.add_argument("--chunks", type=int, default=8)
    ap.add_argument("--parallel", type=int, default=2, help="render tasks at once")
    ap.add_argument("--tag", default=None)
    args = ap.parse_args()
    from vsae.core.demo.procedural import ProceduralShot

    work = tempfile.mkdtemp(prefix="vsae-farm-bench-")
    try:
        plates = ProceduralShot(width=512, height=256, frames=args.frames).write(os.path.join(work, "shot"))["plates"]
        training = ["--steps", str(args.steps), "--checkpoint-every", "1e9"]
        vsae = [sys.executable, "-m", "vsae.cli"]
        retime = ["retime", plates, "--speed", "0.5", *training]
        plan = json.loads(subprocess.run([*vsae, *retime, "--print-range"], check=True, capture_output=True,
                                         text=True, cwd=ROOT).stdout)
        chunk = -(-plan["count"] // args.chunks)

        start = time.monotonic()
        subprocess.run([*vsae, *retime, "--cache", os.path.join(work, "cache1"), "--progress", "json",
                        "-o", os.path.join(work, "single", "rt.####.exr")], check=True, capture_output=True, cwd=ROOT)
        single_s = time.monotonic() - start

        cache = os.path.join(work, "cache2")
        job = os.path.join(work, "job")
        subprocess.run([*vsae, "farm", "openjd", *retime, "--cache", cache, "-o",
                        os.path.join(work, "farm", "rt.####.exr"), "--chunk", str(chunk), "--job-dir", job],
                       check=True, capture_output=True, cwd=ROOT)
        template = os.path.join(job, "template.json")
        with open(template) as fh:
            chunks = json.load(fh)["steps"][-1]["parameterSpace"]["taskParameterDefinitions"][0]["range"]
        start = time.monotonic()
        subprocess.run([openjd(), "run", template, "--step", "Train"], check=True, capture_output=True)
        train_s = time.monotonic() - start
        env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 2) // args.parallel))}
        runners = []
        for i in range(args.parallel):  # one openjd session per worker, each taking every parallel-th chunk
            mine = [{"Frames": c} for c in chunks[i::args.parallel]]
            runners.append(subprocess.Popen([openjd(), "run", template, "--step", "Render", "--no-run-dependencies",
                                             "--tasks", json.dumps(mine)], stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, env=env))
        assert all(r.wait() == 0 for r in runners), "a render session failed"
        farm_s = time.monotonic() - start + train_s

        names = sorted(os.listdir(os.path.join(work, "single")))
        def data(folder: str, name: str) -> bytes:
            with open(os.path.join(work, folder, name), "rb") as fh:
                return fh.read()

        same = sum(data("single", n) == data("farm", n) for n in names)
        leftovers = [os.path.join(d, f) for d, _, files in os.walk(cache) for f in files
                     if f.endswith((".lock", ".break")) or f.startswith(".")]
        row = {"frames_out": len(names), "chunks": len(chunks), "parallel": args.parallel, "steps": args.steps,
               "single_s": round(single_s, 1), "farm_train_s": round(train_s, 1), "farm_s": round(farm_s, 1),
               "farm_over_single": round(farm_s / single_s, 3), "identical_frames": same,
               "models_in_cache": len(os.listdir(os.path.join(cache, "models"))), "leftover_files": leftovers}
        print(json.dumps(row, indent=1))
        print(save_results("farm_simulation", row, run=args.tag))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
