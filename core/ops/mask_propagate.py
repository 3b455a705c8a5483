"""Mask propagation by pixel codes: a matte keyed on some frames carried through the shot.

Each pixel of a frame looks, within a local window, at the pixels of reference frames (the nearest keyed frame,
whose matte is known, and the few frames just propagated); it takes the ``topk`` most similar pixel codes (cosine
similarity), weights them by a softmax with ``temperature`` and averages their matte values. References are the
keyed frame (it holds the truth, so errors do not accumulate) and the last ``previous`` frames (they follow
deformation). Frames between two keys blend the forward and backward chains by temporal distance.

Arrays: codes (h, w, D) float32 on the pixel-code grid; grid mattes (h, w) float32 in [0, 1]; full mattes (H, W).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

import numpy as np

from vsae.errors import ParameterError
from vsae.core.model.inference import ModelSource
from vsae.core.ops.pixel_codes import PixelCodeBasis, grid_size


@dataclass(frozen=True)
class PropagationSettings:
    stride: int = 4  # pixels per code-grid cell
    radius: int = 12  # search window half-size, in grid cells (48 pixels at stride 4)
    topk: int = 10
    temperature: float = 0.05
    previous: int = 3  # most recent propagated frames used as references, beside the keyed frame
    dims: int = 64  # principal components of the pixel codes kept
    layers: int = 6  # encoder stages in the pixel code (6: the paper's hypercolumn)
    image_weight: float = 8.0  # the frame's colour in the pixel code (see vsae.core.ops.pixel_codes.hypercolumns)
    key_search: str = "global"  # the keyed frame searched over the whole frame (global) or the window (local)


def mask_to_grid(mask: np.ndarray, stride: int) -> np.ndarray:
    """(H, W) matte -> (h, w) coverage of each grid cell (area average)."""
    import cv2

    gh, gw = grid_size(mask.shape[0], mask.shape[1], stride)
    return cv2.resize(mask.astype(np.float32), (gw, gh), interpolation=cv2.INTER_AREA)


def grid_to_mask(grid: np.ndarray, height: int, width: int) -> np.ndarray:
    """(h, w) grid matte -> (H, W), bilinear."""
    import cv2

    return np.clip(cv2.resize(grid.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)


def propagate_step(target: np.ndarray, refs: Sequence[tuple[np.ndarray, np.ndarray]],
                   settings: PropagationSettings = PropagationSettings(),
                   global_refs: Sequence[tuple[np.ndarray, np.ndarray]] = (), block: int = 8,
                   chunk: int = 96, global_keys: int = 6144) -> np.ndarray:
    """The matte of ``target`` from reference frames.

    target: (h, w, d) unit codes; refs: [(codes (h, w, d), matte (h, w))] searched within ``settings.radius``;
    global_refs: the same, searched over the whole frame (the keyed frame: what reappears after an occlusion or
    has moved far is found there). Returns (h, w) float32 in [0, 1].
    Local search takes target pixels in blocks of ``block`` x ``block``; each block compares with a window of
    (block + 2 radius)^2 cells of every reference in one matrix product, ``chunk`` blocks at a time (bounded memory).
    The ``topk`` best matches over all references are averaged with softmax weights. Global references are
    sampled down to ``global_keys`` cells (half matte, half the rest), which bounds their cost at any frame size.
    """
    import torch
    import torch.nn.functional as F

    h, w, d = target.shape
    r = settings.radius
    ph, pw = -h % block, -w % block
    win = block + 2 * r
    topk = settings.topk

    def padded(a: np.ndarray) -> torch.Tensor:  # (h, w, c) -> (1, c, h + ph, w + pw)
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
        t = t.permute(2, 0, 1)[None] if t.ndim == 3 else t[None, None]
        return F.pad(t, (0, pw, 0, ph))

    query = F.unfold(padded(target), block, stride=block)  # (1, d * bb, n)
    n, bb = query.shape[-1], block * block
    query = query.view(d, bb, n).permute(2, 1, 0)  # (n, bb, d)
    keys, labels = [], []
    inside = F.unfold(padded(np.ones((h, w), np.float32)), win, stride=block, padding=r)[0].T  # (n, ww)
    for codes, matte in refs:
        k = F.unfold(padded(codes), win, stride=block, padding=r).view(d, win * win, n)
        keys.append(k.permute(2, 0, 1).contiguous())  # (n, d, ww)
        lab = F.unfold(padded(matte), win, stride=block, padding=r)[0].T  # (n, ww)
        labels.append(torch.where(inside > 0.5, lab, torch.full_like(lab, float("nan"))))
    # Best matches per target pixel: (n, bb, topk) similarities and their matte values.
    top_sim = torch.full((n, bb, 0), float("-inf"))
    top_lab = torch.zeros((n, bb, 0))
    with torch.inference_mode():
        if keys:
            labels_t = torch.cat(labels, dim=1)  # (n, R ww)
            k_local = min(topk, labels_t.shape[1])
            sims, labs = [], []
            for s in range(0, n, chunk):
                sim = torch.cat([torch.bmm(query[s:s + chunk], k[s:s + chunk]) for k in keys], dim=2)
                lab = labels_t[s:s + chunk]
                sim = sim.masked_fill(torch.isnan(lab)[:, None, :], float("-inf"))  # outside the frame
                top, idx = sim.topk(k_local, dim=2)
                sims.append(top)
                labs.append(torch.gather(torch.nan_to_num(lab)[:, None, :].expand(-1, bb, -1), 2, idx))
            top_sim, top_lab = torch.cat(sims), torch.cat(labs)
        if global_refs:
            flat_q = query.reshape(n * bb, d)
            gk, gl = _global_keys(global_refs, d, global_keys)
            k_global = min(topk, len(gl))
            g_sim, g_lab = [], []
            for s in range(0, n * bb, 4096):
                top, idx = (flat_q[s:s + 4096] @ gk.T).topk(k_global, dim=1)
                g_sim.append(top)
                g_lab.append(gl[idx])
            top_sim = torch.cat([top_sim, torch.cat(g_sim).view(n, bb, -1)], dim=2)
            top_lab = torch.cat([top_lab, torch.cat(g_lab).view(n, bb, -1)], dim=2)
        top, idx = top_sim.topk(min(topk, top_sim.shape[2]), dim=2)
        weights = torch.softmax(top / settings.temperature, dim=2)
        out = (weights * torch.gather(top_lab, 2, idx)).sum(dim=2)  # (n, bb)
    # Fold the blocks back: (n, bb) -> (h + ph, w + pw).
    grid = F.fold(out.T[None], (h + ph, w + pw), block, stride=block)[0, 0]
    return np.ascontiguousarray(grid[:h, :w].numpy()).clip(0.0, 1.0)


def _global_keys(refs, d: int, limit: int):
    """Codes (m, d) and matte values (m,) of global references, at most ``limit`` of them: up to half from the matte
    (where the object is), the rest from elsewhere, picked by a fixed-seed draw."""
    import torch

    codes = np.concatenate([np.asarray(c, np.float32).reshape(-1, d) for c, _ in refs])
    labels = np.concatenate([np.asarray(m, np.float32).reshape(-1) for _, m in refs])
    if len(labels) > limit:
        rng = np.random.default_rng(0)
        inside, outside = np.nonzero(labels > 0)[0], np.nonzero(labels <= 0)[0]
        take_in = min(len(inside), limit // 2)
        pick = np.concatenate([rng.choice(inside, take_in, replace=False),
                               rng.choice(outside, min(len(outside), limit - take_in), replace=False)])
        codes, labels = codes[pick], labels[pick]
    return torch.from_numpy(np.ascontiguousarray(codes)), torch.from_numpy(np.ascontiguousarray(labels))


class Propagation:
    """Mattes for every frame of a shot from mattes on a few keyed frames, computed lazily and kept.

    codes_of(frame) -> (h, w, D) raw pixel codes of that frame (see ``vsae.core.ops.pixel_codes.hypercolumns``).
    frames: the shot's frame numbers in order. keys: frame -> (h, w) grid matte of each keyed frame.
    """

    def __init__(self, codes_of: Callable[[int], np.ndarray], frames: Sequence[int], keys: dict[int, np.ndarray],
                 settings: PropagationSettings = PropagationSettings(), keep_codes: int = 12):
        if not keys:
            raise ParameterError("mask propagate: no keyed frame")
        missing = [f for f in keys if f not in set(frames)]
        if missing:
            raise ParameterError(f"key frame {missing[0]}: not a frame of the shot ({frames[0]}-{frames[-1]})")
        self.frames = list(frames)
        self.index = {f: i for i, f in enumerate(self.frames)}
        self.keys = {f: np.asarray(m, np.float32) for f, m in sorted(keys.items())}
        self.settings = settings
        self._codes_of = codes_of
        self._codes: OrderedDict = OrderedDict()
        self._keep = keep_codes
        self._basis = PixelCodeBasis.fit([codes_of(f) for f in self.keys], settings.dims)
        self._chains: dict[tuple[int, int], dict[int, np.ndarray]] = {}

    def codes(self, frame: int) -> np.ndarray:
        """Projected codes of a frame, (h, w, dims); the most recent few are kept."""
        if frame in self._codes:
            self._codes.move_to_end(frame)
            return self._codes[frame]
        codes = self._basis.project(self._codes_of(frame))
        self._codes[frame] = codes
        if len(self._codes) > self._keep:
            self._codes.popitem(last=False)
        return codes

    def _chain(self, key: int, direction: int, frame: int) -> np.ndarray:
        chain = self._chains.setdefault((key, direction), {key: self.keys[key]})
        start, stop = self.index[key], self.index[frame]
        for i in range(start + direction, stop + direction, direction):
            f = self.frames[i]
            if f in chain:
                continue
            recent = [self.frames[j] for j in range(i - direction, start - direction, -direction)]
            recent = [g for g in recent if g != key][:self.settings.previous]
            refs = [(self.codes(g), chain[g]) for g in recent]
            key_ref = [(self.codes(key), self.keys[key])]
            if self.settings.key_search == "global":
                chain[f] = propagate_step(self.codes(f), refs, self.settings, global_refs=key_ref)
            else:
                chain[f] = propagate_step(self.codes(f), key_ref + refs, self.settings)
        return chain[frame]

    def grid_matte(self, frame: int) -> np.ndarray:
        """(h, w) soft matte of ``frame`` on the code grid."""
        if frame not in self.index:
            raise ParameterError(f"frame {frame}: not a frame of the shot ({self.frames[0]}-{self.frames[-1]})")
        if frame in self.keys:
            return self.keys[frame]
        before = [k for k in self.keys if k < frame]
        after = [k for k in self.keys if k > frame]
        if before and after:
            a, b = before[-1], after[0]
            wa = (self.index[b] - self.index[frame]) / (self.index[b] - self.index[a])
            return wa * self._chain(a, 1, frame) + (1 - wa) * self._chain(b, -1, frame)
        return self._chain(before[-1], 1, frame) if before else self._chain(after[0], -1, frame)


def refine_matte(matte: np.ndarray, guide: np.ndarray, radius: int = 4, eps: float = 1e-3) -> np.ndarray:
    """Edge-aware refinement of an upsampled matte: a guided filter (He et al.) with the frame as guide, so the
    matte's edges snap to the image's edges.

    matte: (H, W) in [0, 1]; guide: (H, W, 3) working range. Returns (H, W) float32 in [0, 1].
    """
    import cv2

    g = guide.mean(axis=2).astype(np.float32)
    p = matte.astype(np.float32)
    size = (2 * radius + 1, 2 * radius + 1)

    def box(a):
        return cv2.boxFilter(a, -1, size, borderType=cv2.BORDER_REFLECT)

    mean_g, mean_p = box(g), box(p)
    var_g = box(g * g) - mean_g * mean_g
    cov = box(g * p) - mean_g * mean_p
    a = cov / (var_g + eps)
    b = mean_p - a * mean_g
    return np.clip(box(a) * g + box(b), 0.0, 1.0)


@dataclass(frozen=True)
class MaskPropagateOptions:
    """Mask Propagate's options: the propagation's (``settings``), the long side in pixels the pixel codes are
    computed at (``working_size``; 0: the plate's size) and whether the matte's edges snap to the image's
    (``refine``, a guided filter of radius 2 x stride)."""

    settings: PropagationSettings = PropagationSettings()
    working_size: int = 1024
    refine: bool = True


class MaskPropagation:
    """Mask Propagate's whole algorithm over one shot: mattes keyed on some frames, carried to any other frame.

    frame(f) -> (H, W, 3) float32 scene-linear of the shot's frame f (asked only while ``matte`` runs); frames: the
    shot's frame numbers in order; keys: {frame: (H, W) float32 matte in [0, 1]}; shot_model: returns the ShotModel,
    asked for at the first frame that is not a key. ``matte(f)`` -> (H, W) float32 in [0, 1]: a key's own matte, or
    the propagated one (computed lazily, each chain kept for the frames after it).
    """

    def __init__(self, frame: Callable[[int], np.ndarray], frames: Sequence[int], keys: dict[int, np.ndarray],
                 shot_model: ModelSource, options: MaskPropagateOptions = MaskPropagateOptions()):
        import cv2

        if not keys:
            raise ParameterError("mask propagate: no keyed frame")
        self.keys = {f: np.asarray(m, np.float32) for f, m in keys.items()}
        self.height, self.width = next(iter(self.keys.values())).shape
        self.options = options
        limit = options.working_size
        scale = min(1.0, limit / max(self.width, self.height)) if limit else 1.0
        size = (max(1, round(self.width * scale)), max(1, round(self.height * scale)))

        def small(plane: np.ndarray) -> np.ndarray:
            return cv2.resize(plane, size, interpolation=cv2.INTER_AREA) if size != (self.width, self.height) \
                else plane

        self._frame, self._small, self._shot_model = frame, small, shot_model
        stride = options.settings.stride
        self._grids = {f: mask_to_grid(small(m), stride) for f, m in self.keys.items()}
        missing = [f for f in self._grids if f not in set(frames)]
        if missing:
            raise ParameterError(f"key frame {missing[0]}: not a frame of the shot ({frames[0]}-{frames[-1]})")
        self._frames = list(frames)
        self._model = None
        self._propagation: Propagation | None = None

    def _codes(self, f: int) -> np.ndarray:
        from vsae.core.colour import to_working
        from vsae.core.ops.pixel_codes import hypercolumns

        s = self.options.settings
        return hypercolumns(self._model, to_working(self._small(self._frame(f))), s.stride, s.layers, s.image_weight)

    def matte(self, f: int, refine: bool | None = None) -> np.ndarray:
        """(H, W) float32 in [0, 1] of frame f; ``refine`` overrides ``options.refine`` (the chain is shared)."""
        if f in self.keys:
            return self.keys[f]
        if self._propagation is None:
            self._model = self._shot_model()
            self._propagation = Propagation(self._codes, self._frames, self._grids, self.options.settings)
        matte = grid_to_mask(self._propagation.grid_matte(f), self.height, self.width)
        if self.options.refine if refine is None else refine:
            from vsae.core.colour import to_working

            matte = refine_matte(matte, to_working(self._frame(f)), radius=max(2, 2 * self.options.settings.stride))
        return matte


def jaccard(pred: np.ndarray, truth: np.ndarray) -> float:
    """J: intersection over union of two binary masks (1.0 when both are empty)."""
    pred, truth = pred > 0.5, truth > 0.5
    union = np.logical_or(pred, truth).sum()
    return 1.0 if union == 0 else float(np.logical_and(pred, truth).sum() / union)


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: float = 0.008) -> float:
    """F: DAVIS boundary measure, precision/recall of boundary pixels matched within ``tolerance`` x the image
    diagonal (dilated boundaries)."""
    import cv2

    def boundary(m):
        m = (m > 0.5).astype(np.uint8)
        return (m - cv2.erode(m, np.ones((3, 3), np.uint8))) > 0

    bp, bt = boundary(pred), boundary(truth)
    if not bp.any() and not bt.any():
        return 1.0
    if not bp.any() or not bt.any():
        return 0.0
    r = max(1, int(np.ceil(tolerance * np.hypot(*pred.shape))))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    near_t = cv2.dilate(bt.astype(np.uint8), disk) > 0
    near_p = cv2.dilate(bp.astype(np.uint8), disk) > 0
    precision = (bp & near_t).sum() / bp.sum()
    recall = (bt & near_p).sum() / bt.sum()
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))
