"""The video-specific autoencoder: encoder f, decoder g, no skip connections, latent (12k) x (h/64) x (w/64).

Two architectures share that latent contract:

- ``paper``: the paper's layers as published. Encoder: six 5x5 convs, the first four with stride 2, the last two
  each followed by a 2x2 max-pool; batch-norm + ReLU after each. Decoder: six 4x4 transposed convs, stride 2.
- ``fast`` (default): shaped for a CPU. A 4x space-to-depth stem replaces the two full-resolution layers (the
  costliest part of the paper's net), 3x3 convs, nearest-neighbour upsampling + conv in the decoder and a 4x
  pixel-shuffle output. Same depth (six encoder and six decoder stages), same latent shape. ``half_width`` > 0
  gives stem and output real stages at h/2 (issue 19's lever 1: capacity where detail lives). ``skip_scale``
  adds a path from the encoder at that scale to the decoder's last stage, used by reprojection only (lever 5).

Both are fully convolutional: ``pad_to_stride`` reflect-pads any frame to a multiple of 64 and ``crop_padding``
cuts the result back exactly. Pixels are in the working range of ``vsae.core.colour`` (tanh output, (-1, 1)).
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn as nn
import torch.nn.functional as F

from vsae.core.model.padding import Pads, crop_padding, stride_pads  # noqa: F401  (crop_padding works on tensors too)
from vsae.core.settings import STRIDE, ModelConfig


def pad_to_stride(x: torch.Tensor, stride: int = STRIDE) -> tuple[torch.Tensor, Pads]:
    """Reflect-pad height and width up to multiples of ``stride`` (see ``vsae.core.model.padding``).

    x: (B, C, H, W). Returns the padded tensor and the pads for ``crop_padding``.
    """
    pads, mode = stride_pads(x.shape[-2], x.shape[-1], stride)
    if not any(pads):
        return x, pads
    return F.pad(x, (pads[2], pads[3], pads[0], pads[1]), mode=mode), pads


def _conv_bn_relu(cin: int, cout: int, kernel: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _paper_encoder(k: int) -> nn.Sequential:
    widths = [3, k, 2 * k, 4 * k, 8 * k, 8 * k, 12 * k]
    layers = [_conv_bn_relu(widths[i], widths[i + 1], 5, stride=2) for i in range(4)]
    for i in (4, 5):
        layers.append(nn.Sequential(_conv_bn_relu(widths[i], widths[i + 1], 5), nn.MaxPool2d(2, 2)))
    return nn.Sequential(*layers)


def _paper_decoder(k: int) -> nn.Sequential:
    widths = [12 * k, 8 * k, 8 * k, 4 * k, 2 * k, k]
    layers = []
    for i in range(5):
        layers.append(nn.Sequential(nn.ConvTranspose2d(widths[i], widths[i + 1], 4, 2, 1, bias=False),
                                    nn.BatchNorm2d(widths[i + 1]), nn.ReLU(inplace=True)))
    layers.append(nn.Sequential(nn.ConvTranspose2d(widths[5], 3, 4, 2, 1), nn.Tanh()))
    return nn.Sequential(*layers)


class _Upsample(nn.Module):
    """Nearest-neighbour x2 then 3x3 conv + BN + ReLU: no checkerboard, and cheap on a CPU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = _conv_bn_relu(cin, cout, 3)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


def _fast_stem(c0: int, half: int) -> nn.Sequential:
    """Full resolution to h/4: a 4x space-to-depth, or (``half`` > 0) a 2x one, a conv stage of ``half`` channels
    at h/2 and a strided conv to h/4. One module either way, so the encoder keeps six stages (pixel codes)."""
    if not half:
        return nn.Sequential(nn.PixelUnshuffle(4), _conv_bn_relu(48, c0, 3))
    return nn.Sequential(nn.PixelUnshuffle(2), _conv_bn_relu(12, half, 3), _conv_bn_relu(half, c0, 3, stride=2))


def _fast_head(c0: int, half: int) -> nn.Sequential:
    """h/4 to full resolution: one 4x pixel shuffle, or (``half`` > 0) an upsampling stage of ``half`` channels at
    h/2, then a 2x shuffle."""
    if not half:
        return nn.Sequential(nn.Conv2d(c0, 48, 3, padding=1), nn.PixelShuffle(4), nn.Tanh())
    return nn.Sequential(_Upsample(c0, half), nn.Conv2d(half, 12, 3, padding=1), nn.PixelShuffle(2), nn.Tanh())


