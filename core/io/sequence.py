"""Shot I/O: image sequences (EXR, DPX, TIFF, PNG, JPEG) through OpenImageIO, movies through OpenCV.

A shot is named the way compositors name it: ``shot.####.exr`` (each ``#`` one digit, as in Nuke), ``shot.%04d.exr``,
``shot.1001-1100#.exr``, a folder holding one sequence, or a movie file (``.mp4``/``.mov``, frames numbered from 0).
Frame ranges use fileseq's syntax: ``1001-1100``, ``1001-1100x2``, ``1001,1003,1010-1020``.

Pixels come out as scene-linear float32 with straight (un-premultiplied) colour and alpha apart; they are written
back the same way, at the file's own depth, to a temporary name that is renamed into place when complete.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable, Sequence

import fileseq
import numpy as np
import xxhash

from vsae.errors import InputError, OutputError, ParameterError
from vsae.core import colour
from vsae.core.io.headers import FrameHeader, apply_header, apply_provenance, header_of
from vsae.core.io.output_files import write_atomic

IMAGE_EXTENSIONS = {".exr", ".sxr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}
MOVIE_EXTENSIONS = {".mp4", ".mov", ".m4v", ".avi", ".mkv"}
PIXEL_TYPES = ("uint8", "uint16", "half", "float")
_ALPHA_NAMES = {"A", "alpha"}


@dataclass
class Frame:
    """One decoded frame.

    rgb: (H, W, 3) float32 scene-linear, straight colour. alpha: (H, W, 1) float32 or None.
    extra: channel name -> (H, W) float32 for channels other than RGBA, kept only when asked for.
    pixel_type: the file's depth, one of PIXEL_TYPES, so that writing back keeps it.
    header: the file's windows and attributes (``vsae.core.io.headers``); None for a frame no file gave.
    The pixels are the file's whole data window, overscan included.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    pixel_type: str = "float"
    header: FrameHeader | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.rgb.shape[1], self.rgb.shape[0]


def parse_frames(text: str | None) -> list[int] | None:
    """``"1001-1100x2"`` -> [1001, 1003, ...]; None stays None (all frames on disk). Ranges may be separated by
    commas or by spaces, as Nuke writes them.

    >>> parse_frames("1001-1003 1010")
    [1001, 1002, 1003, 1010]
    """
    if text is None or str(text).strip() == "":
        return None
    try:
        frames = [int(f) for f in fileseq.FrameSet(",".join(str(text).split()))]
    except (fileseq.ParseException, ValueError, fileseq.MaxSizeException) as exc:
        raise ParameterError(f"--frames {text!r}: not a frame range (examples: 1001-1100, 1001-1100x2, 1,5,9)") from exc
    if not frames:
        raise ParameterError(f"--frames {text!r}: the range holds no frame")
    return frames


class ShotSequence:
    """The frames of one shot on disk, addressed by frame number.

    >>> seq = open_shot("plates/shot.####.exr", frames="1001-1010")   # doctest: +SKIP
    >>> seq.frames[0], seq.size                                        # doctest: +SKIP
    (1001, (1920, 1080))
    """

    def __init__(self, paths: dict[int, str], label: str, colorspace: str = "auto"):
        if not paths:
            raise InputError(f"{label}: no frames")
        self._paths = dict(sorted(paths.items()))
        self.label = label
        self.colorspace = colorspace  # how the files are encoded (see read_image); part of the shot's identity
        self.frames: list[int] = list(self._paths)

    def __len__(self) -> int:
        return len(self.frames)

    def files(self) -> dict[int, str]:
        """Frame number -> file path (a movie's frames all name the movie)."""
        return dict(self._paths)

    def check_sizes(self, size: tuple[int, int] | None = None) -> tuple[int, int]:
        """(width, height) shared by every frame, from the files' headers (no pixels read); raises InputError
        naming the first frame that differs from ``size`` (default: the first frame's)."""
        expected = size or self.size
        whose = "the shot's first frame" if size is None else "the source"
        for frame, path in self._paths.items():
            got = image_size(path)
            if got != tuple(expected):
                raise InputError(f"{path}: frame {frame} is {got[0]}x{got[1]}, {whose} is {expected[0]}x{expected[1]}")
        return expected[0], expected[1]

    def path(self, frame: int) -> str:
        try:
            return self._paths[frame]
        except KeyError:
            raise InputError(f"{self.label}: frame {frame} is not in the shot ({self.frames[0]}-{self.frames[-1]})")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the first frame, read from its header only."""
        return image_size(self.path(self.frames[0]))

    def read(self, frame: int, keep_extra: bool = False, premultiplied: bool = True) -> Frame:
        return read_image(self.path(frame), keep_extra, self.colorspace, premultiplied)

    def stat_key(self) -> str:
        """A cheap identity of the files (names, sizes, modification times): no pixel is read."""
        h = xxhash.xxh3_128(self.colorspace.encode())
        for frame, path in self._paths.items():
            st = os.stat(path)
            h.update(f"{frame}\0{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return h.hexdigest()

    def content_digest(self) -> str:
        """xxh3-128 of every file's bytes, in frame order: the same shot copied elsewhere has the same digest."""
        h = xxhash.xxh3_128(b"" if self.colorspace == "auto" else self.colorspace.encode())
        for frame, path in self._paths.items():
            h.update(f"{frame}\n".encode())
            _hash_file(h, path)
        return h.hexdigest()


