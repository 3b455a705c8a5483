"""Exploring a shot through its latents: the map, clusters, medoids, cuts, loops and trajectories."""

import numpy as np
import pytest

from vsae.core import explore
from vsae.errors import ParameterError


def _walk(rng, centre, n, step=0.05):
    """n latents (n, 4, 2, 3) wandering slowly around ``centre``: one shot's frames."""
    return centre + np.cumsum(rng.normal(0, step, (n, 4, 2, 3)), axis=0).astype(np.float32)


def _shots(lengths=(20, 15, 25), seed=0):
    rng = np.random.default_rng(seed)
    parts = [_walk(rng, rng.normal(0, 1, (4, 2, 3)), n) for n in lengths]
    return np.concatenate(parts).astype(np.float32)


def test_the_map_is_the_pca_of_the_codes():
    z = _shots()
    m = explore.latent_map(z, range(1001, 1001 + len(z)), components=3)
    assert m.coords.shape == (len(z), 3) and m.basis.shape == (3, z[0].size)
    np.testing.assert_allclose(m.project(z), m.coords, atol=1e-3)
    assert np.all(np.diff(m.explained) <= 0) and 0 < m.explained.sum() <= 1.0
    assert m.nearest(m.coords[17, :2]) == 17


def test_kmeans_finds_separated_groups_and_numbers_them_in_time():
    rng = np.random.default_rng(1)
    points = np.concatenate([rng.normal(c, 0.1, (12, 2)) for c in ((5, 5), (0, 0), (-5, 5))]).astype(np.float32)
    assert explore.estimate_k(points) == 3
    labels, centres = explore.kmeans(points, 3)
    assert labels.tolist() == [0] * 12 + [1] * 12 + [2] * 12  # cluster 0 holds the first frame
    np.testing.assert_allclose(centres[1], (0, 0), atol=0.1)
    with pytest.raises(ParameterError, match="clusters 40"):
        explore.kmeans(points, 40)


def test_the_medoid_is_the_member_nearest_the_rest():
    z = np.zeros((5, 1, 1, 1), np.float32)
    z[:, 0, 0, 0] = [0.0, 1.0, 2.0, 3.0, 10.0]
    assert explore.medoids(z, np.zeros(5, np.int64)) == [2]


def test_cuts_are_found_where_the_shots_change():
    z = _shots((20, 15, 25))
    found = explore.shot_cuts(z)
    assert found == [20, 35]
    scores = explore.cut_scores(found, [20, 35])
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0
    assert explore.cut_scores([20, 30], [20, 35])["precision"] == 0.5


def test_loop_points_find_a_repeat_and_the_loop_cross_fades_into_it():
    t = np.arange(40)
    z = np.stack([np.sin(2 * np.pi * t / 10), np.cos(2 * np.pi * t / 10)], 1)[:, :, None, None].astype(np.float32)
    start, end, similarity = explore.loop_points(z, min_length=8, max_length=12)[0]
    assert end - start == 10 and similarity > 0.999
    steps = explore.endless_loop(start=12, end=22, length=25, transition=3)
    assert len(steps) == 25 and [s[0] for s in steps[:10]] == list(range(12, 22)) and steps[10][0] == 12
    assert [round(s[2], 2) for s in steps[6:10]] == [0.0, 0.25, 0.5, 0.75]  # the last 3 of each pass fade
    assert steps[9][1] == 11  # toward the frame that leads into the loop's start


def test_a_drawn_path_visits_the_frames_it_passes():
    z = _shots((30,))
    m = explore.latent_map(z, range(30))
    path = explore.trajectory_frames(m, [m.coords[0, :2], m.coords[29, :2]])
    assert path[0] == 0 and path[-1] == 29 and len(set(path)) == len(path)


def test_summary_strip_and_sharpness():
    a = np.zeros((64, 128, 3), np.float32)
    a[::2] = 1.0  # stripes: sharp
    strip = explore.summary_strip([a, a[:, :64]], height=32)
    assert strip.shape == (32, 64 + 32, 3)
    assert explore.sharpness(a) > explore.sharpness(np.full_like(a, 0.5))


