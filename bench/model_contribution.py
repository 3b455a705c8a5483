"""What the shot model adds to each node: the node as shipped beside the same node with the model's part switched
off, on frames the model never trained on (../shared/BENCHMARKS.md, "Model contribution"), for models trained for
each budget. Every render goes through the node definitions (``plugin/nodes``) and the file renderer's context, the
code the CLI and the OFX bridge run; nothing here re-implements a node.

Per clip (512x256, trained on the even frames; odd frames held out) and per training budget:
- model: reconstruction PSNR on trained and held-out frames (one reprojection; with a reprojection skip, also
  the held-out frames decoded from the latent alone);
- retime: hybrid (shipped) vs flow (its warp alone) at each odd frame from its even neighbours;
- upres 8x: shipped vs iterations 0 (its first guess with detail preserve, no reprojection) vs bicubic;
- clean plate: shipped (temporal fill + 5 reprojections) vs iterations 0, inside foreign-box holes
  (``clean_plate_quality.foreign_holes``) on the odd frames;
- averages: Explore's latent averages of four clusters vs the per-pixel means of the same frames (sharpness);
- canvas: Stitch and Extend (mirror) seam energy before and after reprojection (bench/canvas_seams.py).
Mask Propagate's codes against colour alone and DIS flow, with settings chosen on other clips, are
bench/mask_propagate_quality.py's (``--choose-on``).

    python bench/model_contribution.py --budgets 1m,5m                  # all eight DAVIS clips
    python bench/model_contribution.py --clips davis-bear --budgets 1m --limit 6
    python bench/model_contribution.py --budgets 5m --replay             # train by the recorded steps (busy machine)
    python bench/model_contribution.py --budgets 5m --set motion_weight=0 --tag mw0
    python bench/model_contribution.py --budgets 1m --init-from procedural --tag prior   # from the shipped prior
    python bench/model_contribution.py --budgets 1m --prior-of davis-bear,davis-cows --clips davis-surf
    python bench/model_contribution.py --budgets 1m --set skip_scale=16 --nodes upres,clean_plate

Models go to bench/models/ keyed by clip, budget and settings, with their steps and seconds; ``--replay`` trains a
missing model by the steps recorded in results/model_contribution.json ("model_steps") instead of by the clock.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time

import numpy as np

from common import (DAVIS, HERE, PAPER_SIZE, display_to_working, load_clip, require_clips, save_results,
                    working_to_display)
from records import load_record, write_record

MODELS = os.path.join(HERE, "models")


class ArrayClip:
    """A clip held in memory with the two members the file renderer's context reads (``frames``, ``read``)."""

    def __init__(self, frames: dict):
        self._frames = frames
        self.frames = sorted(frames)

    def read(self, number: int):
        return self._frames[number]


def linear_clip(display: np.ndarray, numbers) -> ArrayClip:
    from vsae.core.colour import srgb_to_linear
    from vsae.core.io.sequence import Frame

    return ArrayClip({int(n): Frame(rgb=srgb_to_linear(img).astype(np.float32), pixel_type="uint8")
                      for n, img in zip(numbers, display)})


def to_display(frame) -> np.ndarray:
    from vsae.core.colour import linear_to_srgb

    return np.clip(linear_to_srgb(frame.rgb), 0, 1)


def budget_model(clip: str, budget_s: float, working: np.ndarray, overrides: dict, replay: bool,
                 init: tuple[str, dict] | None = None):
    """The ShotModel of ``clip`` trained on its even frames for ``budget_s`` (torch backend), and its metrics;
    ``init``: (name, weights) of a prior to start from."""
    from vsae.core.progress import Progress
    from vsae.core.settings import TrainSettings
    from vsae.core.model.shot_model import ShotModel
    from vsae.core.training.trainer import train

    key = json.dumps({"clip": clip, "budget_s": budget_s, **overrides, **({"init": init[0]} if init else {})},
                     sort_keys=True)
    name = f"contrib-{clip}-{int(budget_s)}s-{hashlib.sha1(key.encode()).hexdigest()[:10]}"
    path = os.path.join(MODELS, f"{name}.safetensors")
    if os.path.exists(path):
        model = ShotModel.load(path, backend="torch")
        return model, model.meta
    recorded = load_record("model_contribution").get("model_steps", {})
    if replay and name in recorded:
        settings = TrainSettings(budget_s=None, steps=recorded[name], checkpoint_every_s=1e9, **overrides)
    else:
        settings = TrainSettings(budget_s=budget_s, checkpoint_every_s=1e9, **overrides)
    progress = Progress(f"train {clip} {budget_s:g}s", interval=60)
    result = train(working[0::2].astype(np.float16), settings, init_state=init[1] if init else None,
                   progress=progress)
    progress.close()
    meta = {"clip": clip, "budget_s": budget_s, "overrides": overrides, "init": init[0] if init else None,
            **result.metrics}
    model = ShotModel(settings.model_config, result.state_dict, meta=meta, backend="torch")
    os.makedirs(MODELS, exist_ok=True)
    model.save(path)
    record = load_record("model_contribution")  # read again: another run may have recorded since
    record.setdefault("model_steps", {})[name] = result.steps
    write_record(record)
    return model, meta