class MovieSequence(ShotSequence):
    """A movie file read through OpenCV; frames numbered from 0, display-encoded 8-bit (treated as sRGB)."""

    def __init__(self, path: str, frames: Sequence[int] | None = None):
        import cv2

        cap = cv2.VideoCapture(path)
        if not cap.isOpened():
            raise InputError(f"{path}: cannot open movie")
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self._width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self._height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        cap.release()
        if count <= 0:
            raise InputError(f"{path}: movie holds no frames")
        wanted = list(frames) if frames is not None else list(range(count))
        bad = [f for f in wanted if not 0 <= f < count]
        if bad:
            raise InputError(f"{path}: frame {bad[0]} is outside the movie (0-{count - 1})")
        self.movie_path = path
        super().__init__({f: path for f in wanted}, label=path)

    @property
    def size(self) -> tuple[int, int]:
        return self._width, self._height

    def check_sizes(self, size: tuple[int, int] | None = None) -> tuple[int, int]:
        if size is not None and tuple(size) != self.size:
            raise InputError(f"{self.movie_path}: frames are {self.size[0]}x{self.size[1]}, "
                             f"expected {size[0]}x{size[1]}")
        return self.size

    def read(self, frame: int, keep_extra: bool = False, premultiplied: bool = True) -> Frame:
        import cv2

        self.path(frame)  # validates the frame number
        cap = cv2.VideoCapture(self.movie_path)
        try:
            cap.set(cv2.CAP_PROP_POS_FRAMES, frame)
            ok, bgr = cap.read()
        finally:
            cap.release()
        if not ok:
            raise InputError(f"{self.movie_path}: cannot decode frame {frame}")
        rgb = bgr[:, :, ::-1].astype(np.float32) / 255.0
        return Frame(rgb=colour.srgb_to_linear(rgb), pixel_type="uint8")

    def stat_key(self) -> str:
        st = os.stat(self.movie_path)
        ident = f"{os.path.abspath(self.movie_path)}\0{st.st_size}\0{st.st_mtime_ns}\0{','.join(map(str, self.frames))}"
        return xxhash.xxh3_128(ident.encode()).hexdigest()

    def content_digest(self) -> str:
        h = xxhash.xxh3_128(",".join(map(str, self.frames)).encode())
        _hash_file(h, self.movie_path)
        return h.hexdigest()


def _hash_file(h, path: str) -> None:
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)


