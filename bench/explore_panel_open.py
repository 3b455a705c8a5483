"""How fast the Explore panel opens on a cached 1,000-frame shot (issue 6 target: under 2 seconds).

    python bench/explore_panel_open.py [--frames 1000] [--runs 5] [--screenshot panel.jpg]

A procedural 512x256 shot of ``--frames`` frames gets a model (10 training steps: speed does not depend on the
weights) and its cached latents, once, in a temporary cache. Then each run is a fresh process that imports vsae and
Qt (offscreen), and times, from the cache lookup by key to the first paint of the shown panel:
- cold: the map is computed (PCA of the latents) and stored with the model, as on a shot's first opening;
- warm: the stored map is read back (every later opening).
Baseline in the same process: reading the latents file alone. Median of ``--runs`` runs each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from common import save_results

CHILD = r"""
import json, os, sys, time
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qtpy import QtWidgets
from vsae.core.cache import ModelCache
from vsae.core.explore import MAP_FILE, ShotExplorer
from vsae.plugin.qt.explore_panel import ExplorePanel
cache_root, key, mode, shot = sys.argv[1:5]
app = QtWidgets.QApplication([])
entry = ModelCache(cache_root).resolve(key)
if mode == "cold" and os.path.exists(os.path.join(entry.path, MAP_FILE)):
    os.unlink(os.path.join(entry.path, MAP_FILE))
t0 = time.perf_counter()
entry.load_latents()
t_latents = time.perf_counter() - t0
t0 = time.perf_counter()
entry = ModelCache(cache_root).resolve(key)
panel = ExplorePanel(ShotExplorer(entry), cache=ModelCache(cache_root))
panel.resize(1100, 700)
panel.show()
app.processEvents()
panel.map.repaint()
t_open = time.perf_counter() - t0
if shot != "-":
    c = panel.explorer.map.coords[:40, :2]  # the first 40 frames selected: their average and medoid shown
    panel.map.select_rect(c[:, 0].min(), c[:, 1].min(), c[:, 0].max(), c[:, 1].max())
    panel.show_frame(0)
    panel.wait_idle()
    app.processEvents()
    panel.grab().save(shot, quality=85)
print(json.dumps({"open_s": t_open, "latents_s": t_latents}))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--screenshot", default="", help="save the opened panel here (its model is a 10-step one: "
                    "for a picture worth looking at see explore_quality.py's)")
    args = ap.parse_args()
    from vsae.core.cache import ModelCache
    from vsae.core.demo.procedural import ProceduralShot
    from vsae.core.io.sequence import open_shot
    from vsae.core.settings import TrainSettings

    with tempfile.TemporaryDirectory(prefix="vsae-explore-bench-") as root:
        plates = ProceduralShot(width=512, height=256, frames=args.frames).write(os.path.join(root, "shot"),
                                                                                  inbetweens=False)["plates"]
        cache = ModelCache(os.path.join(root, "cache"))
        entry = cache.get_or_train(open_shot(plates, None, "auto"), TrainSettings(steps=10, budget_s=None, crop=256))
        rows = {}
        for mode in ("cold", "warm"):
            runs = []
            for i in range(args.runs):
                shot = args.screenshot if (mode == "warm" and i == 0 and args.screenshot) else "-"
                out = subprocess.run([sys.executable, "-c", CHILD, cache.root, entry.key, mode, shot],
                                     capture_output=True, text=True, check=True)
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            rows[mode] = {"open_s": round(statistics.median(r["open_s"] for r in runs), 3),
                          "latents_read_s": round(statistics.median(r["latents_s"] for r in runs), 3)}
            rows[mode]["ratio_to_latents_read"] = round(rows[mode]["open_s"] / rows[mode]["latents_read_s"], 1)
            print(f"{mode}: panel open {rows[mode]['open_s']:.3f} s (reading the latents alone "
                  f"{rows[mode]['latents_read_s']:.3f} s) for {args.frames} frames", flush=True)
    print(save_results("explore_panel_open", {"frames": args.frames, "runs": args.runs, **rows}))


if __name__ == "__main__":
    main()
