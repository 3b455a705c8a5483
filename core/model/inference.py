"""Inference plumbing: ONNX Runtime sessions on the fastest provider present, and frame-level helpers that take
scene-linear frames in and give scene-linear frames out."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from vsae.errors import BackendError, ParameterError
from vsae.core import colour


class Reprojector(Protocol):
    """What an operation needs of a shot model to project pixels onto the shot (``ShotModel`` is one; the tests'
    stand-ins are others): (B, 3, H, W) float32 working range in, the same shape in (-1, 1) out."""

    def reproject(self, frames: np.ndarray, iterations: int = 1) -> np.ndarray: ...


# How an operation gets the shot's model: a call made only when a pixel needs it (a frame with nothing to fill
# never trains or loads one). What it returns is a ShotModel or a test's stand-in with the methods the op uses.
ModelSource = Callable[[], Any]


def model_from(shot_model: ModelSource | None, needed_by: str) -> Any:
    """The model ``shot_model`` gives; a ParameterError naming ``needed_by`` when the caller passed none."""
    if shot_model is None:
        raise ParameterError(f"{needed_by} needs the shot's model, and none was given")
    return shot_model()


def parse_device(device: str) -> tuple[str, int | None]:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` as (kind, index).

    >>> parse_device("cuda:1"), parse_device("auto")
    (('cuda', 1), ('auto', None))
    """
    text = (device or "auto").strip().lower()
    kind, _, index = text.partition(":")
    if kind in ("auto", "cpu") and not index:
        return kind, None
    if kind == "cuda" and (not index or index.isdigit()):
        return "cuda", int(index) if index else None
    raise ParameterError(f"--device {device!r}: expected auto, cpu, cuda or cuda:N")


def onnx_providers(device: str = "auto") -> list:
    """ONNX Runtime's execution providers for ``device``, in order of preference: auto: CUDA when onnxruntime-gpu
    finds a GPU, then CPU; cpu: the CPU alone; cuda[:N]: that GPU (BackendError when ONNX Runtime has no CUDA)."""
    import onnxruntime as ort

    kind, index = parse_device(device)
    available = ort.get_available_providers()
    if kind == "cpu":
        return ["CPUExecutionProvider"]
    if kind == "cuda":
        if "CUDAExecutionProvider" not in available:
            raise BackendError(f"--device {device}: ONNX Runtime has no CUDA here (providers: {', '.join(available)};"
                               " pip install vsae[gpu] in place of vsae[cpu])")
        return [("CUDAExecutionProvider", {"device_id": index or 0}), "CPUExecutionProvider"]
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def torch_device(device: str = "auto"):
    """The torch device for ``device``: auto: the current GPU when torch sees one, else the CPU. BackendError for a
    GPU torch does not see."""
    import torch

    kind, index = parse_device(device)
    if kind == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if kind == "cpu":
        return torch.device("cpu")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if (index or 0) >= count:
        raise BackendError(f"--device {device}: torch sees {count} CUDA device{'s' if count != 1 else ''} "
                           f"(torch {torch.__version__})")
    return torch.device("cuda", index or 0)


