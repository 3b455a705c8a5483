"""What a frame's file says besides its pixels, carried from a plate to the frames rendered from it: the display and
data windows (overscan), frame rate, timecode, chromaticities, colour-space tag, pixel aspect and a studio's own
attributes, through OpenImageIO.

A rendered frame keeps its source's header: the same windows when it is the same size, both windows scaled when a
node scales the frame (Upres, Stretch), and a window of its own size at the display's origin when a node changes
the canvas (Extend, Stitch); its timecode is that of its own frame number.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

# Attributes of one file's encoding, not of the picture: never carried to another file.
FILE_ATTRIBUTES = {"compression", "DateTime", "oiio:RowsPerChunk", "oiio:subimages", "oiio:BitsPerSample",
                   "openexr:lineOrder", "openexr:chunkCount", "planarconfig", "Orientation", "oiio:UnassociatedAlpha",
                   "tiff:Compression", "tiff:PhotometricInterpretation", "tiff:RowsPerStrip",
                   "tiff:PlanarConfiguration",
                   "png:compressionLevel", "jpeg:subsampling", "Compression", "ResolutionUnit", "XResolution",
                   "YResolution"}
COLOUR_TAGS = {"oiio:ColorSpace", "colorInteropID"}  # true only of pixels encoded as the source's were
TIMECODE = "smpte:TimeCode"
# Formats OpenImageIO writes any named attribute to (EXR attributes, PNG text); the others keep what made a frame as
# JSON: DPX in its user data (its description field holds 32 characters), TIFF and JPEG in ImageDescription.
KEEPS_ATTRIBUTES = (".exr", ".png")
PROVENANCE_PREFIX = "vsae provenance "


@dataclass(frozen=True)
class FrameHeader:
    """origin: the data window's top-left (x, y) in the display's pixels; display: (x, y, width, height) of the
    display window; encoding: how the source's pixels were encoded (linear, srgb or an OCIO name), which decides
    whether its colour tags still hold; attributes: name -> (OpenImageIO TypeDesc, or its name, value)."""

    origin: tuple[int, int] = (0, 0)
    display: tuple[int, int, int, int] | None = None
    encoding: str = "linear"
    attributes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def header_of(spec, encoding: str) -> FrameHeader:
    """The header an OpenImageIO ImageSpec describes, without the file's own encoding attributes."""
    attributes = {a.name: (a.type, a.value) for a in spec.extra_attribs if a.name not in FILE_ATTRIBUTES}
    return FrameHeader(origin=(spec.x, spec.y), display=(spec.full_x, spec.full_y, spec.full_width, spec.full_height),
                       encoding=encoding, attributes=attributes)


def apply_header(spec, header: FrameHeader, encoding: str) -> None:
    """Put ``header`` onto the ImageSpec of a frame about to be written with pixels encoded as ``encoding``.
    The windows are kept only where the spec's size matches them (``rendered_header`` makes it so)."""
    import OpenImageIO as oiio

    spec.x, spec.y = header.origin
    if header.display is not None:
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = header.display
    for name, (kind, value) in header.attributes.items():
        if name in COLOUR_TAGS and encoding != header.encoding:
            continue
        try:
            spec.attribute(name, oiio.TypeDesc(kind) if isinstance(kind, str) else kind, value)
        except (TypeError, ValueError, RuntimeError):
            continue  # a type this writer cannot hold: the picture matters more than one field


def rendered_header(source: FrameHeader, source_size: tuple[int, int], size: tuple[int, int],
                    frames_later: int, scaled: bool = False) -> FrameHeader:
    """The header of a frame rendered at ``size`` (width, height) from a source frame of ``source_size`` whose
    header is ``source``, ``frames_later`` frames after it (its timecode moves on by as many frames). A frame of
    another size is the source ``scaled`` (both windows scale with it, each axis by its own factor: Upres,
    Stretch), else a new canvas (its own window at the display's origin: Extend, Stitch, review sheets)."""
    origin, display = source.origin, source.display
    if size != source_size:
        sx, sy = size[0] / source_size[0], size[1] / source_size[1]
        if scaled:
            origin = (round(origin[0] * sx), round(origin[1] * sy))
            if display is not None:
                display = (round(display[0] * sx), round(display[1] * sy), round(display[2] * sx),
                           round(display[3] * sy))
        else:
            origin = (display[0], display[1]) if display is not None else (0, 0)
            display = (origin[0], origin[1], size[0], size[1])
    attributes = dict(source.attributes)
    if frames_later and TIMECODE in attributes:
        kind, value = attributes[TIMECODE]
        attributes[TIMECODE] = (kind, (timecode_plus(int(value[0]), frames_later, frame_rate(source)), value[1]))
    return replace(source, origin=origin, display=display, attributes=attributes)


