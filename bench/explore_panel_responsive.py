"""Is the Explore panel responsive while a model trains in another process (issue 6)?

    python bench/explore_panel_responsive.py [--frames 1000] [--seconds 20]

A procedural 512x256 shot of ``--frames`` frames gets a cached model (10 steps) and latents, as in
explore_panel_open.py. The panel is opened (offscreen) on it and driven for ``--seconds``: a 20 ms timer measures
how late the event loop runs it (lateness = what a user feels as lag: the map, hover and painting wait that long),
and every 0.5 s a user action is timed until its result shows (a rectangle selection with its decoded average and
medoid, or a click on a frame; decoded on the panel's worker thread while the timer keeps ticking). Its
training-curve view polls the cache meanwhile. Run twice in the same process: idle (baseline), then with `vsae
train` of another procedural shot running in a second process on the same cache (its curve shown live in the panel).
Reported: median and 95th percentile of the timer's lateness, median time until an action's result shows, and the
curve points the panel picked up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from common import save_results


def drive(app, panel, seconds: float) -> dict:
    from qtpy import QtCore

    lateness, actions = [], []
    state = {"last": time.perf_counter(), "i": 0, "since": None}
    coords = panel.explorer.map.coords[:, :2]

    def heartbeat():  # what the user feels: how late the event loop runs a 20 ms timer
        now = time.perf_counter()
        lateness.append(max(0.0, now - state["last"] - 0.020))
        state["last"] = now
        if state["since"] is not None and not panel._pending:  # the action's result is on screen
            actions.append(now - state["since"])
            state["since"] = None

    def act():  # a user action every 0.5 s, unless the last one's result is still coming
        if state["since"] is not None:
            return
        i = state["i"] = state["i"] + 1
        state["since"] = time.perf_counter()
        if i % 2:
            c = coords[(i * 37) % (len(coords) - 40):][:40]
            panel.map.select_rect(c[:, 0].min(), c[:, 1].min(), c[:, 0].max(), c[:, 1].max())
        else:
            panel.show_frame((i * 97) % len(coords))

    timers = []
    for slot, ms in ((heartbeat, 20), (act, 500)):
        timer = QtCore.QTimer()
        timer.timeout.connect(slot)
        timer.start(ms)
        timers.append(timer)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.002)
    for timer in timers:
        timer.stop()
    panel.wait_idle()
    lateness.sort()
    return {"lateness_median_ms": round(1000 * statistics.median(lateness), 1),
            "lateness_p95_ms": round(1000 * lateness[int(0.95 * (len(lateness) - 1))], 1),
            "lateness_max_ms": round(1000 * lateness[-1], 1),
            "result_median_ms": round(1000 * statistics.median(actions), 1),
            "result_max_ms": round(1000 * max(actions), 1), "actions": len(actions)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qtpy import QtWidgets

    from vsae.core.cache import ModelCache
    from vsae.core.explore import ShotExplorer
    from vsae.core.demo.procedural import ProceduralShot
    from vsae.core.io.sequence import open_shot
    from vsae.core.settings import TrainSettings
    from vsae.plugin.qt.explore_panel import ExplorePanel

    with tempfile.TemporaryDirectory(prefix="vsae-explore-bench-") as root:
        plates = ProceduralShot(width=512, height=256, frames=args.frames).write(os.path.join(root, "shot"),
                                                                                  inbetweens=False)["plates"]
        cache = ModelCache(os.path.join(root, "cache"))
        entry = cache.get_or_train(open_shot(plates, None, "auto"), TrainSettings(steps=10, budget_s=None, crop=256))
        other = ProceduralShot(width=512, height=256, frames=40, seed=7).write(os.path.join(root, "other"),
                                                                              inbetweens=False)["plates"]
        app = QtWidgets.QApplication([])
        panel = ExplorePanel(ShotExplorer(entry), cache=cache)
        panel.resize(1100, 700)
        panel.show()
        app.processEvents()
        rows = {"idle": drive(app, panel, args.seconds)}
        print("idle", rows["idle"], flush=True)
        env = {**os.environ, "VSAE_CACHE": cache.root}
        trainer = subprocess.Popen([sys.executable, "-m", "vsae.cli", "train", other, "--budget",
                                    f"{int(args.seconds + 30)}s"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            time.sleep(5)  # past the trainer's start-up: reading frames, first steps
            rows["training"] = drive(app, panel, args.seconds)
            rows["training"]["curve_points_seen"] = sum(len(points) for points in panel.curve.curves.values())
        finally:
            trainer.terminate()
            trainer.wait()
        print("while training", rows["training"], flush=True)
        panel.stop()
    print(save_results("explore_panel_responsive", {"frames": args.frames, "seconds": args.seconds, **rows}))


if __name__ == "__main__":
    main()
