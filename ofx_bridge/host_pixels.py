"""Host pixels (OFX images, premultiplied float RGBA) to the Frames the nodes render and back, on the same terms as
the CLI reads and writes files: a frame rendered through a host matches the CLI's."""

from __future__ import annotations

import numpy as np

# OpenFX 1.5 colourspace names (the native styles' list) and the encodings vsae reads: scene-linear of any primaries
# is linear to the model; the sRGB and Rec.709 display encodings are decoded; data is left as it is. Other names
# (log encodings, an OCIO host's own spaces) go to OCIO by name.
OFX_COLOURSPACES = {
    "ofx_linear": "linear", "lin_rec709_srgb": "linear", "lin_rec2020": "linear", "lin_p3d65": "linear",
    "ACEScg": "linear", "ACES2065-1": "linear", "ofx_raw": "linear", "Raw": "linear",
    "srgb_tx": "srgb", "srgb_display": "srgb", "srgb_encoded_ap1_tx": "srgb",
    "ofx_sdr": "rec709", "rec1886_rec709_display": "rec709", "g24_rec709_tx": "rec709",
}


def pixel_encoding(param: str | None, host: str | None) -> str:
    """How a host's pixels are encoded: the instance's VSAE Colour Space when it names one, else what an OpenFX 1.5
    host says its clip holds (``host``), else linear (hosts without colour management hand scene-linear floats in
    a compositing script; a display-referred timeline needs the parameter).

    >>> pixel_encoding("auto", "rec1886_rec709_display"), pixel_encoding("srgb", "ofx_linear"), pixel_encoding("", None)
    ('rec709', 'srgb', 'linear')
    """
    if param and param != "auto":
        return param
    if not host:
        return "linear"
    return OFX_COLOURSPACES.get(host, host)


def _opaque(alpha: np.ndarray) -> bool:
    return bool(alpha.size) and bool(np.all(alpha == 1.0))


def frame_from_pixels(pixels: np.ndarray, premultiplied: bool):
    """Host pixels (H, W, 4|3|1) float32 -> a vsae Frame as the CLI would read the same pixels from a file:
    straight colour (un-premultiplied when the host's are premultiplied), alpha apart; a single channel is a matte.
    Views of ``pixels`` where no arithmetic is needed (an opaque frame divides by 1: the same bits)."""
    from vsae.core import colour
    from vsae.core.io.sequence import Frame

    c = pixels.shape[2]
    if c == 1:
        return Frame(rgb=np.repeat(pixels, 3, axis=2), alpha=pixels, pixel_type="float")
    rgb = pixels[:, :, :3]
    alpha = pixels[:, :, 3:4] if c == 4 else None
    if alpha is not None and premultiplied and not _opaque(alpha):
        rgb = colour.unpremultiply(rgb, alpha)
    return Frame(rgb=rgb, alpha=alpha, pixel_type="float")


def pixels_from_frame(frame, out: np.ndarray | None = None) -> np.ndarray:
    """A rendered Frame -> (H, W, 4) float32 premultiplied RGBA, as ``write_image`` would store it (alpha 1 when the
    frame has none), written into ``out`` when given."""
    from vsae.core import colour

    h, w = frame.rgb.shape[:2]
    out = np.empty((h, w, 4), np.float32) if out is None else out
    whole = frame.rgb.base
    if (frame.alpha is not None and whole is not None and whole is frame.alpha.base and whole.shape == (h, w, 4)
            and whole.dtype == np.float32 and _opaque(frame.alpha)):
        out[...] = whole  # a host frame handed back as it came (retime's exact frames): one copy
        return out
    if frame.alpha is None:
        out[:, :, :3] = frame.rgb
        out[:, :, 3] = 1.0
    else:
        out[:, :, :3] = frame.rgb if _opaque(frame.alpha) else colour.premultiply(frame.rgb, frame.alpha)
        out[:, :, 3:] = frame.alpha
    return out