def apply_provenance(spec, provenance: dict[str, str], extension: str) -> None:
    """Record what made a frame on the ImageSpec of a file of type ``extension`` (``.exr``): attributes where the
    format keeps them, else JSON in its free text field, unless the plate's own text is there (an earlier vsae
    render's is replaced)."""
    import json

    import numpy as np
    import OpenImageIO as oiio

    if extension in KEEPS_ATTRIBUTES:
        for name, value in provenance.items():
            spec.attribute(name, value)
        return
    text = PROVENANCE_PREFIX + json.dumps(provenance, sort_keys=True)
    where = "dpx:UserData" if extension == ".dpx" else "ImageDescription"
    current = _text(spec.getattribute(where))
    if current and not current.startswith(PROVENANCE_PREFIX):
        return
    if where == "dpx:UserData":
        data = np.frombuffer(text.encode(), np.uint8)
        spec.attribute(where, oiio.TypeDesc(f"uint8[{len(data)}]"), data)
    else:
        spec.attribute(where, text)


def _text(value) -> str:
    """An attribute as text: a string as it is, bytes (DPX user data) decoded, nothing as ''."""
    import numpy as np

    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return bytes(np.asarray(value, np.uint8)).decode("utf-8", "replace")
    except (TypeError, ValueError):
        return str(value)


def provenance_of(header: FrameHeader) -> dict[str, str]:
    """What made a frame (``vsae:*``), from its attributes, its ImageDescription or DPX user data; {} for a plate."""
    import json

    found = {name: str(value) for name, (_kind, value) in header.attributes.items() if name.startswith("vsae:")}
    for name in ("ImageDescription", "dpx:UserData"):
        text = _text(header.attributes.get(name, ("", None))[1])
        if not found and text.startswith(PROVENANCE_PREFIX):
            try:
                found = json.loads(text[len(PROVENANCE_PREFIX):])
            except ValueError:
                pass
    return found


def describe(header: FrameHeader) -> dict:
    """The header as JSON-able data: windows, every attribute as text, and what made the frame (what ``vsae info``
    prints)."""
    return {"data_origin": list(header.origin), "display_window": list(header.display or ()),
            "attributes": {name: value if isinstance(value, (str, int, float)) else str(value)
                           for name, (_kind, value) in sorted(header.attributes.items())},
            "provenance": provenance_of(header)}


def frame_rate(header: FrameHeader) -> float:
    """Frames a second from FramesPerSecond (a rational), else 24."""
    value = header.attributes.get("FramesPerSecond", ("", None))[1]
    try:
        return float(value[0]) / float(value[1])
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        return 24.0


def _bcd(value: int) -> int:
    return (value >> 4) * 10 + (value & 0xF)


def _to_bcd(value: int) -> int:
    return ((value // 10) << 4) | (value % 10)


def timecode_plus(packed: int, frames: int, fps: float) -> int:
    """An SMPTE timecode (the packed time word of EXR's timeCode: BCD hours, minutes, seconds, frames and flag bits)
    ``frames`` later, counted at a whole frame rate (drop-frame counting is not applied), flags kept.

    >>> hex(timecode_plus(0x01000000, 25, 24))   # 01:00:00:00 + 25 frames = 01:00:01:01
    '0x1000101'
    """
    rate = max(1, round(fps))
    ff = _bcd(packed & 0x3F)
    ss = _bcd((packed >> 8) & 0x7F)
    mm = _bcd((packed >> 16) & 0x7F)
    hh = _bcd((packed >> 24) & 0x3F)
    total = (((hh * 60 + mm) * 60 + ss) * rate + ff + frames) % (24 * 3600 * rate)
    ff, rest = total % rate, total // rate
    ss, rest = rest % 60, rest // 60
    mm, hh = rest % 60, rest // 60
    flags = packed & 0xC08080C0  # drop-frame, colour-frame, field and binary-group flags stay as they were
    return flags | _to_bcd(ff) | (_to_bcd(ss) << 8) | (_to_bcd(mm) << 16) | (_to_bcd(hh) << 24)
