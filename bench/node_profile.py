"""Node profile: where each node's render time goes, stage by stage, beside the bare model in the same process.

    python bench/node_profile.py                                  # every node at 512x256 and 1920x1080
    python bench/node_profile.py --nodes upres --sizes 1920x1080
    python bench/node_profile.py --sizes 256x128 --frames 4 --save DIR   # the frames too (compare two runs' pixels)
    python bench/node_profile.py --memory                         # node renders as a host calls them, no files
    python bench/node_profile.py --cli --nodes upres --sizes 1920x1080   # through `vsae upres`, start-up cancelled
    python bench/node_profile.py --cli --nodes upres --sizes 1920x1080 --backend torch --precision bf16

Each (node, size) runs in its own process: a procedural shot of ``--frames`` half-float EXR frames (smooth texture
drifting a few pixels a frame, so flow has motion to find) is rendered to EXR files through
``vsae.plugin.render_files`` (what `vsae <node>` and farm tasks run), with the default model's shape (random
weights, seed 0: speed does not depend on the weights), its ONNX graphs exported as the cache does, backend ``auto``.
Upres and Conform get frames of half the size, so that their output is the size named. With ``--memory`` the
frames are read before the clock starts and each output frame is ``node.render`` over a RenderContext of frames in
memory, as a host (OpenFX, Nuke) hands them over and takes the result: no file is read or written.

Stages (exclusive time: a stage called inside another counts for itself only), per output frame, median of
``--repeats`` renders after one warm-up render:
read (file to scene-linear frame), colour (scene-linear <-> working range), layout (channels last <-> first),
padding (to the model's stride and back), model (encoder/decoder/reprojection runs), codes (Mask Propagate's pixel
codes: the encoder's stages run by torch), resize (resampling and Upres's back-projection), flow (DIS optical flow;
for Clean Plate its whole temporal fill), match (Mask Propagate's code matching), write (frame to file), other (the
rest). Work on the renderer's reader and writer threads is listed apart (``background``): it overlaps the main
thread's and is not part of its sum.

``bare``: the model calls the render made (recorded with their shapes), run again alone on the same backend right
after each render: the node's ceiling. ``ratio`` = bare / render time (1.0: the node costs what its model calls
cost); the row reported is the repeat with the median ratio.
``--cli``: the row's `vsae` command (reconstruct, or the node) run on the shot as a farm task runs it, its model
trained for one step into a cache folder first (default shape): seconds per frame = (a render of frames 2 to
frames-1 - a render of frame 2) / (frames - 3), so start-up, model loading, training checks and the results of
frame 2's neighbours (Upres with temporal 1 makes them for frame 2 alone too) cancel; each repeat
followed by ``bare``, the model calls of one in-memory render of the row run alone in this process (the machine's
pace, which drifts, falls on both); the repeat of median ratio.

``floor``: bare + the pixel codes, flow and matching the node needs (Retime hybrid, Clean Plate, Mask Propagate,
Paint, Upres with temporal neighbours), ``ratio_floor`` = floor / render time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

from common import save_results
from model_contribution import ArrayClip

SIZES = "512x256,1920x1080"
# Each row: node name, parameters (sizes in the shot's pixels are filled in per size), whether the source is half
# the output size.
ROWS = {
    "reconstruct": ("reconstruct", {}, False),
    "retime_latent": ("retime", {"speed": 0.5, "method": "latent"}, False),
    "retime_hybrid": ("retime", {"speed": 0.5}, False),
    "upres": ("upres", {"factor": 2, "iterations": 5}, True),
    "upres_t0": ("upres", {"factor": 2, "iterations": 5, "temporal": 0}, True),
    "clean_plate": ("clean_plate", {"boxes": "{box}"}, False),
    "mask_propagate": ("mask_propagate", {"boxes": "1:{box}"}, False),
    "extend": ("extend", {"right": "{eighth}"}, False),
    "stretch": ("stretch", {"scale_x": 1.5}, False),
    "stitch": ("stitch", {"offsets": "0,1"}, False),
    "paint": ("paint", {"boxes": "{box}", "offset": 1, "iterations": 2}, False),
    "loop": ("loop", {"loop_first": 1, "loop_last": "{last}", "transition": 2}, False),
    "conform": ("conform", {"factor": 2}, True),
}
STAGES = ("read", "colour", "layout", "padding", "model", "codes", "resize", "flow", "match", "write", "other")
FLOOR_STAGES = ("codes", "flow", "match")


class StageClock:
    """Exclusive time per stage, per thread: entering a stage pauses the one it was called from."""

    def __init__(self):
        self.totals: dict = {}
        self.local = threading.local()
        self.lock = threading.Lock()

    def wrap(self, stage: str, fn):
        clock = self

        def timed(*args, **kwargs):
            stack = getattr(clock.local, "stack", None)
            if stack is None:
                stack = clock.local.stack = []
            now = time.perf_counter()
            if stack:
                clock._add(stack[-1][0], now - stack[-1][1])
            stack.append([stage, now])
            try:
                return fn(*args, **kwargs)
            finally:
                end = time.perf_counter()
                name, since = stack.pop()
                clock._add(name, end - since)
                if stack:
                    stack[-1][1] = end

        timed.__wrapped__ = fn
        return timed

    def _add(self, stage: str, seconds: float) -> None:
        thread = "main" if threading.current_thread() is threading.main_thread() else "background"
        with self.lock:
            self.totals[(thread, stage)] = self.totals.get((thread, stage), 0.0) + seconds


def patch_everywhere(target, replacement) -> None:
    """``target`` replaced by ``replacement`` in every loaded vsae module that holds it (a function imported by name
    elsewhere is found there too)."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("vsae") or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if value is target:
                setattr(module, attr, replacement)


