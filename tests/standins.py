"""Stand-ins for plumbing tests, so they need no trained model."""

import numpy as np


class BlurModel:
    """A stand-in shot model whose 'reprojection' is a box blur of ``size`` pixels: its passes, tiles, seams and
    held areas are visible in the output. Takes and returns (B, 3, H, W) like ``ShotModel.reproject``."""

    def __init__(self, size: int = 3):
        self.size = size

    def reproject(self, x, iterations=1):
        import cv2

        out = np.array(x, dtype=np.float32, copy=True)
        for _ in range(iterations):
            for b in range(out.shape[0]):
                out[b] = cv2.blur(out[b].transpose(1, 2, 0), (self.size, self.size)).transpose(2, 0, 1)
        return out


class FlatLatentModel(BlurModel):
    """A stand-in shot model whose latent is each frame's mean colour on the h/64 grid, decoded as flat colour:
    latent in-betweens are known exactly. Counts its ``encode`` calls."""

    def __init__(self):
        super().__init__(size=1)
        self.encodes = 0

    def encode(self, frames):
        from vsae.core.model.padding import stride_pads

        self.encodes += 1
        b, c, h, w = frames.shape
        pads, _ = stride_pads(h, w)
        mean = np.asarray(frames, np.float32).mean(axis=(2, 3))[:, :, None, None]
        return np.tile(mean, (1, 1, (h + pads[0] + pads[1]) // 64, (w + pads[2] + pads[3]) // 64)), pads

    def decode(self, latents, pads=(0, 0, 0, 0)):
        from vsae.core.model.padding import crop_padding

        return crop_padding(np.repeat(np.repeat(latents, 64, axis=2), 64, axis=3), pads).astype(np.float32)


def write_raw_exr(path, pixels, names, pixel_type="float"):
    """An EXR written straight through OpenImageIO, channels named as given: files vsae itself would never write
    (NaN pixels, two channels, an Inf depth)."""
    import OpenImageIO as oiio

    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2],
                          oiio.FLOAT if pixel_type == "float" else oiio.HALF)
    spec.channelnames = tuple(names)
    out = oiio.ImageOutput.create(path)
    assert out.open(path, spec) and out.write_image(pixels), oiio.geterror()
    out.close()
