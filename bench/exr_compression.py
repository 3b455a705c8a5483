"""EXR compression: what each one costs to write and read a rendered frame, and the file it makes.

    python bench/exr_compression.py                        # 1920x1080 half, three clips, every compression
    python bench/exr_compression.py --size 960x540 --clips davis-surf

Writing is most of a file render's time outside the model (bench/README.md, session 13: a 1080p half frame zip
300-500 ms on the writer thread); `vsae ... --compression` (or $VSAE_EXR_COMPRESSION, per show) chooses it. Each
frame: a shared clip's frame resized to ``--size``, decoded to scene-linear and written at half through the shipped
``write_image`` (headers, atomic rename and all), then read back through ``read_image``. Times: the median of
``--repeats``, every compression interleaved in each repeat so a change in the machine's speed falls on all;
ratios against zip (the default) in the same process. ``exact``: the pixels read back equal the half pixels
written (lossless); otherwise the largest difference in stops (log2 ratio) where the value is above 0.01.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

from common import load_clip, require_clips, save_results

# OpenEXR's compressions as OpenImageIO names them; the default first.
COMPRESSIONS = ("zip", "zip:1", "zips", "piz", "rle", "none", "pxr24", "b44", "dwaa", "dwab")


def frame_of(clip: str, size: tuple[int, int]) -> np.ndarray:
    """A clip's middle frame at ``size`` as (H, W, 3) scene-linear float32 (its sRGB decoded)."""
    from vsae.core.colour import srgb_to_linear

    frames = load_clip(clip, size=size)
    return srgb_to_linear(frames[len(frames) // 2])


def measure(rgb: np.ndarray, repeats: int, folder: str) -> dict[str, dict]:
    from vsae.core.io.sequence import Frame, read_image, write_image

    frame = Frame(rgb=rgb, pixel_type="half")
    written = rgb.astype(np.float16).astype(np.float32)
    times: dict[str, dict[str, list[float]]] = {c: {"write": [], "read": []} for c in COMPRESSIONS}
    rows: dict[str, dict] = {}
    for _ in range(repeats):
        for name in COMPRESSIONS:
            path = os.path.join(folder, f"{name.replace(':', '_')}.exr")
            start = time.perf_counter()
            write_image(path, frame, compression=name)
            times[name]["write"].append(time.perf_counter() - start)
            start = time.perf_counter()
            back = read_image(path).rgb
            times[name]["read"].append(time.perf_counter() - start)
            if name not in rows:
                big = written > 0.01
                stops = np.abs(np.log2(np.maximum(back[big], 1e-6) / written[big]))
                rows[name] = {"bytes": os.path.getsize(path), "exact": bool(np.array_equal(back, written)),
                              "max_stops": float(stops.max()) if stops.size else 0.0}
    for name in COMPRESSIONS:
        rows[name]["write_ms"] = statistics.median(times[name]["write"]) * 1e3
        rows[name]["read_ms"] = statistics.median(times[name]["read"]) * 1e3
    base = rows["zip"]
    for row in rows.values():
        row["write_vs_zip"] = row["write_ms"] / base["write_ms"]
        row["size_vs_zip"] = row["bytes"] / base["bytes"]
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", default="1920x1080", help="WxH of the frames written")
    p.add_argument("--clips", default="davis-surf,davis-bear,bedroom")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    require_clips()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    results = {"size": args.size, "repeats": args.repeats, "clips": {}}
    with tempfile.TemporaryDirectory() as folder:
        for clip in args.clips.split(","):
            rows = measure(frame_of(clip, size), args.repeats, folder)  # type: ignore[arg-type]
            results["clips"][clip] = rows
            print(f"{clip} {args.size} half")
            for name, r in rows.items():
                lossless = "exact" if r["exact"] else f"lossy {r['max_stops']:.3f} stops"
                print(f"  {name:7s} write {r['write_ms']:6.1f} ms ({r['write_vs_zip']:.2f} of zip)  read "
                      f"{r['read_ms']:6.1f} ms  {r['bytes'] / 1e6:6.2f} MB ({r['size_vs_zip']:.2f} of zip)  {lossless}")
    save_results("exr_compression", results)


if __name__ == "__main__":
    main()
