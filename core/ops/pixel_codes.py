"""Pixel codes: hypercolumns of the encoder, one descriptor per pixel of a coarse grid.

The paper's pixel code f_i(x) stacks the outputs of the encoder's six layers, resized to the input grid (2176
numbers per pixel at k=64). Kept at full resolution that is ~3.5 GB per 480p frame, so here the stages are resized
to a grid of ``stride`` pixels (4 by default: the fast arch's first stage), each stage is L2-normalised on its own
(so the 384-channel latent does not drown the 64-channel first stage) and the stack is projected onto its leading
principal components (``PixelCodeBasis``), which keeps cosine similarity cheap enough for local search.

Arrays: frames (H, W, 3) float32 working range; codes (h, w, D) float32, unit length along D.
"""

from __future__ import annotations

import math

import numpy as np

from vsae.errors import ParameterError


def grid_size(height: int, width: int, stride: int) -> tuple[int, int]:
    """(h, w) of the code grid of an H x W frame."""
    return math.ceil(height / stride), math.ceil(width / stride)


def hypercolumns(shot_model, frame: np.ndarray, stride: int = 4, layers: int = 6,
                 image_weight: float = 1.0) -> np.ndarray:
    """Stacked, per-stage L2-normalised encoder activations of one frame on a grid of ``stride`` pixels.

    frame: (H, W, 3) float32 working range -> (ceil(H/stride), ceil(W/stride), D) float32, D = sum of the stage
    widths (1120 for the default k=32). layers: how many encoder stages, from the first, make the code.
    image_weight: the frame's own colour (area-averaged onto the grid) leads the stack with this weight against the
    encoder stages' together (0: left out): the encoder's first stage already sees 4x4 pixels, and small objects'
    edges need the pixels themselves.
    """
    import torch
    import torch.nn.functional as F

    from vsae.core.model.autoencoder import pad_to_stride

    if stride < 1:
        raise ParameterError(f"stride {stride}: must be at least 1")
    module = shot_model.torch_module()
    h, w = frame.shape[:2]
    gh, gw = grid_size(h, w, stride)
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(frame.transpose(2, 0, 1)))[None].to(shot_model._device)
        x, pads = pad_to_stride(x)
        feats = []
        for stage in module.hypercolumn_layers()[:layers]:
            x = stage(x)
            # Crop the stride padding at this stage's scale, then resample onto the common grid.
            scale = x.shape[-1] / (w + pads[2] + pads[3])
            top, left = pads[0] * scale, pads[2] * scale
            crop = x[..., int(top):int(top) + max(1, round(h * scale)), int(left):int(left) + max(1, round(w * scale))]
            f = F.interpolate(crop.float(), size=(gh, gw), mode="bilinear", align_corners=False)
            feats.append(F.normalize(f, dim=1))
        stack = [f / math.sqrt(max(len(feats), 1)) for f in feats]  # unit length together
        if image_weight > 0:
            colour = torch.from_numpy(np.ascontiguousarray(frame.transpose(2, 0, 1)))[None].float()
            stack.insert(0, F.adaptive_avg_pool2d(colour, (gh, gw)).to(x.device) * (image_weight / math.sqrt(3.0)))
        codes = torch.cat(stack, dim=1)[0]
    return np.ascontiguousarray(codes.permute(1, 2, 0).cpu().numpy())


class PixelCodeBasis:
    """A PCA basis for a shot's pixel codes: ``project`` maps (h, w, D) codes to (h, w, dims), unit length.

    Fitted on the codes of the keyed frames: what matters is telling apart what those frames hold.
    """

    def __init__(self, mean: np.ndarray, components: np.ndarray):
        self.mean, self.components = mean.astype(np.float32), components.astype(np.float32)

    @classmethod
    def fit(cls, codes: list[np.ndarray], dims: int = 64, sample: int = 8000, seed: int = 0) -> PixelCodeBasis:
        flat = np.concatenate([c.reshape(-1, c.shape[-1]) for c in codes])
        if len(flat) > sample:
            flat = flat[np.random.default_rng(seed).choice(len(flat), sample, replace=False)]
        mean = flat.mean(axis=0)
        # Principal axes from the small D x D covariance (a float32 product; the eigen-solve in float64).
        centred = (flat - mean).astype(np.float32)
        values, vectors = np.linalg.eigh((centred.T @ centred).astype(np.float64) / max(len(flat) - 1, 1))
        order = np.argsort(values)[::-1][:min(dims, flat.shape[1])]
        return cls(mean, vectors[:, order].T)

    def project(self, codes: np.ndarray) -> np.ndarray:
        """(h, w, D) -> (h, w, dims) float32, L2-normalised along the last axis."""
        out = (codes.reshape(-1, codes.shape[-1]) - self.mean) @ self.components.T
        out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-8
        return out.reshape(*codes.shape[:2], -1).astype(np.float32)
