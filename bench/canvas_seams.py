"""Extend / Stretch / Stitch seams on the shared clips: gradient energy across the seams against elsewhere
(``vsae.core.ops.canvas.seam_energy``: 1.0 = a seam shows no more than any column of the picture), before and after
reprojection through the shot model, and before/after contact sheets.

- stitch: frames t and t + 20 side by side (1024x256), the whole canvas reprojected (the paper) or only a band of
  32 pixels around the seam.
- extend: 512x256 grown to 768x384 (128 / 64 pixels each side), mirror or zero padding, original area held exact;
  energy across the four borders of the original.
- stretch: 512x256 to 1024x256 (no seam; the figure is detail, mean |gradient| of the result against the source's).
The shot models are the protocol's (bench/clip_models.py). Sheets: bench/results/canvas_<clip>.jpg (small).

    python bench/canvas_seams.py --clips davis-bear,davis-blackswan
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from clip_models import clip_model
from common import DAVIS, HERE, display_to_working, load_clip, require_clips, save_results


def seam_figures(model, working: np.ndarray, iterations: int = 5, samples: int = 4) -> tuple[dict, list]:
    """Seam energy (stitch, extend) and detail (stretch) before and after reprojection through ``model`` on
    ``samples`` frames of ``working`` ((N, H, W, 3) working range, N > 20); and before | after image pairs of the
    first frame for a contact sheet. Returns ({figure: [value per frame]}, [[before, after], ...])."""
    from vsae.core.ops.canvas import ExtendOptions, extend, extend_seams, seam_energy, stitch, stitch_canvas, stretch

    n = iterations
    starts = np.linspace(0, len(working) - 21, samples).astype(int)
    figures: dict[str, list] = {}
    sheet = []
    for t in starts:  # the nodes' own operations, at their default settings but ``iterations``
        canvas, whole = stitch([working[t], working[t + 20]], lambda: model, iterations=n)
        _, band = stitch([working[t], working[t + 20]], lambda: model, iterations=n, band=32)
        seams = stitch_canvas([working[t], working[t + 20]])[1]
        for name, img in (("stitch_before", canvas), ("stitch_after", whole), ("stitch_band32", band)):
            figures.setdefault(name, []).append(seam_energy(img, seams))
        for mode in ("mirror", "zero"):
            padded, out, original = extend(working[t], (128, 128, 64, 64), lambda: model,
                                           ExtendOptions(padding=mode, iterations=n))
            cols, rws = extend_seams(original)
            for name, img in ((f"extend_{mode}_before", padded), (f"extend_{mode}_after", out)):
                figures.setdefault(name, []).append(
                    (seam_energy(img, cols, "row") + seam_energy(img, rws, "column")) / 2)
            if mode == "mirror" and t == starts[0]:
                sheet.append([padded, out])
        wide, stretched = stretch(working[t], (1024, 256), lambda: model, iterations=10)
        detail = np.abs(np.diff(working[t], axis=1)).mean()
        figures.setdefault("stretch_detail_before", []).append(np.abs(np.diff(wide, axis=1)).mean() * 2 / detail)
        figures.setdefault("stretch_detail_after", []).append(
            np.abs(np.diff(stretched, axis=1)).mean() * 2 / detail)
        if t == starts[0]:
            sheet.append([canvas, whole])
            sheet.append([wide, stretched])
    return figures, sheet


def write_sheet(sheet: list, path: str) -> str:
    """One small JPEG of before | after rows (working-range images), shrunk to 772 pixels wide."""
    import cv2

    from vsae.core.colour import from_working
    from vsae.core.io.contact_sheet import contact_sheet
    from vsae.core.metrics import to_display

    tiles = [[cv2.resize(img, (384, 192), interpolation=cv2.INTER_AREA) for img in pair] for pair in sheet]
    image = to_display(from_working(contact_sheet(tiles, max_width=772)))
    cv2.imwrite(path, np.round(image[:, :, ::-1] * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 75])
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS))
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--samples", type=int, default=4, help="frames per clip")
    args = ap.parse_args()
    require_clips()
    rows = []
    for clip in args.clips.split(","):
        working = display_to_working(load_clip(clip))
        model = clip_model(clip, frames=working)
        figures, sheet = seam_figures(model, working, args.iterations, args.samples)
        write_sheet(sheet, os.path.join(HERE, "results", f"canvas_{clip}.jpg"))
        row = {"clip": clip, **{k: round(float(np.mean(v)), 3) for k, v in figures.items()}}
        rows.append(row)
        print(row, flush=True)
    keys = [k for k in rows[0] if k != "clip"]
    mean = {k: round(float(np.mean([r[k] for r in rows])), 3) for k in keys}
    print("mean", mean)
    print(save_results("canvas_seams", {"iterations": args.iterations, "rows": rows, "mean": mean}))


if __name__ == "__main__":
    main()
