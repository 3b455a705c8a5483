"""The video-specific autoencoder: encoder f, decoder g, no skip connections, latent (12k) x (h/64) x (w/64).

Two architectures share that latent contract:

- ``paper``: the paper's layers as published. Encoder: six 5x5 convs, the first four with stride 2, the last two
  each followed by a 2x2 max-pool; batch-norm + ReLU after each. Decoder: six 4x4 transposed convs, stride 2.
- ``fast`` (default): shaped for a CPU. A 4x space-to-depth stem replaces the two full-resolution layers (the
  costliest part of the paper's net), 3x3 convs, nearest-neighbour upsampling + conv in the decoder and a 4x
  pixel-shuffle output. Same depth (six encoder and six decoder stages), same latent shape.

Both are fully convolutional: ``pad_to_stride`` reflect-pads any frame to a multiple of 64 and ``crop_padding``
cuts the result back exactly. Pixels are in the working range of ``vsae.core.colour`` (tanh output, (-1, 1)).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .padding import Pads, crop_padding, stride_pads  # noqa: F401  (crop_padding works on tensors too)
from .settings import STRIDE, ModelConfig


def pad_to_stride(x: torch.Tensor, stride: int = STRIDE) -> tuple[torch.Tensor, Pads]:
    """Reflect-pad height and width up to multiples of ``stride`` (see ``vsae.core.padding``).

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


def _fast_encoder(k: int, c: tuple) -> nn.Sequential:
    return nn.Sequential(
        nn.Sequential(nn.PixelUnshuffle(4), _conv_bn_relu(48, c[0], 3)),  # h/4
        _conv_bn_relu(c[0], c[1], 3, stride=2),  # h/8
        _conv_bn_relu(c[1], c[2], 3, stride=2),  # h/16
        _conv_bn_relu(c[2], c[3], 3, stride=2),  # h/32
        _conv_bn_relu(c[3], c[4], 3, stride=2),  # h/64
        nn.Sequential(nn.Conv2d(c[4], 12 * k, 3, padding=1)),  # latent: linear, so blends and PCA see raw codes
    )


def _fast_decoder(k: int, c: tuple) -> nn.Sequential:
    return nn.Sequential(
        _conv_bn_relu(12 * k, c[4], 3),  # h/64
        _Upsample(c[4], c[3]),  # h/32
        _Upsample(c[3], c[2]),  # h/16
        _Upsample(c[2], c[1]),  # h/8
        _Upsample(c[1], c[0]),  # h/4
        nn.Sequential(nn.Conv2d(c[0], 48, 3, padding=1), nn.PixelShuffle(4), nn.Tanh()),  # h/2 and h in one shuffle
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
            self.encoder = _fast_encoder(config.k, config.stage_widths)
            self.decoder = _fast_decoder(config.k, config.decoder_stage_widths)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 3, H, W) working range, H and W multiples of 64 -> latent (B, 12k, H/64, W/64)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, 12k, h, w) -> (B, 3, 64h, 64w) in (-1, 1)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reprojection g(f(x)). x: (B, 3, H, W), H and W multiples of 64."""
        return self.decode(self.encode(x))

    def hypercolumn_layers(self) -> list[nn.Module]:
        """The encoder's six stages, whose outputs make pixel codes."""
        return list(self.encoder)
