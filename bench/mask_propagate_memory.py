"""Mask Propagate at native 854x480: peak resident memory and frames per second of the node's propagation, frames
read from disk one at a time as a host would give them (so the figure is the node's, not a preloaded clip's).

The model is the protocol's 512x256 davis-bear model (bench/clip_models.py), run fully convolutionally on the
native frames. Run it alone on an idle machine; memory is this process's peak RSS.

    python bench/mask_propagate_memory.py --clip davis-bear
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from clip_models import clip_model
from common import CLIPS, display_to_working, peak_rss_mib, save_results


def main():
    import cv2

    from vsae.core.ops.mask_propagate import Propagation, PropagationSettings, mask_to_grid
    from vsae.core.ops.pixel_codes import hypercolumns

    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", default="davis-bear")
    ap.add_argument("--frames", type=int, default=40)
    args = ap.parse_args()
    folder = os.path.join(CLIPS, args.clip)
    names = sorted(os.listdir(os.path.join(folder, "frames")))[:args.frames]
    model = clip_model(args.clip)
    base_rss = peak_rss_mib()
    settings = PropagationSettings()

    def frame(i):
        bgr = cv2.imread(os.path.join(folder, "frames", names[i]), cv2.IMREAD_COLOR)
        return display_to_working(bgr[:, :, ::-1].astype(np.float32) / 255.0)

    key = cv2.imread(os.path.join(folder, "masks", names[0].replace(".jpg", ".png")), cv2.IMREAD_GRAYSCALE) > 127
    start = time.perf_counter()
    prop = Propagation(lambda i: hypercolumns(model, frame(i), settings.stride, settings.layers,
                                              settings.image_weight),
                       range(len(names)), {0: mask_to_grid(key.astype(np.float32), settings.stride)}, settings)
    for i in range(1, len(names)):
        prop.grid_matte(i)
    fps = (len(names) - 1) / (time.perf_counter() - start)
    result = {"clip": args.clip, "size": list(key.shape[::-1]), "frames": len(names), "fps": round(fps, 2),
              "peak_rss_mib": round(peak_rss_mib()), "rss_before_mib": round(base_rss)}
    print(result)
    print(save_results("mask_propagate_memory", result))


if __name__ == "__main__":
    main()
