"""Proxy conform quality (the paper's transmission): bits against quality, beside H.264 and H.265 at equal size.

The sender has the shot and its model; it sends the model once and then every k-th frame at 1/s of the size (the
proxies, themselves an H.264 stream). The receiver runs the Conform node (``plugin/nodes/conform.py``, through the
file renderer's context) on the decoded proxies and gets every frame at full size. Scored by PSNR against the
display-referred frames (512x256), over every frame from the first proxy to the last and over the held-out (odd)
frames alone. The cost in bytes counts the model's file once (as stored: float32 safetensors) plus the proxies'
stream; the same frames through libx264 and libx265 (PyAV; yuv420p, preset medium) are swept over CRF and their
PSNR read at the byte count vsae needs (linear in log bytes between the two nearest CRFs). ``model-free`` is the
node with no model (Upres iterations 0: bicubic keeping the proxy's low band; flow in-betweens): what the proxies
alone give. The shot model is the protocol's (bench/clip_models.py: 512x256, trained on the even frames; --steps).

    pip install 'vsae[bench]'   # PyAV, for the H.264/H.265 encoders
    python bench/conform_quality.py --clips davis-bear,davis-blackswan,davis-bmx-trees --name choose
"""

from __future__ import annotations

import argparse
import io
import os

import numpy as np

from clip_models import clip_model, model_path
from common import DAVIS, display_to_working, load_clip, require_clips, save_results
from model_contribution import linear_clip, to_display

CRFS = (0, 6, 12, 18, 24, 30, 36, 42, 48)


def encode(frames: np.ndarray, codec: str, crf: int) -> tuple[int, np.ndarray]:
    """(N, H, W, 3) uint8 RGB through ``codec`` (libx264, libx265) at ``crf``: (bytes of the stream, the decoded
    frames as (N, H, W, 3) float32 in [0, 1])."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as out:
        stream = out.add_stream(codec, rate=24)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium",
                          **({"x265-params": "log-level=error"} if codec == "libx265" else {})}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = buffer.getvalue()
    with av.open(io.BytesIO(data)) as inp:
        decoded = [f.to_ndarray(format="rgb24") for f in inp.decode(video=0)]
    return len(data), np.stack(decoded).astype(np.float32) / 255.0


def psnr_of(frames: np.ndarray, truth: np.ndarray) -> float:
    from vsae.core.metrics import psnr

    return float(np.mean([psnr(a, b) for a, b in zip(frames, truth)]))


def at_bytes(curve: list[tuple[int, float]], target: float) -> float | None:
    """PSNR at ``target`` bytes on a codec's (bytes, PSNR) curve, linear in log bytes; None outside the sweep."""
    curve = sorted(curve)
    for (b0, p0), (b1, p1) in zip(curve, curve[1:]):
        if b0 <= target <= b1:
            w = (np.log(target) - np.log(b0)) / (np.log(b1) - np.log(b0)) if b1 > b0 else 0.0
            return float(p0 + w * (p1 - p0))
    return None


def main():
    import cv2

    from vsae.plugin.nodes import load_node
    from vsae.plugin.render_files import file_context

    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS[:6]))
    ap.add_argument("--steps", type=int, default=600, help="the shot model's training steps (default 600)")
    ap.add_argument("--every", type=int, default=4, help="k: every k-th frame is sent (default 4)")
    ap.add_argument("--scale", type=int, default=4, help="s: at 1/s of the size (default 4)")
    ap.add_argument("--proxy-crf", type=int, default=18, help="the proxies' H.264 CRF (default 18)")
    ap.add_argument("--methods", default="hybrid,flow", help="Conform's in-between methods tried")
    ap.add_argument("--name", help="this run's name in the record (default: default)")
    args = ap.parse_args()
    require_clips()
    node = load_node("conform")
    rows = []
    for clip in args.clips.split(","):
        display = load_clip(clip)
        n = (len(display) - 1) // args.every * args.every + 1  # the last frame sent is the last frame scored
        display = display[:n]
        truth8 = np.round(display * 255).astype(np.uint8)
        model = clip_model(clip, steps=args.steps, frames=display_to_working(load_clip(clip)))
        model_bytes = os.path.getsize(model_path(clip, steps=args.steps))
        height, width = display.shape[1:3]
        small = np.stack([cv2.resize(f, (width // args.scale, height // args.scale), interpolation=cv2.INTER_AREA)
                          for f in truth8[::args.every]])
        proxy_bytes, proxies = encode(small, "libx264", args.proxy_crf)
        numbers = list(range(1, n + 1, args.every))
        context = file_context(linear_clip(proxies, numbers), lambda: model)
        odd = np.arange(1, n, 2)
        row: dict = {"clip": clip, "frames": n, "model_bytes": model_bytes, "proxy_bytes": proxy_bytes}
        for method in ["model-free"] + args.methods.split(","):
            params = node.resolve({"factor": args.scale, **({"upres_iterations": 0, "method": "flow"}
                                                            if method == "model-free" else {"method": method})})
            out = np.stack([to_display(node.render(f, params, context)) for f in range(1, n + 1)])
            row[method] = {"psnr": round(psnr_of(out, display), 2), "psnr_odd": round(psnr_of(out[odd], display[odd]),
                                                                                      2)}
        total = model_bytes + proxy_bytes
        for codec in ("libx264", "libx265"):
            curve, curve_odd = [], []
            for crf in CRFS:
                size, decoded = encode(truth8, codec, crf)
                curve.append((size, psnr_of(decoded, display)))
                curve_odd.append((size, psnr_of(decoded[odd], display[odd])))
            row[codec] = {"curve": [(b, round(p, 2)) for b, p in curve],
                          "psnr_at_vsae_bytes": at_bytes(curve, total),
                          "psnr_at_proxy_bytes": at_bytes(curve, proxy_bytes),
                          "psnr_odd_at_vsae_bytes": at_bytes(curve_odd, total)}
        rows.append(row)
        print({k: v for k, v in row.items() if k not in ("libx264", "libx265")},
              {c: (row[c]["psnr_at_vsae_bytes"], row[c]["psnr_at_proxy_bytes"], row[c]["curve"])
               for c in ("libx264", "libx265")}, flush=True)
    print(save_results("conform_quality", {"steps": args.steps, "every": args.every, "scale": args.scale,
                                           "proxy_crf": args.proxy_crf, "crfs": CRFS, "rows": rows}, args.name))


if __name__ == "__main__":
    main()
