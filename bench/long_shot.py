"""Long shots (issue 18, item 5): time and peak memory of each exploration step at 1k, 5k and 15k frames.

The paper summarises a 15,679-frame video into 20 clusters. Latents here have the shape a 512x256 shot model gives
(96, 4, 8) and are drawn as a slow random walk around a few centres (shots): the steps' cost depends on the count
and the shape, not on what the pictures are. Steps, as the panel and `vsae explore --report` run them (the shipped
``vsae.core.explore``): the map (PCA to 16 coordinates), the automatic k (silhouette over k = 2..8) and k-means,
the clusters' medoids, the best loop (24 to 600 frames) and the shot cuts. Peak memory is numpy's, through
tracemalloc; time the median of --repeats.

``--train``: training such a shot instead, as the model cache does (``core.training.frames``: a shot over 2 GiB in
float16 is streamed from a memory-mapped file, not held): procedural frames at 512x256 (``WavesSequence``, made
when read) loaded into the file, --steps training steps (the shipped trainer, with its batch-norm pass), and every
frame encoded to latents (what the cache stores and the map is made of). Memory is the growth of the process's
anonymous resident memory (/proc/self/status RssAnon: what it holds, not the file pages the map reads in); time
of one run.

``--panel``: the Explore panel (Qt offscreen) on such latents with a 512x256 shot model (untrained: speed does not
depend on the weights): seconds to open it (the map computed, the panel shown and painted), one hover (a frame
decoded and shown), clustering into 20 (the paper's summary) and the summary strip of their medoids; peak memory
as for the exploration steps.

    python bench/long_shot.py --frames 1000,5000,15000
    python bench/long_shot.py --train --frames 1000,5000,15000 --name train
    python bench/long_shot.py --panel --frames 1000,5000,15000 --name panel
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from common import save_results


def walk(n: int, shots: int = 20, seed: int = 0, shape: tuple = (96, 4, 8)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lengths = np.diff(np.linspace(0, n, shots + 1).round().astype(int))
    parts = [rng.normal(0, 1, shape) + np.cumsum(rng.normal(0, 0.02, (m, *shape)), axis=0) for m in lengths]
    return np.concatenate(parts).astype(np.float32)


def measure(step, repeats: int) -> tuple[float, float, object]:
    """(median seconds, peak MiB of the first run, the first run's result)."""
    times, peak, result = [], 0.0, None
    for r in range(repeats):
        if r == 0:
            tracemalloc.start()
        start = time.perf_counter()
        out = step()
        times.append(time.perf_counter() - start)
        if r == 0:
            peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
            tracemalloc.stop()
            result = out
    return float(np.median(times)), peak, result


def anonymous_mib() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("RssAnon:"))


def training_row(n: int, steps: int, folder: str) -> dict:
    """Load (streamed), train and encode ``n`` procedural 512x256 frames; seconds and anonymous MiB grown each."""
    import os

    from vsae.core.demo.procedural import WavesSequence
    from vsae.core.model.shot_model import ShotModel
    from vsae.core.settings import TrainSettings
    from vsae.core.training.frames import load_training_frames, streams, training_bytes
    from vsae.core.training.trainer import train

    seq = WavesSequence(n, 512, 256)
    row: dict = {"frames": n, "float16_mib": round(training_bytes(seq) / 2 ** 20), "streamed": streams(seq)}
    base = anonymous_mib()
    start = time.perf_counter()
    store = os.path.join(folder, f"frames-{n}.npy")
    frames = load_training_frames(seq, store=store if row["streamed"] else None)
    row["load"] = {"s": round(time.perf_counter() - start, 1), "anon_mib": round(anonymous_mib() - base)}
    settings = TrainSettings(budget_s=None, steps=steps, checkpoint_every_s=1e9)
    start = time.perf_counter()
    result = train(frames, settings)
    row["train"] = {"s": round(time.perf_counter() - start, 1), "anon_mib": round(anonymous_mib() - base)}
    model = ShotModel(settings.model_config, result.state_dict, backend="torch")
    start = time.perf_counter()
    latents = model.encode_batches((f.transpose(2, 0, 1) for f in frames), count=len(frames))
    row["encode"] = {"s": round(time.perf_counter() - start, 1), "anon_mib": round(anonymous_mib() - base),
                     "latents_mib": round(latents.nbytes / 2 ** 20, 1)}
    del frames
    if os.path.exists(store):
        os.remove(store)
    return row