def open_shot(spec: str | os.PathLike, frames: str | Iterable[int] | None = None,
              colorspace: str = "auto") -> ShotSequence:
    """Find a shot's frames on disk.

    spec: a sequence pattern (``shot.####.exr``, ``shot.%04d.exr``, ``shot.1001-1100#.exr``), a folder holding one
    sequence, a single image, or a movie file. frames: a fileseq range string or frame numbers; None takes every
    frame on disk, and then a gap in the numbering is an error naming the first missing file. colorspace: how the
    files are encoded (see ``read_image``; movies are always read as sRGB).
    """
    spec = str(spec)
    wanted = parse_frames(frames) if isinstance(frames, (str, type(None))) else [int(f) for f in frames]
    path = Path(spec)
    if path.suffix.lower() in MOVIE_EXTENSIONS:
        if not path.is_file():
            raise InputError(f"{spec}: movie file not found")
        return MovieSequence(spec, wanted)
    if path.is_dir():
        seq = _only_sequence_in(path)
    elif path.is_file() and not _has_padding(spec):
        if wanted and len(wanted) > 1:
            raise ParameterError(f"{spec}: a single image has one frame; --frames asks for {len(wanted)}")
        return ShotSequence({(wanted or [0])[0]: spec}, label=spec, colorspace=colorspace)
    else:
        try:
            seq = fileseq.FileSequence(spec, pad_style=fileseq.PAD_STYLE_HASH1)
        except fileseq.ParseException as exc:
            raise InputError(f"{spec}: not a sequence pattern ({exc})") from exc
        if not _has_padding(spec):
            raise InputError(f"{spec}: no such file, and no frame pattern (####, %04d) in the name")
    _check_extension(seq, spec)
    frame_set = seq.frameSet()
    if wanted is None and frame_set is not None and len(frame_set) > 0:
        wanted = [int(f) for f in frame_set]
    if wanted is None:
        try:
            on_disk = fileseq.findSequenceOnDisk(seq.format("{dirname}{basename}{padding}{extension}"),
                                                 pad_style=fileseq.PAD_STYLE_HASH1)
        except fileseq.FileSeqException as exc:
            raise InputError(f"{spec}: no frames found on disk") from exc
        wanted = [int(f) for f in on_disk.frameSet() or ()]
        seq = on_disk
        _check_no_gaps(seq, wanted, spec)
    paths = {f: seq.frame(f) for f in wanted}
    for f, p in paths.items():
        if not os.path.isfile(p):
            raise InputError(f"{spec}: frame {f} is missing ({p})")
    return ShotSequence(paths, label=spec, colorspace=colorspace)


def _has_padding(spec: str) -> bool:
    name = os.path.basename(spec)
    return "#" in name or "@" in name or "%0" in name or "%d" in name or "$F" in name


def _only_sequence_in(folder: Path) -> fileseq.FileSequence:
    seqs = [s for s in fileseq.findSequencesOnDisk(str(folder), pad_style=fileseq.PAD_STYLE_HASH1)
            if s.extension().lower() in IMAGE_EXTENSIONS and s.frameSet() is not None]
    if not seqs:
        raise InputError(f"{folder}: no image sequence in this folder")
    if len(seqs) > 1:
        names = ", ".join(str(s) for s in seqs[:4])
        raise InputError(f"{folder}: holds several sequences ({names}); name one with a pattern")
    return seqs[0]


def _check_extension(seq: fileseq.FileSequence, spec: str) -> None:
    if seq.extension().lower() not in IMAGE_EXTENSIONS:
        images, movies = ", ".join(sorted(IMAGE_EXTENSIONS)), ", ".join(sorted(MOVIE_EXTENSIONS))
        raise InputError(f"{spec}: unsupported file type {seq.extension()!r} (images: {images}; movies: {movies})")


def _check_no_gaps(seq: fileseq.FileSequence, frames: list[int], spec: str) -> None:
    if len(frames) < 2:
        return
    step = frames[1] - frames[0]
    for a, b in zip(frames, frames[1:]):
        if b - a != step:
            missing = a + step
            raise InputError(f"{spec}: frame {missing} is missing ({seq.frame(missing)})")


# --- pixels -----------------------------------------------------------------------------------------------------


def _oiio():
    import OpenImageIO as oiio

    return oiio


def image_size(path: str) -> tuple[int, int]:
    """(width, height) from the file's header, no pixels read."""
    oiio = _oiio()
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise InputError(f"{path}: cannot read ({oiio.geterror().strip() or 'unknown format'})")
    try:
        spec = inp.spec()
        return spec.width, spec.height
    finally:
        inp.close()


def _pixel_type_of(spec) -> str:
    oiio = _oiio()
    base = spec.format.basetype
    if base == oiio.UINT8:
        return "uint8"
    if base in (oiio.UINT16, oiio.INT16):
        return "uint16"
    if base == oiio.HALF:
        return "half"
    return "float"


