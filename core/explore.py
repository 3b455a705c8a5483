"""Exploring a shot through its latent codes: a 2-D map, clusters with medoids and averages, cuts, loops, summaries.

The paper's exploration tools. Every function works on latents ``(N, 12k, h, w)`` (or their flattened rows
``(N, D)``) of frames in temporal order; decoding goes through a ``ShotModel``. Nothing here knows Qt: the panel in
``vsae.plugin.qt`` and the ``vsae explore`` command call these.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vsae.errors import ParameterError
from vsae.core.io.output_files import write_atomic

if TYPE_CHECKING:
    from vsae.core.io.sequence import ShotSequence

MAP_FILE = "map.safetensors"


def flatten(latents: np.ndarray) -> np.ndarray:
    """(N, 12k, h, w) -> (N, D) float32 rows."""
    return np.ascontiguousarray(latents.reshape(len(latents), -1), dtype=np.float32)


@dataclass
class ShotMap:
    """PCA of a shot's latent codes. frames: frame numbers (N,); coords: (N, k) map positions, first two drawn;
    mean: (D,); basis: (k, D) principal directions; explained: (k,) fraction of the variance each carries."""

    frames: np.ndarray
    coords: np.ndarray
    mean: np.ndarray
    basis: np.ndarray
    explained: np.ndarray

    def save(self, path: str) -> None:
        from safetensors.numpy import save_file

        tensors = {"frames": self.frames.astype(np.int64), "coords": self.coords, "mean": self.mean,
                   "basis": self.basis, "explained": self.explained}
        write_atomic(path, lambda tmp: save_file(tensors, tmp))

    @classmethod
    def load(cls, path: str) -> ShotMap:
        from safetensors.numpy import load_file

        d = load_file(path)
        return cls(d["frames"], d["coords"], d["mean"], d["basis"], d["explained"])

    def project(self, latents: np.ndarray) -> np.ndarray:
        """Map positions (M, k) of other latents (M, 12k, h, w) of the same shot."""
        return (flatten(latents) - self.mean) @ self.basis.T

    def nearest(self, point: Sequence[float]) -> int:
        """Index of the frame whose map position (first two coords) is nearest ``point``."""
        return int(np.argmin(((self.coords[:, :2] - np.asarray(point, np.float32)) ** 2).sum(axis=1)))


GRAM_LIMIT = 3000  # up to this many frames the map's PCA is exact (an N x N eigenproblem); beyond, randomised


def _top_gram_eigen(xc: np.ndarray, k: int, seed: int = 0, power: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest eigenvalues and eigenvectors (N, k) of xc @ xc.T for centred codes xc (N, D), by a
    randomised range finder with ``power`` subspace iterations (Halko et al.): O(N D k) time and O(N k) memory, for
    long shots where the N x N matrix would not fit (15,000 frames: 1.8 GB, and its eigh is O(N^3))."""
    rng = np.random.default_rng(seed)
    width = min(len(xc), k + 10)
    q = np.linalg.qr(xc @ rng.standard_normal((xc.shape[1], width)).astype(np.float32))[0]
    for _ in range(power):
        q = np.linalg.qr(xc @ (xc.T @ q))[0]
    small = (q.T @ xc).astype(np.float64)  # (width, D): xc's rows seen in the found range
    values, vectors = np.linalg.eigh(small @ small.T)
    order = np.argsort(values)[::-1][:k]
    return values[order], (q.astype(np.float64) @ vectors[:, order])