def bench_prior(clips: list[str], steps: int) -> tuple[str, dict]:
    """A prior of these DAVIS clips' even frames, trained by the shipped ``train_prior`` and kept in bench/models
    (DAVIS is non-commercial: such a prior measures what a sequence prior buys, and is never shipped)."""
    from vsae.core.training.prior import train_prior
    from vsae.core.progress import Progress
    from vsae.core.settings import TrainSettings
    from vsae.core.model.shot_model import ShotModel

    name = f"prior-{'+'.join(c.replace('davis-', '') for c in clips)}-{steps}"
    path = os.path.join(MODELS, f"{name}.safetensors")
    if not os.path.exists(path):
        settings = TrainSettings(budget_s=None, steps=steps, checkpoint_every_s=1e9)
        progress = Progress(f"prior {name}", interval=60)
        result = train_prior([display_to_working(load_clip(c))[0::2].astype(np.float16) for c in clips], settings,
                             progress=progress)
        progress.close()
        os.makedirs(MODELS, exist_ok=True)
        ShotModel(settings.model_config, result.state_dict, meta={"clips": clips, **result.metrics}).save(path)
    return name, ShotModel.load(path).state


def reconstruction(model, working, display, indices, latent: bool = False) -> float:
    """Mean PSNR of one reprojection of these frames; ``latent``: decoded from the latent alone (differs from the
    reprojection only where the model has a reprojection skip)."""
    from vsae.core.metrics import psnr

    out = []
    for i in indices:
        x = working[i:i + 1].transpose(0, 3, 1, 2)
        y = (model.decode(*model.encode(x)) if latent else model.reproject(x))[0].transpose(1, 2, 0)
        out.append(psnr(np.clip(working_to_display(y), 0, 1), display[i]))
    return float(np.mean(out))


def score_averages(clip, model, working) -> dict:
    """Explore's latent averages (k=4 clusters of the latent map, 3 reprojections) beside the per-pixel means of
    the same frames: sharpness and PSNR to the nearest real frame (bench/explore_quality.py)."""
    from explore_quality import cluster_figures

    r = cluster_figures(clip, 4, 3, model=model, frames=working)
    return {"average_sharpness_ratio": r["sharp_latent"] / r["sharp_pixel"],
            "average_sharp_latent": r["sharp_latent"], "average_sharp_pixel": r["sharp_pixel"],
            "average_psnr_latent": r["psnr_latent_nearest"], "average_psnr_pixel": r["psnr_pixel_nearest"]}


def score_canvas(model, working, sheet_path: str) -> dict:
    """Stitch and Extend (mirror, the node's default) seam energy before / after the model on two frames
    (bench/canvas_seams.py; 1.0: a seam shows no more than any column; a mirror has no seam, its fault is the
    mirrored copy, which only the sheet shows), and the before | after sheet of the first of them."""
    from canvas_seams import seam_figures, write_sheet

    figures, sheet = seam_figures(model, working, iterations=5, samples=2)
    write_sheet(sheet, sheet_path)
    return {k: float(np.mean(figures[k])) for k in ("stitch_before", "stitch_after", "extend_mirror_before",
                                                     "extend_mirror_after")}