def instrument(clock: StageClock, calls: list):
    """The stages' functions timed by ``clock`` wherever they are called from, model calls recorded in ``calls``;
    returns the model's own call, untimed and unrecorded (the bare model)."""
    import importlib

    from vsae.core.model.shot_model import ShotModel
    from vsae.plugin.nodes import NODES

    for spec in NODES.values():
        importlib.import_module(spec.partition(":")[0])
    import vsae.cli.frames  # noqa: F401  (reconstruct's loop)

    targets = {
        "read": ["vsae.core.io.sequence:read_image"],
        "write": ["vsae.core.io.sequence:write_image"],
        "colour": ["vsae.core.colour:to_working", "vsae.core.colour:from_working"],
        "layout": ["vsae.core.model.inference:to_bchw", "vsae.core.model.inference:frame_to_working",
                   "vsae.core.model.inference:working_to_frame"],
        "padding": ["vsae.core.model.shot_model:pad_array", "vsae.core.model.shot_model:crop_padding"],
        "resize": ["vsae.core.ops.upres:resize", "vsae.core.ops.upres:keep_low_frequencies"],
        "flow": ["vsae.core.ops.retime:flow_pair", "vsae.core.ops.clean_plate:temporal_fill"],
        "match": ["vsae.core.ops.mask_propagate:propagate_step"],
        "codes": ["vsae.core.ops.pixel_codes:hypercolumns"],
    }
    for stage, names in targets.items():
        for name in names:
            module_name, _, attr = name.partition(":")
            fn = getattr(importlib.import_module(module_name), attr)
            patch_everywhere(fn, clock.wrap(stage, fn))
    run = ShotModel._run

    def recorded(self, graph, x):
        calls.append((self, graph, tuple(x.shape)))
        return run(self, graph, x)

    ShotModel._run = clock.wrap("model", recorded)
    return run