def read_image(path: str, keep_extra: bool = False, colorspace: str = "auto", premultiplied: bool = True) -> Frame:
    """Read one image file as scene-linear float32.

    colorspace: ``auto`` (float files are linear, integer files sRGB-encoded), ``linear``, ``srgb``, or an OCIO
    colour space name (converted to ``scene_linear`` by OpenImageIO's OCIO config, from ``$OCIO``).
    premultiplied: whether the file's colour is premultiplied by its alpha (the EXR convention); it is divided out,
    so ``Frame.rgb`` is always straight colour. Raises InputError naming the file if it cannot be read or holds
    NaN/Inf pixels.
    """
    oiio = _oiio()
    if not os.path.isfile(path):
        raise InputError(f"{path}: file not found")
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise InputError(f"{path}: cannot read ({oiio.geterror().strip() or 'unknown format'})")
    try:
        spec = inp.spec()
        pixels = inp.read_image(0, 0, 0, spec.nchannels, "float")
        err = inp.geterror()
    finally:
        inp.close()
    if pixels is None or err:
        raise InputError(f"{path}: cannot read pixels ({(err or oiio.geterror()).strip() or 'corrupt file'})")
    pixels = np.asarray(pixels, dtype=np.float32).reshape(spec.height, spec.width, spec.nchannels)
    names = list(spec.channelnames) or [f"c{i}" for i in range(spec.nchannels)]
    rgb, alpha, extra = _split_channels(pixels, names, spec.alpha_channel, path)
    # Only the channels used count: a depth channel of Inf (the sky) does not refuse a shot that drops it.
    for name, plane in [("colour", rgb), ("alpha", alpha)] + (list(extra.items()) if keep_extra else []):
        bad = 0 if plane is None else int(np.count_nonzero(~np.isfinite(plane)))
        if bad:
            raise InputError(f"{path}: {bad} {name} values are NaN or Inf")
    pixel_type = _pixel_type_of(spec)
    rgb = _to_linear(rgb, pixel_type, colorspace, path)
    if alpha is not None and premultiplied:
        rgb = colour.unpremultiply(rgb, alpha)
    return Frame(rgb=rgb, alpha=alpha, extra=extra if keep_extra else {}, pixel_type=pixel_type,
                 header=header_of(spec, _file_colorspace(pixel_type, colorspace)))


def _split_channels(pixels: np.ndarray, names: list[str], alpha_index: int, path: str):
    """RGB, alpha and the other channels by name; alpha is the channel named A/alpha, else the one the file's
    header marks as alpha (never guessed from position: a fourth channel may be depth)."""
    index = {n: i for i, n in enumerate(names)}
    a_name = next((n for n in names if n in _ALPHA_NAMES), None)
    if a_name is None and 0 <= alpha_index < len(names):
        a_name = names[alpha_index]
    colour_names = [n for n in names if n != a_name]
    if all(n in index for n in ("R", "G", "B")):
        colour_names = ["R", "G", "B"]
        rgb = pixels[:, :, [index["R"], index["G"], index["B"]]]
    elif len(colour_names) >= 3:
        colour_names = colour_names[:3]
        rgb = pixels[:, :, [index[n] for n in colour_names]]
    elif len(colour_names) == 2:  # two colour channels (R and G, say): both kept, blue empty
        rgb = np.concatenate([pixels[:, :, [index[n] for n in colour_names]],
                              np.zeros(pixels.shape[:2] + (1,), np.float32)], axis=2)
    elif len(colour_names) == 1 or (not colour_names and a_name):  # greyscale, or an alpha-only matte
        grey = index[colour_names[0] if colour_names else str(a_name)]
        rgb = np.repeat(pixels[:, :, grey:grey + 1], 3, axis=2)
    else:
        raise InputError(f"{path}: no colour channels")
    alpha = pixels[:, :, index[a_name]:index[a_name] + 1].copy() if a_name else None
    used = set(colour_names) | {a_name}
    extra = {n: pixels[:, :, i].copy() for i, n in enumerate(names) if n not in used}
    return np.ascontiguousarray(rgb), alpha, extra


def _file_colorspace(pixel_type: str, colorspace: str) -> str:
    """``auto`` resolved: float files hold scene-linear values, integer files display-encoded sRGB."""
    if colorspace == "auto":
        return "linear" if pixel_type in ("half", "float") else "srgb"
    return colorspace


# Encodings vsae decodes itself; any other name is an OCIO colour space.
DECODE = {"srgb": colour.srgb_to_linear, "rec709": colour.rec709_to_linear}
ENCODE = {"srgb": colour.linear_to_srgb, "rec709": colour.linear_to_rec709}


def _to_linear(rgb: np.ndarray, pixel_type: str, colorspace: str, path: str) -> np.ndarray:
    space = _file_colorspace(pixel_type, colorspace)
    if space == "linear":
        return rgb
    if space in DECODE:
        return DECODE[space](rgb)
    return _ocio_convert(rgb, space, "scene_linear", path)


