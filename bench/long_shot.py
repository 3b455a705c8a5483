"""Long shots (issue 18, item 5): time and peak memory of each exploration step at 1k, 5k and 15k frames.

The paper summarises a 15,679-frame video into 20 clusters. Latents here have the shape a 512x256 shot model gives
(96, 4, 8) and are drawn as a slow random walk around a few centres (shots): the steps' cost depends on the count
and the shape, not on what the pictures are. Steps, as the panel and `vsae explore --report` run them (the shipped
``vsae.core.explore``): the map (PCA to 16 coordinates), the automatic k (silhouette over k = 2..8) and k-means,
the clusters' medoids, the best loop (24 to 600 frames) and the shot cuts. Peak memory is numpy's, through
tracemalloc; time the median of --repeats.

    python bench/long_shot.py --frames 1000,5000,15000
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from common import save_results


def walk(n: int, shots: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lengths = np.diff(np.linspace(0, n, shots + 1).round().astype(int))
    parts = [rng.normal(0, 1, (96, 4, 8)) + np.cumsum(rng.normal(0, 0.02, (m, 96, 4, 8)), axis=0) for m in lengths]
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


def main():
    from vsae.core import explore

    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", default="1000,5000,15000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--name", help="this run's name in the record (default: default)")
    args = ap.parse_args()
    rows = []
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