class _ReprojectionSkip(nn.Module):
    """Encoder features at h/``scale`` carried to the decoder's last features (h/4, or h/2 with ``half_width``),
    for reprojection only: no batch norm, so the decoder's statistics are the same with or without it, and the last
    conv starts at zero, so a new model reprojects exactly as its latent path decodes."""

    def __init__(self, cin: int, cout: int, upscale: int):
        super().__init__()
        self.upscale = upscale
        last = nn.Conv2d(cout, cout, 3, padding=1)
        self.mix = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.ReLU(inplace=True), last)
        for p in last.parameters():  # weight and bias
            nn.init.zeros_(p)

    def forward(self, x):
        return F.interpolate(self.mix(x), scale_factor=self.upscale, mode="bilinear", align_corners=False)


def _fast_encoder(k: int, c: tuple, half: int = 0) -> nn.Sequential:
    return nn.Sequential(
        _fast_stem(c[0], half),  # h/4
        _conv_bn_relu(c[0], c[1], 3, stride=2),  # h/8
        _conv_bn_relu(c[1], c[2], 3, stride=2),  # h/16
        _conv_bn_relu(c[2], c[3], 3, stride=2),  # h/32
        _conv_bn_relu(c[3], c[4], 3, stride=2),  # h/64
        nn.Sequential(nn.Conv2d(c[4], 12 * k, 3, padding=1)),  # latent: linear, so blends and PCA see raw codes
    )


def _fast_decoder(k: int, c: tuple, half: int = 0) -> nn.Sequential:
    return nn.Sequential(
        _conv_bn_relu(12 * k, c[4], 3),  # h/64
        _Upsample(c[4], c[3]),  # h/32
        _Upsample(c[3], c[2]),  # h/16
        _Upsample(c[2], c[1]),  # h/8
        _Upsample(c[1], c[0]),  # h/4
        _fast_head(c[0], half),  # full resolution
    )


class ShotAutoencoder(nn.Module):
    """f and g of one shot.

    >>> model = ShotAutoencoder(ModelConfig(k=8)).eval()
    >>> z = model.encode(torch.zeros(1, 3, 128, 192))
    >>> tuple(z.shape)
    (1, 96, 2, 3)
    >>> tuple(model.decode(z).shape)
    (1, 3, 128, 192)
    """

    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.config = config
        if config.arch == "paper":
            self.encoder, self.decoder = _paper_encoder(config.k), _paper_decoder(config.k)
        else:
            self.encoder = _fast_encoder(config.k, config.stage_widths, config.half_width)
            self.decoder = _fast_decoder(config.k, config.decoder_stage_widths, config.half_width)
        self.skip = None
        if config.skip_scale:
            self._skip_stage = {4: 0, 8: 1, 16: 2, 32: 3}[config.skip_scale]  # encoder stage at that scale
            target = 2 if config.half_width else 4
            self.skip = _ReprojectionSkip(config.stage_widths[self._skip_stage],
                                          config.half_width or config.decoder_stage_widths[0],
                                          config.skip_scale // target)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 3, H, W) working range, H and W multiples of 64 -> latent (B, 12k, H/64, W/64)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, 12k, h, w) -> (B, 3, 64h, 64w) in (-1, 1)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor, keep_skip: torch.Tensor | None = None) -> torch.Tensor:
        """Reprojection g(f(x)). x: (B, 3, H, W), H and W multiples of 64 -> (B, 3, H, W) in (-1, 1).

        With ``skip_scale`` the decoder also sees the encoder's features at that scale (lever 5: a finer path for
        pixel operations; ``encode``/``decode`` never use it). keep_skip: (B,) 0/1 per frame, for training, which
        drops the skip for some frames so that the latent path alone still decodes; None keeps it for all.
        """
        if self.skip is None:
            return self.decode(self.encode(x))
        for i, stage in enumerate(self.encoder):
            x = stage(x)
            if i == self._skip_stage:
                source = x
        head = cast(nn.Sequential, self.decoder[-1])
        y = head[:-3](self.decoder[:-1](x))  # the head ends conv, pixel shuffle, tanh: the skip joins before them
        skip = self.skip(source)
        if keep_skip is not None:
            skip = skip * keep_skip.view(-1, 1, 1, 1).to(skip.dtype)
        return head[-3:](y + skip)

    def hypercolumn_layers(self) -> list[nn.Module]:
        """The encoder's six stages, whose outputs make pixel codes."""
        return list(self.encoder)