def latent_map(latents: np.ndarray, frames: Sequence[int], components: int = 2) -> ShotMap:
    """PCA of latents (N, 12k, h, w) into ``components`` dimensions: through the N x N Gram matrix (N is a shot's
    frame count, D tens of thousands), randomised beyond GRAM_LIMIT frames."""
    x = flatten(latents)
    n = len(x)
    if n < 2:
        raise ParameterError("explore: a map needs two frames or more")
    k = max(1, min(components, n - 1))
    mean = x.mean(axis=0)
    xc = x - mean
    if n <= GRAM_LIMIT:
        gram = (xc @ xc.T).astype(np.float64)
        values, vectors = np.linalg.eigh(gram)
        order = np.argsort(values)[::-1][:k]
        values, vectors = np.clip(values[order], 0, None), vectors[:, order]
        total = float(np.trace(gram)) or 1.0  # the total variance, without another pass over the codes
    else:
        values, vectors = _top_gram_eigen(xc, k)
        values = np.clip(values, 0, None)
        total = float(np.einsum("ij,ij->", xc, xc, dtype=np.float64)) or 1.0
    keep = max(1, int((values > values[0] * 1e-9).sum()))  # directions the frames do not span have no basis
    values, vectors = values[:keep], vectors[:, :keep]
    scale = np.sqrt(np.maximum(values, 1e-12))
    coords = (vectors * scale).astype(np.float32)  # = xc @ basis.T
    basis = (vectors.T.astype(np.float32) @ xc) / scale[:, None].astype(np.float32)
    return ShotMap(np.asarray(frames, np.int64), coords, mean.astype(np.float32), basis,
                   (values / total).astype(np.float32))


CLUSTER_COMPONENTS = 16  # the map keeps this many principal coordinates: two are drawn, all are clustered


def shot_map(entry, components: int = CLUSTER_COMPONENTS) -> tuple[ShotMap, np.ndarray]:
    """The map stored with a cached shot model (computed and stored on first use) and the entry's latents."""
    frames, latents = entry.load_latents()
    path = os.path.join(entry.path, MAP_FILE)
    if os.path.exists(path):
        try:
            stored = ShotMap.load(path)
        except Exception:  # damaged: it is derived data, made again below
            stored = None
        if stored is not None and list(stored.frames) == list(frames) and stored.coords.shape[1] >= components:
            return stored, latents
    made = latent_map(latents, frames, components)
    try:
        made.save(path)
    except Exception:  # OSError, or safetensors' own error: a read-only (published) cache; made again next time
        pass
    return made, latents


# --- clusters -----------------------------------------------------------------------------------------------------