def score_retime(model, display, odd, methods=("hybrid", "flow")) -> dict:
    """Odd frame t rendered by Retime at half speed over the even frames (source frame k = clip frame 2k)."""
    from vsae.core.metrics import psnr
    from vsae.plugin.nodes import load_node
    from vsae.plugin.render_files import file_context

    node = load_node("retime")
    even = linear_clip(display[0::2], range(len(display[0::2])))
    context = file_context(even, lambda: model)
    out = {}
    for method in methods:
        params = node.resolve({"speed": 0.5, "method": method, "output_first": 0})
        out[f"retime_{method}"] = float(np.mean([psnr(to_display(node.render(t, params, context)), display[t])
                                                 for t in odd if t < 2 * (len(even.frames) - 1)]))
    return out


def score_upres(model, display, odd, factor: int = 8) -> dict:
    import cv2

    from vsae.core.metrics import psnr
    from vsae.plugin.nodes import load_node
    from vsae.plugin.render_files import file_context

    node = load_node("upres")
    small = (PAPER_SIZE[0] // factor, PAPER_SIZE[1] // factor)
    lows = np.stack([cv2.resize(display[t], small, interpolation=cv2.INTER_AREA) for t in odd])
    context = file_context(linear_clip(lows, odd), lambda: model)
    scores = {"bicubic": [], "shipped": [], "no_reprojection": []}
    shipped = node.resolve({"width": PAPER_SIZE[0], "height": PAPER_SIZE[1]})
    first_guess = node.resolve({"width": PAPER_SIZE[0], "height": PAPER_SIZE[1], "iterations": 0})
    for low, t in zip(lows, odd):
        scores["bicubic"].append(psnr(np.clip(cv2.resize(low, PAPER_SIZE, interpolation=cv2.INTER_CUBIC), 0, 1),
                                      display[t]))
        scores["shipped"].append(psnr(to_display(node.render(t, shipped, context)), display[t]))
        scores["no_reprojection"].append(psnr(to_display(node.render(t, first_guess, context)), display[t]))
    return {f"upres{factor}x_{k}": float(np.mean(v)) for k, v in scores.items()}


def score_clean_plate(model, clip, display, odd) -> dict:
    from vsae.core.metrics import psnr
    from vsae.core.io.sequence import Frame
    from vsae.plugin.nodes import load_node
    from vsae.plugin.render_files import file_context

    from clean_plate_quality import clip_masks, foreign_holes

    holes = foreign_holes(clip_masks(clip), clip_masks(DAVIS[(DAVIS.index(clip) + 1) % len(DAVIS)]))
    numbers = range(len(display))
    mattes = ArrayClip({n: Frame(rgb=np.repeat(h[:, :, None], 3, axis=2).astype(np.float32),
                                 alpha=h[:, :, None].astype(np.float32)) for n, h in zip(numbers, holes)})
    context = file_context(linear_clip(display, numbers), lambda: model, extra={"matte": mattes})
    node = load_node("clean_plate")
    out = {}
    for name, iterations in (("shipped", None), ("no_reprojection", 0)):
        params = node.resolve({} if iterations is None else {"iterations": iterations})
        out[f"clean_plate_{name}"] = float(np.mean([
            psnr(to_display(node.render(t, params, context))[holes[t]], display[t][holes[t]]) for t in odd]))
    return out


def main():
    from vsae.core.settings import parse_duration

    from train_quality import parse_value

    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS))
    ap.add_argument("--budgets", default="1m,5m")
    ap.add_argument("--limit", type=int, default=None, help="score only the first N odd frames of each clip")
    ap.add_argument("--set", action="append", default=[], help="a TrainSettings field for the models, e.g. k=48")
    ap.add_argument("--replay", action="store_true", help="train missing models by their recorded steps")
    ap.add_argument("--tag", default="", help="suffix of the results file")
    ap.add_argument("--model-only", action="store_true", help="score the model's reconstruction only (no nodes)")
    ap.add_argument("--nodes", default=",".join(NODES),
                    help=f"what to score beside the model (default {','.join(NODES)})")
    ap.add_argument("--init-from", help="start every model from this prior: a shipped name (procedural) or a file")
    ap.add_argument("--prior-of", help="clips (comma-separated) whose even frames make a bench prior to start from")
    ap.add_argument("--prior-steps", type=int, default=20000, help="steps of the --prior-of prior (default 20000)")
    args = ap.parse_args()
    require_clips()
    nodes = [] if args.model_only else [n for n in args.nodes.split(",") if n]
    if set(nodes) - set(NODES):
        ap.error(f"--nodes: expected some of {','.join(NODES)}")
    overrides = {k: parse_value(v) for k, v in (s.split("=", 1) for s in args.set)}
    init = None
    if args.init_from:
        from vsae.core.cache import state_digest
        from vsae.core.training.prior import load_prior

        state = load_prior(args.init_from).state
        init = (f"{os.path.basename(args.init_from)}-{state_digest(state)[:10]}", state)
    elif args.prior_of:
        init = bench_prior(args.prior_of.split(","), args.prior_steps)
    rows = []
    for clip in args.clips.split(","):
        display = load_clip(clip)
        working = display_to_working(display)
        odd = list(range(1, len(display) - 1, 2))[:args.limit]
        for budget in args.budgets.split(","):
            model, meta = budget_model(clip, parse_duration(budget), working, overrides, args.replay, init)
            start = time.monotonic()
            row = {"clip": clip, "budget": budget, "steps": meta.get("steps"), "train_s": meta.get("elapsed_s"),
                   "model_trained": reconstruction(model, working, display, range(0, len(display), 2)),
                   "model_heldout": reconstruction(model, working, display, odd)}
            if model.config.skip_scale:
                row["model_heldout_latent"] = reconstruction(model, working, display, odd, latent=True)
            scorers = {"retime": lambda: score_retime(model, display, odd),
                       "upres": lambda: score_upres(model, display, odd),
                       "clean_plate": lambda: score_clean_plate(model, clip, display, odd),
                       "averages": lambda: score_averages(clip, model, working),
                       "canvas": lambda: score_canvas(model, working, os.path.join(
                           HERE, "results", f"canvas_{clip}_{budget}" + (f"_{args.tag}" if args.tag else "") + ".jpg"))}
            for node in nodes:
                row.update(scorers[node]())
            row = {k: _rounded(v) if isinstance(v, float) else v for k, v in row.items()}
            row["score_s"] = round(time.monotonic() - start, 1)
            print(json.dumps(row), flush=True)
            rows.append(row)
    means = {}
    for budget in args.budgets.split(","):
        sel = [r for r in rows if r["budget"] == budget]
        means[budget] = {k: _rounded(float(np.mean([r[k] for r in sel]))) for k in sel[0] if k in sel[-1]
                         if k not in ("clip", "budget", "steps", "train_s", "score_s")}
    columns = [c for c in COLUMNS if c[0] in rows[0]]
    if all("model_heldout_latent" in r for r in rows):
        columns = [*columns[:2], ("model_heldout_latent", "model held-out, latent"), *columns[2:]]
    print_table(rows, means, columns)
    print(save_results("model_contribution", {"overrides": overrides, "init": init[0] if init else None, "rows": rows,
                                              "mean": means}, run=args.tag))