def _from_linear(rgb: np.ndarray, pixel_type: str, colorspace: str, path: str) -> np.ndarray:
    space = _file_colorspace(pixel_type, colorspace)
    if space == "linear":
        return rgb
    if space in ENCODE:
        return ENCODE[space](rgb)
    return _ocio_convert(rgb, "scene_linear", space, path)


def to_scene_linear(rgb: np.ndarray, colorspace: str, where: str) -> np.ndarray:
    """(H, W, 3) float pixels encoded as ``colorspace`` (linear, srgb, rec709 or an OCIO colour space) to
    scene-linear float32, as a file of float pixels is read; ``where`` names them in errors."""
    return _to_linear(rgb, "float", colorspace, where)


def from_scene_linear(rgb: np.ndarray, colorspace: str, where: str) -> np.ndarray:
    """The inverse of ``to_scene_linear``."""
    return _from_linear(rgb, "float", colorspace, where)


def check_colorspace(colorspace: str, where: str) -> None:
    """ParameterError unless ``colorspace`` is one vsae decodes (auto, linear, srgb, rec709) or an OCIO colour space
    the configuration in $OCIO has."""
    if colorspace in ("auto", "linear", *DECODE):
        return
    _ocio_convert(np.zeros((1, 1, 3), np.float32), colorspace, "scene_linear", where)


def _ocio_convert(rgb: np.ndarray, src: str, dst: str, path: str) -> np.ndarray:
    oiio = _oiio()
    if not os.environ.get("OCIO"):
        named = src if dst == "scene_linear" else dst
        raise ParameterError(f"colorspace {named!r}: naming an OCIO colour space needs $OCIO set")
    buf = oiio.ImageBuf(np.ascontiguousarray(rgb, dtype=np.float32))
    out = oiio.ImageBufAlgo.colorconvert(buf, src, dst)
    if out.has_error:
        raise ParameterError(f"{path}: OCIO conversion {src} -> {dst} failed ({out.geterror().strip()})")
    return np.asarray(out.get_pixels(oiio.FLOAT), dtype=np.float32).reshape(rgb.shape)


# OpenEXR's compressions as OpenImageIO names them. zip, zips, dwaa and dwab take a level after a colon (zip:1 to
# zip:9, dwaa:45); b44, b44a, dwaa and dwab are lossy, pxr24 too for float (not half) files. OpenImageIO writes zip
# for a name it does not know, so names are checked here first.
EXR_COMPRESSIONS = ("zip", "zips", "piz", "rle", "none", "pxr24", "b44", "b44a", "dwaa", "dwab")
DEFAULT_EXR_COMPRESSION = "zip"


def check_compression(name: str, where: str = "--compression") -> str:
    """``name`` if it is an EXR compression (EXR_COMPRESSIONS, with a level where one is taken); ParameterError
    naming ``where`` otherwise."""
    base, colon, level = name.partition(":")
    if base not in EXR_COMPRESSIONS:
        raise ParameterError(f"{where} {name!r}: expected one of {', '.join(EXR_COMPRESSIONS)}")
    if colon:
        if base in ("zip", "zips"):
            ok = level.isdigit() and 1 <= int(level) <= 9
        elif base in ("dwaa", "dwab"):
            try:
                ok = 0 < float(level) < 1e6
            except ValueError:
                ok = False
        else:
            raise ParameterError(f"{where} {name!r}: {base} takes no level")
        if not ok:
            raise ParameterError(f"{where} {name!r}: the level of {base} is "
                                 + ("a whole number 1 to 9" if base.startswith("zip") else "a number above 0"))
    return name


