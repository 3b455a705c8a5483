"""ShotModel: a trained shot autoencoder and the ways to run it (torch or ONNX Runtime).

Every method takes and returns numpy arrays in the network's working range (``vsae.core.colour``), channels first:
frames ``(B, 3, H, W) float32`` of any size (padded to the stride and cropped back here), latents
``(B, 12k, H'/64, W'/64) float32`` of the padded frame. Weights are stored as safetensors (no pickle).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

import numpy as np

from vsae.errors import BackendError, CacheError
from vsae.core.model.padding import Pads, crop_padding, pad_array

BACKENDS = ("auto", "onnx", "torch")
PRECISIONS = ("fp32", "bf16")
ONNX_GRAPHS = ("encoder", "decoder", "reproject")


class ShotModel:
    """Weights + shape of one shot's autoencoder, with encode / decode / reproject.

    >>> model = ShotModel.load("weights.safetensors")                  # doctest: +SKIP
    >>> y = model.reproject(x, iterations=5)                            # doctest: +SKIP
    """

    def __init__(self, config, state: dict, meta: dict | None = None, onnx_dir: str | None = None,
                 backend: str = "auto", precision: str = "fp32", device: str = "auto"):
        from vsae.core.model.inference import parse_device

        parse_device(device)  # auto, cpu, cuda or cuda:N
        if backend not in BACKENDS:
            raise BackendError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
        if precision not in PRECISIONS:
            raise BackendError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
        # fp32 by default: every farm machine renders the same pixels. bf16 (torch backend; autocast) is about 2x
        # faster on CPUs with bf16 units (bench/node_speed.py: Upres to 1080p 1.12 s against 2.10 s) and cost
        # 0.004 dB on bear's 8x upres, but its pixels depend on the CPU; ONNX Runtime runs fp32 either way.
        self.precision = precision
        self.config = config
        self.state = state
        self.meta = meta or {}
        self.onnx_dir = onnx_dir
        self.backend = backend
        self.device = device
        self._torch = None
        self._device = None
        self._ort: dict = {}
        self._resolved: str | None = None

    # --- files ----------------------------------------------------------------------------------------------------

    def save(self, path: str) -> None:
        """Weights as safetensors with the config and metadata in its header; temp name then rename."""
        from safetensors.torch import save_file

        from vsae.core.io.output_files import write_atomic

        write_atomic(path, lambda tmp: save_file(
            {k: v.contiguous() for k, v in self.state.items()}, tmp,
            metadata={"vsae_config": json.dumps(self.config.to_dict()), "vsae_meta": json.dumps(self.meta)}))

    @classmethod
    def load(cls, path: str, onnx_dir: str | None = None, backend: str = "auto",
             precision: str = "fp32", device: str = "auto") -> ShotModel:
        from safetensors import SafetensorError, safe_open
        from safetensors.torch import load_file

        from vsae.core.settings import ModelConfig

        try:
            with safe_open(path, "pt") as fh:
                header = fh.metadata() or {}
            state = load_file(path)
            config = ModelConfig(**json.loads(header["vsae_config"]))
        except (OSError, SafetensorError, KeyError, ValueError) as exc:
            raise CacheError(f"{path}: not a vsae model file ({exc})") from exc
        return cls(config, state, json.loads(header.get("vsae_meta", "{}")), onnx_dir, backend, precision, device)

    # --- backends -------------------------------------------------------------------------------------------------

    def resolved_backend(self) -> str:
        """The backend ``auto`` stands for, fastest first (bench/node_speed.py, bench/inference_speed.py):
        torch when the precision is bf16 (only torch runs it); ONNX Runtime on CUDA; torch on CUDA; ONNX Runtime on
        the CPU when the graphs are exported (as fast or faster there on this CPU: reconstruct 1.35-1.45x, Retime
        1.4-1.8x, Upres at 1080p level); torch otherwise."""
        if self.backend != "auto":
            return self.backend
        if self._resolved is None:  # every encode/decode asks: probe files and providers once
            self._resolved = self._resolve_auto()
        return self._resolved

    def _resolve_auto(self) -> str:
        onnx_dir = self.onnx_dir or ""
        has_graphs = bool(onnx_dir) and all(os.path.exists(os.path.join(onnx_dir, f"{g}.onnx")) for g in ONNX_GRAPHS)
        return choose_backend(self.device, self.precision, has_graphs)

    def torch_module(self):
        """The eval-mode torch module (built on first use)."""
        if self._torch is None:
            import torch

            from vsae.core.model.autoencoder import ShotAutoencoder

            module = ShotAutoencoder(self.config)
            module.load_state_dict(self.state)
            from vsae.core.model.inference import torch_device

            self._device = torch_device(self.device)
            self._torch = module.eval().to(self._device, memory_format=torch.channels_last)
        return self._torch

    def _session(self, graph: str):
        if graph not in self._ort:
            from vsae.core.model.inference import onnx_session

            if not self.onnx_dir:
                raise BackendError("backend onnx: this model has no exported ONNX graphs (run `vsae export`)")
            self._ort[graph] = onnx_session(os.path.join(self.onnx_dir, f"{graph}.onnx"), self.device)
        return self._ort[graph]

    def _run(self, graph: str, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.resolved_backend() == "onnx":
            sess = self._session(graph)
            return sess.run(None, {sess.get_inputs()[0].name: x})[0]
        import torch

        module = self.torch_module()
        fn = {"encoder": module.encode, "decoder": module.decode, "reproject": module}[graph]
        with torch.inference_mode(), torch.autocast(getattr(self._device, "type", "cpu"), dtype=torch.bfloat16,
                                                     enabled=self.precision == "bf16"):
            t = torch.from_numpy(x).to(self._device)
            if graph != "decoder":
                t = t.contiguous(memory_format=torch.channels_last)
            return fn(t).float().contiguous().cpu().numpy()

    # --- operations -----------------------------------------------------------------------------------------------

    def encode(self, frames: np.ndarray) -> tuple[np.ndarray, Pads]:
        """frames (B, 3, H, W) working range -> latents (B, 12k, ceil(H/64), ceil(W/64)) and the pads used."""
        padded, pads = pad_array(np.asarray(frames, dtype=np.float32))
        return self._run("encoder", padded), pads

    def decode(self, latents: np.ndarray, pads: Pads = (0, 0, 0, 0)) -> np.ndarray:
        """latents (B, 12k, h, w) -> frames (B, 3, 64h - pads, 64w - pads) in (-1, 1)."""
        return np.ascontiguousarray(crop_padding(self._run("decoder", latents), pads))

    def reproject(self, frames: np.ndarray, iterations: int = 1) -> np.ndarray:
        """Project frames onto the shot's manifold: x <- g(f(x)), ``iterations`` times.

        frames (B, 3, H, W) working range -> (B, 3, H, W) in (-1, 1).
        """
        padded, pads = pad_array(np.asarray(frames, dtype=np.float32))
        for _ in range(iterations):
            padded = self._run("reproject", padded)
        return np.ascontiguousarray(crop_padding(padded, pads))

    def encode_batches(self, frames: Iterable[np.ndarray], batch: int = 4, count: int | None = None) -> np.ndarray:
        """Latents of many (3, H, W) frames -> (N, 12k, h, w), ``batch`` at a time; ``frames`` may be a generator,
        so a long shot never sits in memory whole. ``count``: how many frames come, when known: the latents are
        then written into one array as they come (no second copy of them when they are joined)."""
        out: list = []
        pending: list = []
        joined, done = None, 0

        def flush():
            nonlocal joined, done
            z = self.encode(np.stack(pending))[0]
            if count is not None:
                if joined is None:
                    joined = np.empty((count,) + z.shape[1:], z.dtype)
                if done + len(z) > count:
                    raise ValueError(f"encode_batches: more frames came than count said ({count})")
                joined[done:done + len(z)] = z
            else:
                out.append(z)
            done += len(z)
            pending.clear()

        for frame in frames:
            pending.append(np.asarray(frame, dtype=np.float32))
            if len(pending) == batch:
                flush()
        if pending:
            flush()
        if count is None:
            return np.concatenate(out)
        if joined is None or done != count:
            raise ValueError(f"encode_batches: {done} frames came where count said {count}")
        return joined


def choose_backend(device: str = "auto", precision: str = "fp32", has_graphs: bool = True) -> str:
    """The backend ``auto`` stands for (``ShotModel.resolved_backend``) on ``device`` at ``precision``, for a model
    whose ONNX graphs are exported (``has_graphs``) or not."""
    try:
        import torch
    except ImportError:
        torch = None  # type: ignore[assignment]  # (absent: ONNX Runtime alone)
    if precision == "bf16":
        if torch is None:
            raise BackendError("precision bf16 needs torch, which is not installed")
        return "torch"
    from vsae.core.model.inference import onnx_providers, parse_device

    kind, _ = parse_device(device)
    if has_graphs:
        try:
            import onnxruntime

            cuda_here = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
        except ImportError:
            cuda_here = None
        if cuda_here is not None:
            if kind == "cpu" or (kind == "cuda" and cuda_here):
                return "onnx"
            if kind == "auto" and (cuda_here or torch is None or not torch.cuda.is_available()):
                return "onnx"
    if torch is not None:
        return "torch"
    if kind == "cuda":
        onnx_providers(device)  # says why ONNX Runtime cannot run there
    raise BackendError("no inference backend: install torch, or onnxruntime and export the model's graphs")


def would_run_on(device: str = "auto", precision: str = "fp32") -> dict:
    """What a render of a cached model (graphs exported) asked to run on ``device`` would use: {"backend": "onnx",
    "providers": [...]} or {"backend": "torch", "device": "cuda:0"}; {"error": why} when it cannot."""
    from vsae.core.model.inference import onnx_providers, torch_device

    try:
        backend = choose_backend(device, precision, has_graphs=True)
        if backend == "onnx":
            return {"backend": "onnx", "providers": [p if isinstance(p, str) else p[0] for p in onnx_providers(device)]}
        return {"backend": "torch", "device": str(torch_device(device))}
    except BackendError as exc:
        return {"error": str(exc)}


def check_device(device: str = "auto", backend: str = "auto", precision: str = "fp32") -> None:
    """BackendError (ParameterError for a malformed name) when a render on ``device`` with ``backend`` could not
    run here: called before anything is trained or written."""
    from vsae.core.model.inference import onnx_providers, parse_device, torch_device

    parse_device(device)
    if backend == "torch":
        torch_device(device)
    elif backend == "onnx":
        onnx_providers(device)
    else:
        found = would_run_on(device, precision)
        if "error" in found:
            raise BackendError(found["error"])