def backends_report(device: str = "auto") -> dict:
    """What this machine offers for inference, and what a render on ``device`` would use (``vsae info
    --backends``): torch and its CUDA devices, ONNX Runtime's package(s) and providers, warnings."""
    from importlib import metadata

    report: dict[str, Any] = {"device": device, "warnings": []}
    try:
        import torch

        cuda = torch.cuda.is_available()
        report["torch"] = {"version": torch.__version__, "cuda": cuda,
                           "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
                           if cuda else []}
    except ImportError:
        report["torch"] = None
    packages = {}
    for name in ("onnxruntime", "onnxruntime-gpu"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    if len(packages) > 1:  # one module, two packages: whichever installed last won, the other is broken
        report["warnings"].append("onnxruntime and onnxruntime-gpu are both installed and share one module: "
                                  "pip uninstall -y onnxruntime onnxruntime-gpu, then install vsae[cpu] or vsae[gpu]")
    try:
        import onnxruntime as ort

        report["onnxruntime"] = {"packages": packages, "version": ort.__version__,
                                 "providers": ort.get_available_providers()}
    except ImportError:
        report["onnxruntime"] = None
    return report


def onnx_threads() -> int:
    """Threads for ONNX Runtime: ``$OMP_NUM_THREADS`` when set (the farm's usual per-task limit, which torch also
    obeys), else 0 = ONNX Runtime's own choice (one per physical core)."""
    import os

    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    try:
        return max(0, int(value)) if value else 0
    except ValueError:
        raise BackendError(f"OMP_NUM_THREADS={value!r}: expected a whole number of threads") from None


def onnx_session(path: str, device: str = "auto"):
    """An ONNX Runtime session for one graph, full graph optimisation, on ``onnx_providers(device)``."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendError("backend onnx: onnxruntime is not installed (pip install onnxruntime)") from exc
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = onnx_threads()
    providers = onnx_providers(device)
    try:
        return ort.InferenceSession(path, sess_options=opts, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types
        raise BackendError(f"{path}: cannot load ONNX graph ({exc})") from exc


# Channels last <-> first: OpenCV's split and merge copy the same values as numpy's transposed copy, 2-4x faster (a
# 1080p frame: (H, W, 3) -> (3, H, W) 10 -> 5 ms, back 12-20 -> 3 ms); numpy for what OpenCV cannot hold.
_CV_CHANNELS = range(2, 513)
_CV_DTYPES = (np.float32, np.float64, np.float16, np.uint8, np.uint16, np.int16, np.int32, np.int8)


def planar(image: np.ndarray, dtype=None) -> np.ndarray:
    """(H, W, C) -> (C, H, W), a new contiguous array of ``dtype`` (None: the image's), the same values."""
    image = np.ascontiguousarray(image, dtype=dtype)
    if image.ndim != 3 or image.shape[2] not in _CV_CHANNELS or image.dtype not in _CV_DTYPES or not image.size:
        return np.ascontiguousarray(image.transpose(2, 0, 1))
    import cv2

    out = np.empty((image.shape[2],) + image.shape[:2], image.dtype)
    planes = cv2.split(image, list(out))  # into out's planes
    if not all(np.shares_memory(p, out) for p in planes):  # an OpenCV that made its own: copied in
        for c, p in enumerate(planes):
            out[c] = p
    return out


def interleaved(planes: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (H, W, C), a new contiguous array, the same values. ``planes`` may be a view (a crop)."""
    planes = np.asarray(planes)
    if planes.ndim != 3 or planes.shape[0] not in _CV_CHANNELS or planes.dtype not in _CV_DTYPES or not planes.size:
        return np.ascontiguousarray(planes.transpose(1, 2, 0))
    import cv2

    return cv2.merge(list(planes)).reshape(planes.shape[1:] + planes.shape[:1])


def to_bchw(image: np.ndarray) -> np.ndarray:
    """One image as the model's batch: (H, W, C) -> (1, C, H, W) float32, contiguous."""
    return planar(image, np.float32)[None]


def to_hwc(batch: np.ndarray) -> np.ndarray:
    """The first image of a model batch: (B, C, H, W) -> (H, W, C), a new contiguous array."""
    return interleaved(np.asarray(batch)[0])


def reproject_image(model: Reprojector, image: np.ndarray, iterations: int = 1) -> np.ndarray:
    """One image through ``model.reproject`` ``iterations`` times: (H, W, 3) float32 working range -> (H, W, 3)
    float32 in (-1, 1)."""
    return to_hwc(model.reproject(to_bchw(image), iterations))


def frame_to_working(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) scene-linear -> (3, H, W) float32 working range."""
    return planar(colour.to_working(rgb))


def working_to_frame(w: np.ndarray) -> np.ndarray:
    """(3, H, W) working range -> (H, W, 3) float32 scene-linear."""
    return colour.from_working(interleaved(w))


def reconstruct(shot_model, rgb: np.ndarray, iterations: int = 1) -> np.ndarray:
    """A scene-linear frame passed through the model: (H, W, 3) float32 -> (H, W, 3) float32."""
    out = shot_model.reproject(frame_to_working(rgb)[None], iterations=iterations)
    return working_to_frame(out[0])


class LatentCache:
    """Latent codes of frames kept under (model, the pixels' xxh3 hash): the same pixels are never encoded twice by
    one model, and a frame whose pixels changed (an upstream edit) is encoded again. Thread-safe (render threads
    share it); keeps at most ``limit`` codes, the oldest dropped first. One serves the file renderer and the render
    server alike."""

    def __init__(self, limit: int = 512):
        self.limit = limit
        self._codes: OrderedDict = OrderedDict()
        self._models: dict = {}  # held, so that no id in a key can be reused by another model while it is cached
        self._lock = threading.Lock()

    def latents(self, model, rgbs: Sequence[np.ndarray]) -> np.ndarray:
        """Codes of scene-linear frames (H, W, 3) float32 -> (N, 12k, h, w) float32, from ``model.encode``."""
        import xxhash

        keys = [(id(model), xxhash.xxh3_128_hexdigest(np.ascontiguousarray(rgb).data)) for rgb in rgbs]
        with self._lock:
            self._models[id(model)] = model
            missing = [(k, rgb) for k, rgb in zip(keys, rgbs) if k not in self._codes]
            for k in keys:
                if k in self._codes:
                    self._codes.move_to_end(k)
        if missing:
            z = model.encode_batches(frame_to_working(rgb) for _, rgb in missing)
            with self._lock:
                self._codes.update((k, code) for (k, _), code in zip(missing, z))
        with self._lock:
            out = np.stack([self._codes[k] for k in keys])
            while len(self._codes) > self.limit:
                self._codes.popitem(last=False)
            held = {k[0] for k in self._codes}
            self._models = {i: m for i, m in self._models.items() if i in held}
        return out

