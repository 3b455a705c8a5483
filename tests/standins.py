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