def kmeans(points: np.ndarray, k: int, seed: int = 0, attempts: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """k-means++ (OpenCV) on points (N, d): labels (N,) int and centres (k, d). Deterministic for a seed."""
    import cv2

    points = np.ascontiguousarray(points, dtype=np.float32)
    if not 1 <= k <= len(points):
        raise ParameterError(f"clusters {k}: between 1 and the number of frames ({len(points)})")
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 1e-4)
    _, labels, centres = cv2.kmeans(points, k, None, criteria, attempts, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel().astype(np.int64)
    # Clusters numbered by the first frame they hold, so cluster 0 starts the shot.
    order = sorted(range(k), key=lambda c: int(np.argmax(labels == c)) if np.any(labels == c) else len(labels))
    relabel = np.empty(k, np.int64)
    relabel[order] = np.arange(k)
    return relabel[labels], centres[order]


# Long shots (the paper summarises 15,679 frames): whole N x N matrices would not fit, so distances are taken in
# blocks of rows and the silhouette on a sample of the frames.
BLOCK_ROWS = 512
SILHOUETTE_SAMPLE = 2000


def _sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) squared Euclidean distances, float64, never negative."""
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0)


def silhouette(points: np.ndarray, labels: np.ndarray, sample: int = SILHOUETTE_SAMPLE, seed: int = 0) -> float:
    """Mean silhouette coefficient (-1..1, higher: tighter, better separated clusters), over a seeded random sample
    of ``sample`` points when there are more: memory O(block x sample), whatever the shot's length."""
    points = np.asarray(points, np.float64)
    labels = np.asarray(labels)
    if len(points) > sample:
        keep = np.sort(np.random.default_rng(seed).choice(len(points), sample, replace=False))
        points, labels = points[keep], labels[keep]
    present = sorted(set(labels.tolist()))
    scores = np.zeros(len(points))
    for start in range(0, len(points), BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        d = np.sqrt(_sq_distances(points[rows], points))
        for i, label in enumerate(labels[rows]):
            same = labels == label
            if same.sum() < 2 or len(present) < 2:
                continue
            a = d[i, same].sum() / (same.sum() - 1)
            b = min(d[i, labels == other].mean() for other in present if other != label)
            scores[start + i] = (b - a) / max(a, b, 1e-12)
    return float(scores.mean())


def estimate_k(points: np.ndarray, k_max: int = 8, seed: int = 0) -> int:
    """The k in 2..k_max with the best silhouette (1 when the shot is too short to split)."""
    best, best_score = 1, -np.inf
    for k in range(2, min(k_max, len(points) - 1) + 1):
        score = silhouette(points, kmeans(points, k, seed)[0], seed=seed)
        if score > best_score:
            best, best_score = k, score
    return best


def medoids(latents: np.ndarray, labels: np.ndarray) -> list[int]:
    """Per cluster (0, 1, ...), the index of its medoid: the member frame nearest all the others in latent space.
    Distances summed in blocks of rows: memory O(block x cluster), not O(cluster^2)."""
    x = flatten(latents)
    out = []
    for c in range(int(labels.max()) + 1):
        members = np.flatnonzero(labels == c)
        sub = x[members].astype(np.float64)
        sums = np.concatenate([np.sqrt(_sq_distances(sub[s:s + BLOCK_ROWS], sub)).sum(1)
                               for s in range(0, len(sub), BLOCK_ROWS)])
        out.append(int(members[np.argmin(sums)]))
    return out


def latent_average(model, latents: np.ndarray, pads, iterations: int = 3) -> np.ndarray:
    """The decoded mean of latents (M, 12k, h, w), sharpened by ``iterations`` reprojections:
    (3, H, W) working range. The paper's average image: a plausible frame, not a blur."""
    decoded = model.decode(latents.mean(axis=0, keepdims=True).astype(np.float32), pads)
    if iterations:
        decoded = model.reproject(decoded, iterations)
    return decoded[0]


def pixel_average(frames: Sequence[np.ndarray]) -> np.ndarray:
    """The per-pixel mean of frames (any one shape), float32: the blur the latent average is compared with."""
    return np.mean(np.stack([np.asarray(f, np.float32) for f in frames]), axis=0)


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian of an (H, W, 3) image's grey level: higher is sharper."""
    import cv2

    grey = np.asarray(image, np.float32).mean(axis=2)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


# --- another shot through this one's model ------------------------------------------------------------------------

def cross_shot_matches(shot_map: ShotMap, shot_latents: np.ndarray, other_latents: np.ndarray) -> dict:
    """Another shot's frames against this shot's (the paper's cross-video alignment): for each of the other's codes
    (M, 12k, h, w; encoded by this shot's model at this shot's training size), the index of this shot's frame with
    the most similar code (cosine) and that similarity; and how much of this shot's map the other's frames cover.

    Returns {"matches": (M,) int, "similarity": (M,) float, "unique": matched frames / min(M, N), "spread": the
    other's spread on the map over this shot's own (RMS distance from each one's own centre, all map coordinates),
    "collapse": 1 - min(spread, 1)}: a shot the model cannot represent bunches up in a small region of the map
    (collapse near 1) and matches few frames."""
    a = flatten(other_latents).astype(np.float64)
    b = flatten(shot_latents).astype(np.float64)
    if a.shape[1] != b.shape[1]:
        raise ParameterError(f"align: codes of {a.shape[1]} values against this shot's {b.shape[1]}: encode the "
                             "other shot at this shot's training size")
    a /= np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b /= np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    matches = np.empty(len(a), np.int64)
    similarity = np.empty(len(a))
    for start in range(0, len(a), BLOCK_ROWS):
        sim = a[start:start + BLOCK_ROWS] @ b.T
        matches[start:start + len(sim)] = sim.argmax(1)
        similarity[start:start + len(sim)] = sim.max(1)

    def spread(coords: np.ndarray) -> float:  # RMS distance of a shot's points from their own centre
        return float(np.sqrt(((coords - coords.mean(0)) ** 2).sum(1).mean()))

    ratio = spread(shot_map.project(other_latents)) / max(spread(shot_map.coords), 1e-12)
    return {"matches": matches, "similarity": similarity,
            "unique": len(set(matches.tolist())) / max(1, min(len(a), len(b))), "spread": ratio,
            "collapse": 1.0 - min(ratio, 1.0)}


# --- cuts ---------------------------------------------------------------------------------------------------------

def latent_jumps(latents: np.ndarray) -> np.ndarray:
    """(N - 1,) cosine distances between consecutive frames' codes: jump t is from frame t to frame t + 1."""
    x = flatten(latents).astype(np.float64)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return 1.0 - (x[1:] * x[:-1]).sum(1)


def shot_cuts(latents: np.ndarray, sensitivity: float = 6.0, window: int = 8, min_shot: int = 4) -> list[int]:
    """Indices of the frames that begin a new shot: a jump that towers over the jumps around it.

    A jump counts when it exceeds the median of its ``window`` neighbours on each side by ``sensitivity`` times their
    median absolute deviation (motion makes jumps of its own; a cut is an outlier against them) and is the largest
    within ``min_shot`` frames.
    """
    d = latent_jumps(latents)
    cuts = []
    for t in range(len(d)):
        around = np.concatenate([d[max(0, t - window):t], d[t + 1:t + 1 + window]])
        if len(around) < 2:
            continue
        med = np.median(around)
        mad = np.median(np.abs(around - med)) + 1e-6
        near = d[max(0, t - min_shot):t + min_shot + 1]
        if d[t] > med + sensitivity * 1.4826 * mad and d[t] >= near.max() and d[t] > 2.0 * med:
            cuts.append(t + 1)
    return cuts


def cut_scores(found: Sequence[int], truth: Sequence[int], tolerance: int = 1) -> dict:
    """Precision and recall of detected cut frames against true ones, each true cut matched at most once."""
    unmatched = list(truth)
    hits = 0
    for f in found:
        match = next((t for t in unmatched if abs(t - f) <= tolerance), None)
        if match is not None:
            unmatched.remove(match)
            hits += 1
    return {"precision": hits / len(found) if found else 1.0, "recall": hits / len(truth) if truth else 1.0,
            "found": list(found), "truth": list(truth)}


# --- loops and trajectories ------------------------------------------------------------------------------------------

def loop_points(latents: np.ndarray, min_length: int, max_length: int | None = None, count: int = 5) -> list[tuple]:
    """The best (start, end, similarity) loops: frame ``end`` looks like frame ``start`` (cosine similarity of their
    codes), so playing start..end-1 and jumping back to start is nearly seamless. Best first. Searched in blocks of
    start frames (memory O(block x N)); ties go to the earlier start, then the earlier end."""
    x = flatten(latents).astype(np.float64)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    n = len(x)
    max_length = max_length or n
    if min_length >= n:
        raise ParameterError(f"loop length {min_length}: longer than the shot ({n} frames)")
    candidates: list[tuple[float, int, int]] = []
    for start in range(0, n - min_length, BLOCK_ROWS):
        rows = np.arange(start, min(start + BLOCK_ROWS, n - min_length))
        sim = x[rows] @ x.T
        gap = np.arange(n)[None, :] - rows[:, None]
        sim[(gap < min_length) | (gap > max_length)] = -np.inf
        flat = sim.ravel()
        take = min(count, int(np.isfinite(flat).sum()))
        if take == 0:
            continue
        best = np.argpartition(-flat, take - 1)[:take]
        candidates += [(float(flat[k]), int(rows[k // n]), int(k % n)) for k in best]
    if not candidates:
        raise ParameterError(f"loop length {min_length}: longer than the shot ({n} frames)")
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [(i, j, s) for s, i, j in candidates[:count]]


def endless_loop(start: int, end: int, length: int, transition: int = 4,
                 count: int | None = None) -> list[tuple[int, int, float]]:
    """A loop of ``length`` output frames over source indices start..end-1, as (a, b, alpha) steps: show
    (1 - alpha) x_a + alpha x_b (decoded latents, or any in-between method). Frame ``end`` looks like ``start``, so
    the jump from end-1 back to start is hidden by a cross-fade of ``transition`` frames: the last frames of each pass
    fade toward the frames that lead into ``start`` (start-1, start-2, ...), or, where the shot has too few frames
    before ``start``, the first frames of each pass fade from the frames that follow ``end-1`` (end, end+1, ...;
    ``count``: the source frames there are, default end). Every pass is the same, so a loop of whole passes also
    leads from its last frame into its first (a video texture)."""
    span = end - start
    if span < 2:
        raise ParameterError(f"loop {start}-{end}: needs two frames or more")
    count = end if count is None else count
    transition = max(0, min(transition, span // 2))
    before, after = min(transition, start), min(transition, count - end)
    steps = []
    for k in range(length):
        p = k % span
        a = start + p
        if before >= after and p >= span - before:  # fade out toward the frames before start
            steps.append((a, a - span, (p - (span - before) + 1) / (before + 1)))
        elif after > before and p < after:  # fade in from the frames after end-1
            steps.append((a, a + span, 1.0 - (p + 1) / (after + 1)))
        else:
            steps.append((a, a, 0.0))
    return steps


def trajectory_frames(shot_map: ShotMap, points: Sequence[Sequence[float]], step: float | None = None) -> list[int]:
    """Frame indices along a path drawn on the map: the path resampled every ``step`` (default: a fiftieth of the
    map's extent), each sample's nearest frame, repeats dropped."""
    pts = np.asarray(points, np.float64)
    if len(pts) == 0:
        return []
    extent = float(np.ptp(shot_map.coords[:, :2], axis=0).max()) or 1.0
    step = step or extent / 50.0
    samples = [pts[0]]
    for a, b in zip(pts[:-1], pts[1:]):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / step)))
        samples.extend(a + (b - a) * t for t in np.linspace(0, 1, n + 1)[1:])
    frames: list[int] = []
    for s in samples:
        f = shot_map.nearest(s)
        if not frames or frames[-1] != f:
            frames.append(f)
    return frames


def frame_curve(frames: Sequence[int], output_first: int) -> str:
    """A frame curve that Retime renders (``--timing curve --curve FILE``): output frame output_first + i shows
    source frame ``frames[i]``, one ``output source`` line each."""
    if not frames:
        raise ParameterError("frame curve: no frames (draw a path on the map first)")
    lines = ["# vsae frame curve: output source (vsae retime --timing curve --curve THIS_FILE)"]
    lines += [f"{output_first + i} {int(f)}" for i, f in enumerate(frames)]
    return "\n".join(lines) + "\n"


def summary_strip(images: Sequence[np.ndarray], height: int = 128) -> np.ndarray:
    """Images (H, W, 3) side by side at a common ``height``, in the order given: (height, sum of widths, 3)."""
    import cv2

    if not images:
        raise ParameterError("summary: no images")
    row = []
    for img in images:
        h, w = img.shape[:2]
        row.append(cv2.resize(np.asarray(img, np.float32), (max(1, round(w * height / h)), height),
                              interpolation=cv2.INTER_AREA))
    return np.concatenate(row, axis=1)


# --- one shot, explored ---------------------------------------------------------------------------------------------

class ShotExplorer:
    """A cached shot model with its latents and map: what the panel and ``vsae explore`` work on.

    Images come out as (H, W, 3) scene-linear float32 at the model's training size; the model loads on first need
    (opening the map needs only the latents).
    """

    def __init__(self, entry, components: int = CLUSTER_COMPONENTS, backend: str = "auto"):
        from vsae.core.model.padding import stride_pads

        self.entry = entry
        self.map, self.latents = shot_map(entry, components)
        self.frames = [int(f) for f in self.map.frames]
        width, height = entry.manifest["training_size"]
        self.size = (width, height)
        self.pads = stride_pads(height, width)[0]
        self.backend = backend
        self.label = entry.manifest["source"]["label"]
        self._model = None
        self._images: dict = {}
        self._plates: list[np.ndarray] | ShotSequence | None = None

    @classmethod
    def from_arrays(cls, model, latents: np.ndarray, frames: Sequence[int], label: str,
                    plates: np.ndarray | None = None, components: int = CLUSTER_COMPONENTS) -> ShotExplorer:
        """A shot not in the model cache (a benchmark's model): its ShotModel, latents (N, 12k, h, w), frame
        numbers and, optionally, its plates (N, H, W, 3) scene-linear."""
        from vsae.core.model.padding import stride_pads

        self = cls.__new__(cls)
        self.entry, self.latents, self.frames, self.label = None, latents, [int(f) for f in frames], label
        self.map = latent_map(latents, frames, components)
        height, width = model.decode(latents[:1]).shape[2:]
        if plates is not None:
            height, width = plates.shape[1:3]
        self.size, self.pads = (width, height), stride_pads(height, width)[0]
        self.backend, self._model, self._images = model.resolved_backend(), model, {}
        self._plates = list(plates) if plates is not None else None
        return self

    @property
    def model(self):
        if self._model is None:
            self._model = self.entry.load_model(backend=self.backend)
        return self._model

    def _out(self, working: np.ndarray) -> np.ndarray:
        from vsae.core.model.inference import working_to_frame

        return working_to_frame(working)

    def image(self, index: int) -> np.ndarray:
        """Frame ``index`` (of ``frames``) as the model decodes it, cached."""
        if index not in self._images:
            if len(self._images) > 256:
                self._images.pop(next(iter(self._images)))
            self._images[index] = self._out(self.model.decode(self.latents[index:index + 1], self.pads)[0])
        return self._images[index]

    def average(self, indices: Sequence[int], iterations: int = 3) -> np.ndarray:
        """The decoded mean latent of those frames, reprojected ``iterations`` times."""
        if len(indices) == 0:
            raise ParameterError("average: no frames selected")
        return self._out(latent_average(self.model, self.latents[list(indices)], self.pads, iterations))

    def plate(self, index: int) -> np.ndarray | None:
        """Frame ``index`` as shot (read from the plates the model was trained on, at the training size), or None
        where the plates cannot be read any more."""
        import cv2

        from vsae.core.io.sequence import open_shot

        try:
            if self._plates is None:
                self._plates = open_shot(self.label, None, "auto")
            rgb = (self._plates[index] if isinstance(self._plates, list)
                   else self._plates.read(self.frames[index]).rgb)
        except Exception:  # moved, renamed, offline: the model's own picture will do
            return None
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            rgb = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA)
        return rgb

    def pixel_mean(self, indices: Sequence[int]) -> np.ndarray:
        """The per-pixel mean of the selected plates (of their decoded frames where the plates are gone): the blur
        the latent average is compared with."""
        plates = [self.plate(i) for i in indices]
        found = [p for p in plates if p is not None]
        return pixel_average(found if len(found) == len(plates) else [self.image(i) for i in indices])

    def medoid(self, indices: Sequence[int]) -> int:
        """The selected frame nearest all the others in latent space."""
        indices = list(indices)
        if not indices:
            raise ParameterError("medoid: no frames selected")
        return indices[medoids(self.latents[indices], np.zeros(len(indices), np.int64))[0]]

    def clusters(self, k: int | None = None, seed: int = 0) -> tuple[np.ndarray, list[int]]:
        """Labels (N,) of k-means on the latents' principal coordinates (up to CLUSTER_COMPONENTS of them; k
        estimated when None) and each cluster's medoid index."""
        points = self.map.coords
        k = k or estimate_k(points, seed=seed)
        labels, _ = kmeans(points, k, seed)
        return labels, medoids(self.latents, labels)

    def summary(self, k: int | None = None, height: int = 128) -> np.ndarray:
        """Medoids of the clusters in temporal order, side by side (scene-linear)."""
        _, meds = self.clusters(k)
        return summary_strip([self.image(i) for i in sorted(meds)], height)

    def cuts(self, sensitivity: float = 6.0) -> list[int]:
        """Frame numbers that begin a new shot."""
        return [self.frames[i] for i in shot_cuts(self.latents, sensitivity)]

    def render_steps(self, steps: Sequence[tuple[int, int, float]]) -> list[np.ndarray]:
        """Images of (a, b, alpha) steps (``endless_loop``): decoded blends of two frames' latents."""
        from vsae.core.ops.retime import interpolate_latents

        out = []
        for a, b, alpha in steps:
            if alpha == 0.0:
                out.append(self.image(a))
            else:
                z = interpolate_latents(self.latents[a:a + 1], self.latents[b:b + 1], alpha)
                out.append(self._out(self.model.decode(z, self.pads)[0]))
        return out