def test_a_cached_shot_opens_with_its_map_stored(tiny_shot, cache_dir):
    from tests.conftest import tiny_settings
    from vsae.core.cache import ModelCache
    from vsae.core.io.sequence import open_shot

    entry = ModelCache(cache_dir).get_or_train(open_shot(tiny_shot["plates"], None, "auto"), tiny_settings())
    shot = explore.ShotExplorer(entry)
    assert shot.frames == list(range(1001, 1013)) and shot.map.coords.shape == (12, 11)  # N - 1 components at most
    assert explore.ShotMap.load(f"{entry.path}/{explore.MAP_FILE}").coords.shape == (12, 11)
    average = shot.average([0, 1, 2, 3])
    assert average.shape == (64, 128, 3) and np.isfinite(average).all()
    assert shot.medoid([0, 1, 2]) in (0, 1, 2)
    plates = [open_shot(tiny_shot["plates"], None, "auto").read(f).rgb for f in (1001, 1002)]
    np.testing.assert_allclose(shot.pixel_mean([0, 1]), (plates[0] + plates[1]) / 2, atol=1e-6)
    labels, meds = shot.clusters(2)
    assert sorted(set(labels.tolist())) == [0, 1] and all(labels[m] == c for c, m in enumerate(meds))
    frames = shot.render_steps(explore.endless_loop(2, 8, 8, transition=2))
    assert len(frames) == 8 and frames[0].shape == (64, 128, 3)


def _brute_silhouette(points, labels):
    d = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))
    out = []
    for i, label in enumerate(labels):
        same = labels == label
        a = d[i, same].sum() / (same.sum() - 1)
        b = min(d[i, labels == o].mean() for o in set(labels.tolist()) if o != label)
        out.append((b - a) / max(a, b))
    return float(np.mean(out))


def test_blocked_searches_give_what_the_whole_matrices_give():
    rng = np.random.default_rng(4)
    points = np.concatenate([rng.normal(c, 0.3, (300, 4)) for c in (0.0, 2.0, 5.0)])
    labels = np.repeat(np.arange(3), 300)
    assert explore.silhouette(points, labels) == pytest.approx(_brute_silhouette(points, labels), abs=1e-9)
    z = rng.normal(size=(700, 8, 1, 1)).astype(np.float32)
    x = z.reshape(700, -1).astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sim = x @ x.T
    best = max((sim[i, j], i, j) for i in range(700) for j in range(i + 10, min(700, i + 50 + 1)))
    assert explore.loop_points(z, min_length=10, max_length=50)[0][:2] == (best[1], best[2])
    one = np.zeros(700, np.int64)
    flat = z.reshape(700, -1).astype(np.float64)
    sums = np.sqrt(np.maximum((flat ** 2).sum(1)[:, None] + (flat ** 2).sum(1)[None] - 2 * flat @ flat.T, 0)).sum(1)
    assert explore.medoids(z, one) == [int(np.argmin(sums))]


def test_a_15000_frame_shot_is_clustered_and_searched_for_loops_in_bounded_memory():
    """The paper summarises 15,679 frames; whole N x N matrices of them would take tens of GB."""
    import tracemalloc

    rng = np.random.default_rng(5)
    n = 15000
    z = (np.repeat(rng.normal(size=(6, 16, 1, 1)), n // 6, axis=0) + rng.normal(0, 0.3, (n, 16, 1, 1))).astype(
        np.float32)
    tracemalloc.start()
    points = explore.latent_map(z, range(n), components=16).coords
    k = explore.estimate_k(points, k_max=8)
    labels, _ = explore.kmeans(points, k)
    medoid_list = explore.medoids(z, labels)
    start, end, _ = explore.loop_points(z, min_length=24, max_length=600, count=1)[0]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert k == 6 and len(medoid_list) == 6 and 24 <= end - start <= 600
    assert peak < 400 * 2 ** 20, f"peak {peak / 2 ** 20:.0f} MiB"


def test_a_long_shot_s_map_is_randomised_and_agrees_with_the_exact_one(monkeypatch):
    z = _shots(lengths=(400, 300, 500), seed=3)
    exact = explore.latent_map(z, range(len(z)), components=3)
    monkeypatch.setattr(explore, "GRAM_LIMIT", 100)  # the same shot as if it were long
    fast = explore.latent_map(z, range(len(z)), components=3)
    for c in range(3):  # the same axes, up to sign
        a, b = exact.coords[:, c], fast.coords[:, c]
        assert abs(float(np.corrcoef(a, b)[0, 1])) > 0.999
    np.testing.assert_allclose(fast.explained, exact.explained, rtol=1e-3)