def panel_row(n: int) -> dict:
    """Open the Explore panel on ``n`` frames' latents; hover, cluster into 20 and make the summary strip."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qtpy import QtWidgets

    from vsae.core.explore import ShotExplorer
    from vsae.core.model.autoencoder import ShotAutoencoder
    from vsae.core.model.shot_model import ShotModel
    from vsae.core.settings import TrainSettings
    from vsae.plugin.qt.explore_panel import ExplorePanel

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    config = TrainSettings().model_config
    model = ShotModel(config, ShotAutoencoder(config).state_dict(), backend="torch")
    z = walk(n, shape=model.encode(np.zeros((1, 3, 256, 512), np.float32))[0].shape[1:])
    row: dict = {"frames": n}

    def opened():
        panel = ExplorePanel(ShotExplorer.from_arrays(model, z, range(n), f"walk ({n} frames)"))
        panel.resize(1100, 700)
        panel.show()
        panel.repaint()
        app.processEvents()
        return panel

    t, m, panel = measure(opened, 1)
    row["open"] = {"s": round(t, 2), "peak_mib": round(m, 1)}
    t, m, _ = measure(lambda: (panel.show_frame(n // 2), panel.wait_idle(), app.processEvents()), 1)
    row["hover"] = {"s": round(t, 2), "peak_mib": round(m, 1)}
    t, m, _ = measure(lambda: (panel.cluster(20), panel.map.repaint(), app.processEvents()), 1)
    row["cluster_20"] = {"s": round(t, 2), "peak_mib": round(m, 1)}
    t, m, strip = measure(lambda: panel.explorer.summary(20), 1)
    row["summary_strip"] = {"s": round(t, 2), "peak_mib": round(m, 1), "shape": list(strip.shape)}
    panel.stop()
    panel.close()
    return row


def main():
    from vsae.core import explore

    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", default="1000,5000,15000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--train", action="store_true", help="measure training (streamed) and encoding instead")
    ap.add_argument("--steps", type=int, default=100, help="--train: training steps (default 100)")
    ap.add_argument("--panel", action="store_true", help="measure the Explore panel instead")
    ap.add_argument("--name", help="this run's name in the record (default: default)")
    args = ap.parse_args()
    rows = []
    if args.panel:
        for n in (int(v) for v in args.frames.split(",")):
            rows.append(panel_row(n))
            print(rows[-1], flush=True)
        print(save_results("long_shot", {"rows": rows}, args.name))
        return
    if args.train:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="vsae-long-shot-") as folder:
            for n in (int(v) for v in args.frames.split(",")):
                rows.append(training_row(n, args.steps, folder))
                print(rows[-1], flush=True)
        print(save_results("long_shot", {"steps": args.steps, "rows": rows}, args.name))
        return
    for n in (int(v) for v in args.frames.split(",")):
        z = walk(n)
        row: dict = {"frames": n, "latents_mib": round(z.nbytes / 2 ** 20, 1)}
        t, m, shot_map = measure(lambda: explore.latent_map(z, range(n), explore.CLUSTER_COMPONENTS), args.repeats)
        row["map"] = {"s": round(t, 3), "peak_mib": round(m, 1)}
        points = shot_map.coords
        t, m, k = measure(lambda: explore.estimate_k(points), args.repeats)
        row["estimate_k"] = {"s": round(t, 3), "peak_mib": round(m, 1), "k": int(k)}
        t, m, (labels, _) = measure(lambda: explore.kmeans(points, k), args.repeats)
        row["kmeans"] = {"s": round(t, 3), "peak_mib": round(m, 1)}
        t, m, _ = measure(lambda: explore.medoids(z, labels), args.repeats)
        row["medoids"] = {"s": round(t, 3), "peak_mib": round(m, 1)}
        t, m, loops = measure(lambda: explore.loop_points(z, 24, 600, count=5), args.repeats)
        row["loop_points"] = {"s": round(t, 3), "peak_mib": round(m, 1)}
        t, m, cuts = measure(lambda: explore.shot_cuts(z), args.repeats)
        row["shot_cuts"] = {"s": round(t, 3), "peak_mib": round(m, 1), "found": len(cuts)}
        rows.append(row)
        print(row, flush=True)
    print(save_results("long_shot", {"repeats": args.repeats, "rows": rows}, args.name))


if __name__ == "__main__":
    main()