def make_shot(folder: str, width: int, height: int, frames: int):
    """Half-float EXR frames 1..frames of a smooth random texture drifting (3, 2) pixels a frame."""
    import cv2
    import numpy as np

    from vsae.core.io.sequence import Frame, open_shot, write_image

    rng = np.random.default_rng(0)
    margin = 4 * frames + 8
    base = rng.uniform(0.02, 0.8, (height // 16 + 4, width // 16 + 4, 3)).astype(np.float32)
    big = cv2.resize(base, (width + margin, height + margin), interpolation=cv2.INTER_CUBIC)
    for n in range(1, frames + 1):
        dx, dy = 3 * n, 2 * n
        write_image(os.path.join(folder, f"plate.{n:04d}.exr"),
                    Frame(rgb=np.ascontiguousarray(big[dy:dy + height, dx:dx + width]).clip(0, None),
                          pixel_type="half"))
    return open_shot(os.path.join(folder, "plate.####.exr"))


def node_params(row: str, width: int, height: int, frames: int) -> tuple[str, dict, bool]:
    name, params, half = ROWS[row]
    w, h = (width // 2, height // 2) if half else (width, height)
    fill = {"box": f"{w * 3 // 8},{h * 3 // 8},{w * 5 // 8},{h * 5 // 8}", "eighth": str(w // 8), "last": str(frames)}
    out = {}
    for key, value in params.items():
        out[key] = value.format(**fill) if isinstance(value, str) else value
        if isinstance(value, str) and value.startswith("{") and value.strip("{}") in ("eighth", "last"):
            out[key] = int(out[key])
    return name, out, half


def render_once(row: str, params: dict, seq, model, pattern: str | None) -> list[int]:
    """The render a `vsae` command makes (a node through render_files, or reconstruct's own loop), or with no
    ``pattern`` the frames a host asks of the node, one after another, from frames in memory (``seq`` an ArrayClip)."""
    from vsae.plugin.nodes import load_node
    from vsae.plugin import render_files

    if pattern is None:
        if row == "reconstruct":
            from vsae.core.model.inference import reconstruct

            for n in seq.frames:
                reconstruct(model, seq.read(n).rgb)
            return list(seq.frames)
        node = load_node(ROWS[row][0])
        resolved = node.resolve(params)
        context = render_files.file_context(seq, lambda: model)
        wanted = list(node.output_frames(resolved, seq.frames))
        for frame in wanted:
            node.render(frame, resolved, context)
        return wanted
    if row == "reconstruct":
        from vsae.core.io.sequence import output_paths

        return render_files.reconstruct_to_files(seq, output_paths(pattern, seq.frames, [seq]), model)
    node = load_node(ROWS[row][0])
    return render_files.render_to_files(node, node.resolve(params), seq, pattern, lambda: model)


def row_setup(row: str, size: str, frames: int, backend: str, precision: str):
    """A row's shot (procedural EXR frames in a new folder) and the default model's shape (random weights, seed 0,
    its ONNX graphs exported): (node name, parameters, folder, shot, ShotModel)."""
    import torch

    from vsae.core.model.autoencoder import ModelConfig, ShotAutoencoder
    from vsae.core.model.export import export_onnx
    from vsae.core.model.shot_model import ShotModel

    width, height = map(int, size.split("x"))
    name, params, half = node_params(row, width, height, frames)
    folder = tempfile.mkdtemp(prefix="vsae-profile-")
    seq = make_shot(folder, width // 2 if half else width, height // 2 if half else height, frames)
    torch.manual_seed(0)
    config = ModelConfig()
    state = ShotAutoencoder(config).state_dict()
    export_onnx(ShotModel(config, state), folder)
    return name, params, folder, seq, ShotModel(config, state, onnx_dir=folder, backend=backend, precision=precision)


def measure(row: str, size: str, frames: int, repeats: int, backend: str, save: str | None, memory: bool,
            precision: str = "fp32") -> dict:
    import numpy as np

    name, params, folder, seq, model = row_setup(row, size, frames, backend, precision)
    clock, calls = StageClock(), []
    bare_run = instrument(clock, calls)
    if memory:
        seq = ArrayClip({n: seq.read(n) for n in seq.frames})  # read before the clock starts, as a host holds them
    render_once(row, params, seq, model, None if memory else os.path.join(folder, "warm", "f.####.exr"))
    rng = np.random.default_rng(1)
    runs = []
    for r in range(repeats):  # each render followed by its own model calls alone: the machine's pace falls on both
        clock.totals.clear()
        calls.clear()
        pattern = None if memory else os.path.join(save if save and r == 0 else os.path.join(folder, f"run{r}"),
                                                   f"{row}.####.exr")
        start = time.perf_counter()
        written = render_once(row, params, seq, model, pattern)
        wall = time.perf_counter() - start
        inputs = [(m, g, rng.uniform(-0.5, 0.5, shape).astype(np.float32)) for m, g, shape in calls]
        start = time.perf_counter()
        for m, g, x in inputs:  # the same calls, inputs of the recorded shapes, in the order made
            bare_run(m, g, x)
        bare_wall = time.perf_counter() - start
        runs.append((bare_wall / wall, wall / len(written), bare_wall / len(written), dict(clock.totals), len(calls),
                     len(written)))
    runs.sort(key=lambda run: run[0])
    ratio, per_frame, bare, totals, call_count, count = runs[len(runs) // 2]  # the run of the median ratio
    stages = {s: totals.get(("main", s), 0.0) / count for s in STAGES if s != "other"}
    stages["other"] = per_frame - sum(stages.values())
    background = {s: round(t / count * 1000, 1) for (thread, s), t in totals.items() if thread == "background"}
    floor = bare + sum(stages[s] for s in FLOOR_STAGES)
    return {"row": row, "node": name, "size": size, "frames": count, "backend": model.resolved_backend(),
            "files": not memory, "precision": precision,
            "ms_per_frame": round(per_frame * 1000, 1),
            "stages_ms": {s: round(t * 1000, 1) for s, t in stages.items()},
            "background_ms": background, "model_calls_per_frame": round(call_count / count, 2),
            "bare_ms": round(bare * 1000, 1), "ratio": round(ratio, 3),
            "floor_ms": round(floor * 1000, 1), "ratio_floor": round(floor / per_frame, 3)}


def measure_cli(row: str, size: str, frames: int, repeats: int, backend: str, precision: str = "fp32") -> dict:
    width, height = map(int, size.split("x"))
    name, params, half = node_params(row, width, height, frames)
    folder = tempfile.mkdtemp(prefix="vsae-profile-")
    make_shot(folder, width // 2 if half else width, height // 2 if half else height, frames)
    command = [sys.executable, "-m", "vsae.cli", name.replace("_", "-"), os.path.join(folder, "plate.####.exr"),
               "--steps", "1", "--cache", os.path.join(folder, "cache"), "--backend", backend, "--progress", "plain",
               "--render-precision", precision]
    for key, value in params.items():
        command += [f"--{key.replace('_', '-')}", str(value)]

    def run(frame_range: str, out: str) -> float:
        start = time.perf_counter()
        subprocess.run(command + ["-o", os.path.join(folder, out, "f.####.exr"), "--render", frame_range],
                       check=True, capture_output=True)
        return time.perf_counter() - start

    run("1", "train")  # trains the one-step model and exports its graphs: not timed
    bare_frame = bare_calls(row, size, frames, backend, precision)
    runs = []
    for r in range(repeats):  # each command's frames beside the same model calls alone: the machine's pace on both
        # Frame 2 alone, then frames 2 .. frames-1: a temporal node's results for frames 1 to 3 (frame 2 and its
        # neighbours) are in both, so the difference is frames - 3 frames' work, each with its own result.
        one, every = run("2", f"one{r}"), run(f"2-{frames - 1}", f"every{r}")
        cli, bare = (every - one) / (frames - 3), bare_frame()
        runs.append((bare / cli, cli, bare))
    runs.sort()
    ratio, cli, bare = runs[len(runs) // 2]  # the repeat of median ratio
    return {"row": row, "node": name, "size": size, "frames": frames, "precision": precision,
            "cli_ms_per_frame": round(cli * 1000, 1), "bare_ms": round(bare * 1000, 1), "ratio": round(ratio, 3),
            "cli_ms_all": sorted(round(c * 1000, 1) for _, c, _ in runs), "backend": backend}


def bare_calls(row: str, size: str, frames: int, backend: str, precision: str):
    """A function that runs the model calls of one in-memory render of ``row`` (recorded with their shapes), alone,
    on the same backend and precision, and returns their seconds per output frame."""
    import numpy as np

    _, params, _, seq, model = row_setup(row, size, frames, backend, precision)
    calls: list = []
    bare_run = instrument(StageClock(), calls)
    written = render_once(row, params, ArrayClip({n: seq.read(n) for n in seq.frames}), model, None)
    rng = np.random.default_rng(1)
    inputs = [(m, g, rng.uniform(-0.5, 0.5, shape).astype(np.float32)) for m, g, shape in calls]
    for m, g, x in inputs[:2]:  # warm-up
        bare_run(m, g, x)

    def once() -> float:
        start = time.perf_counter()
        for m, g, x in inputs:
            bare_run(m, g, x)
        return (time.perf_counter() - start) / len(written)

    return once


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", default=",".join(ROWS), help=f"rows, of: {', '.join(ROWS)}")
    ap.add_argument("--sizes", default=SIZES, help="output sizes WxH")
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--backend", default="auto", choices=("auto", "onnx", "torch"))
    ap.add_argument("--save", help="write the first timed render's frames to this folder (one per row and size)")
    ap.add_argument("--memory", action="store_true", help="render from frames in memory, as a host does (no files)")
    ap.add_argument("--cli", action="store_true", help="through the `vsae` command, per frame with start-up cancelled")
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"),
                    help="the model's inference precision (bf16: torch only, with --backend torch)")
    ap.add_argument("--name", default="default", help="the run's name in bench/results/node_profile.json")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cli and args.frames < 5:
        ap.error("--cli needs --frames 5 or more (frame 2 alone against frames 2 to frames-1)")
    if args.precision == "bf16" and args.backend != "torch":
        ap.error("--precision bf16 runs torch: give --backend torch")
    if args.one:
        row, size = args.one.split(":")
        save = os.path.join(args.save, size) if args.save else None
        if args.cli:
            print(json.dumps(measure_cli(row, size, args.frames, args.repeats, args.backend, args.precision)))
        else:
            print(json.dumps(measure(row, size, args.frames, args.repeats, args.backend, save, args.memory,
                                     args.precision)))
        return
    rows = []
    for size in args.sizes.split(","):
        for row in args.nodes.split(","):
            out = subprocess.run([sys.executable, __file__, "--one", f"{row}:{size}", "--frames", str(args.frames),
                                  "--repeats", str(args.repeats), "--backend", args.backend,
                                  "--precision", args.precision]
                                 + (["--save", args.save] if args.save else []) + (["--memory"] if args.memory else [])
                                 + (["--cli"] if args.cli else []),
                                 capture_output=True, text=True)
            if out.returncode:
                print(f"{row} {size}: failed\n{out.stderr[-3000:]}", flush=True)
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(r)
            if args.cli:
                print(f"{row:>15s} {size:>9s} {r['backend']:5s} {r['precision']} `vsae {r['node']}` "
                      f"{r['cli_ms_per_frame']:8.1f} ms/frame (repeats {r['cli_ms_all']}); bare "
                      f"{r['bare_ms']:.1f} beside it, ratio {r['ratio']:.2f}", flush=True)
                continue
            parts = " ".join(f"{s} {t:.0f}" for s, t in r["stages_ms"].items() if t >= 0.5 or s == "other")
            bg = " ".join(f"{s} {t:.0f}" for s, t in r["background_ms"].items())
            print(f"{row:>15s} {size:>9s} {r['backend']:5s} {r['ms_per_frame']:8.1f} ms/frame  bare "
                  f"{r['bare_ms']:7.1f} ({r['model_calls_per_frame']} calls) ratio {r['ratio']:.2f} floor "
                  f"{r['ratio_floor']:.2f} | {parts}" + (f" | background: {bg}" if bg else ""), flush=True)
    # The record's summary (bench/records.py shows a run's "mean"): each row's ratio to its bare model calls.
    summary = {f"{r['row']} {r['size']}": {"ratio": r["ratio"], **({"floor": r["ratio_floor"]} if "ratio_floor" in r
                                                                    and r["ratio_floor"] != r["ratio"] else {})}
               for r in rows}
    print(save_results("node_profile", {"frames": args.frames, "repeats": args.repeats, "backend": args.backend,
                                        "precision": args.precision,
                                        "files": not args.memory, "cli": args.cli,
                                        "model": "default shape, random weights", "mean": summary,
                                        "rows": rows}, run=args.name))


if __name__ == "__main__":
    main()