NODES = ("retime", "upres", "clean_plate", "averages", "canvas")
COLUMNS = [("model_trained", "model trained"), ("model_heldout", "model held-out"),
           ("retime_hybrid", "retime hybrid"), ("retime_flow", "retime flow"),
           ("upres8x_shipped", "upres 8x"), ("upres8x_no_reprojection", "upres 8x no reproj."),
           ("upres8x_bicubic", "bicubic 8x"), ("clean_plate_shipped", "clean plate"),
           ("clean_plate_no_reprojection", "clean plate no reproj."),
           ("average_sharpness_ratio", "latent average / pixel mean sharpness"),
           ("stitch_before", "stitch seam"), ("stitch_after", "stitch seam reproj."),
           ("extend_mirror_before", "extend seam"), ("extend_mirror_after", "extend seam reproj.")]


def _rounded(value: float) -> float:
    return round(value, 2 if abs(value) >= 1 else 5)  # dB and seam energy to 0.01; sharpness (~5e-4) finer


def _cell(value) -> str:
    if value is None:  # a column a run did not score (rows from before it existed)
        return "-"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.4f}"


def print_table(rows, means, columns=COLUMNS) -> None:
    print("| clip | budget | steps | " + " | ".join(title for _, title in columns) + " |")
    print("|---" * (3 + len(columns)) + "|")
    for r in rows:
        cells = " | ".join(_cell(r.get(k)) for k, _ in columns)
        print(f"| {r['clip']} | {r['budget']} | {r['steps']} | {cells} |")
    for budget, m in means.items():
        print(f"| **mean** | {budget} | | " + " | ".join(f"**{_cell(m.get(k))}**" for k, _ in columns) + " |")


if __name__ == "__main__":
    main()