def write_image(path: str, frame: Frame, pixel_type: str | None = None, colorspace: str = "auto",
                compression: str | None = None, premultiplied: bool = True,
                provenance: dict[str, str] | None = None) -> None:
    """Write one frame at ``pixel_type`` (default: the frame's own), atomically, with its header (windows and
    attributes, ``vsae.core.io.headers``) and ``provenance`` (text attributes: what made it). compression: an EXR
    file's (``check_compression``; default zip); other formats keep their own.

    Colour is premultiplied by alpha when alpha is present and ``premultiplied`` is set; integer types are
    display-encoded (sRGB unless ``colorspace`` says otherwise) and rounded. The file appears under its name only
    once fully written.
    """
    oiio = _oiio()
    pixel_type = pixel_type or frame.pixel_type
    if pixel_type not in PIXEL_TYPES:
        raise ParameterError(f"pixel type {pixel_type!r}: expected one of {', '.join(PIXEL_TYPES)}")
    ext = check_image_extension(path)
    if ext in (".jpg", ".jpeg") and pixel_type != "uint8":
        pixel_type = "uint8"
    if ext == ".png" and pixel_type in ("half", "float"):
        pixel_type = "uint16"
    if ext == ".exr" and pixel_type in ("uint8", "uint16"):
        pixel_type = "half"
    rgb = colour.premultiply(frame.rgb, frame.alpha) if frame.alpha is not None and premultiplied else frame.rgb
    rgb = _from_linear(rgb, pixel_type, colorspace, path)
    planes = [rgb] + ([frame.alpha] if frame.alpha is not None else [])
    names = ["R", "G", "B"] + (["A"] if frame.alpha is not None else [])
    for name, plane in frame.extra.items():
        planes.append(plane[:, :, None])
        names.append(name)
    pixels = np.concatenate(planes, axis=2).astype(np.float32)
    if not np.isfinite(pixels).all():  # a diverged model, say: a NaN plate in the comp is worse than no frame
        raise OutputError(f"{path}: {int(np.count_nonzero(~np.isfinite(pixels)))} rendered values are NaN or Inf; "
                          f"not written")
    type_desc = {"uint8": oiio.UINT8, "uint16": oiio.UINT16, "half": oiio.HALF, "float": oiio.FLOAT}[pixel_type]
    if pixel_type == "half":
        pixels = np.clip(pixels, -65504.0, 65504.0)  # half's finite range: beyond it a half file would hold Inf
    if pixel_type in ("uint8", "uint16"):
        top = 255.0 if pixel_type == "uint8" else 65535.0
        # integers cannot hold out-of-range display values
        pixels = (np.clip(np.round(pixels * top), 0, top) / top).astype(np.float32)
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2], type_desc)
    spec.channelnames = tuple(names)
    if frame.alpha is not None:
        spec.alpha_channel = 3
    if ext == ".exr":
        spec.attribute("compression", check_compression(compression or DEFAULT_EXR_COMPRESSION, "compression"))
    if frame.header is not None:
        apply_header(spec, frame.header, _file_colorspace(pixel_type, colorspace))
    if provenance:
        apply_provenance(spec, provenance, ext)
    spec.attribute("DateTime", "")  # none: a farm re-render of a frame is byte-identical
    def write(tmp: str) -> None:
        out = oiio.ImageOutput.create(path)  # the writer is chosen by the final name's extension
        if out is None:
            raise InputError(f"{path}: no writer ({oiio.geterror().strip()})")
        if not out.open(tmp, spec):
            raise InputError(f"{path}: cannot write ({out.geterror().strip()})")
        ok = out.write_image(np.ascontiguousarray(pixels))
        err = out.geterror()
        out.close()
        if not ok:
            raise OutputError(f"{path}: write failed ({err.strip()})")

    try:
        write_atomic(path, write)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None


def check_image_extension(path: str) -> str:
    """The lower-case extension of an image file vsae can write; OutputError otherwise."""
    ext = Path(path).suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        raise OutputError(f"{path}: cannot write {ext or 'extension-less'!r} files "
                          f"(use {', '.join(sorted(IMAGE_EXTENSIONS))})")
    return ext


def output_paths(pattern: str, frames: Iterable[int], inputs: Iterable = ()) -> dict[int, str]:
    """Frame -> file of an image output pattern, checked before any work: a frame field, an image extension vsae
    writes, a folder that takes files, and no file of ``inputs`` (ShotSequences) overwritten or extended."""
    from vsae.core.io.output_files import check_outputs

    check_image_extension(pattern)
    paths = {int(f): output_path(pattern, f) for f in frames}
    check_outputs(paths.values(), inputs)
    return paths


def output_path(pattern: str, frame: int) -> str:
    """The file name of ``frame`` in an output pattern (``out.####.exr``, ``out.%04d.exr``)."""
    if not _has_padding(pattern):
        raise ParameterError(f"{pattern}: an output pattern needs a frame field (#### or %04d)")
    return fileseq.FileSequence(pattern, pad_style=fileseq.PAD_STYLE_HASH1).frame(frame)
