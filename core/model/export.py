"""ONNX export of a shot model: encoder, decoder and reproject (encode + decode), dynamic batch/height/width.

Graphs take padded frames (height and width multiples of 64); ``ShotModel`` pads and crops around them. Each graph
describes itself in its metadata (``graph_metadata``): the model's cache key, the colour transform into the working
range its frames are in, and the padding, so that another tool can run it without vsae.
"""

from __future__ import annotations

import os
import warnings

from vsae.errors import BackendError

OPSET = 17


def graph_metadata(shot_model, graph: str) -> dict[str, str]:
    """The ``metadata_props`` of one exported graph: what its tensors are and how frames get into them."""
    from vsae import __version__
    from vsae.core import colour

    frames = "(B, 3, H, W) float32 in (-1, 1), H and W multiples of 64"
    latents = f"(B, {shot_model.config.latent_channels}, H/64, W/64) float32"
    tensors = {"encoder": (frames, latents), "decoder": (latents, frames), "reproject": (frames, frames)}[graph]
    return {
        "vsae:graph": graph,
        "vsae:version": __version__,
        "vsae:model_key": str(shot_model.meta.get("key", "")),
        "vsae:source": str(shot_model.meta.get("source", "")),
        "vsae:input": tensors[0],
        "vsae:output": tensors[1],
        "vsae:colour": (f"frames are scene-linear RGB mapped to the working range per channel: s = {colour.GAIN} * "
                        f"sign(x) * |x|^(1/{colour.GAMMA}); w = s / (1 + |s|) (inverse: x = sign(w) * "
                        f"(|w| / (1 - |w|) / {colour.GAIN})^{colour.GAMMA}, |w| held below {colour.WORKING_LIMIT})"),
        "vsae:padding": "frames padded to multiples of 64 (stride 64), half of each pad on either side, reflected "
                        "(replicated where the frame is smaller than the pad); the output cropped back",
        "vsae:padding_stride": "64",
    }


def _add_metadata(path: str, props: dict[str, str]) -> None:
    import onnx

    graph = onnx.load(path)
    for key, value in props.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(graph, path)


def export_onnx(shot_model, out_dir: str, sample_hw: tuple[int, int] = (128, 128)) -> list[str]:
    """Write ``encoder.onnx``, ``decoder.onnx`` and ``reproject.onnx`` into ``out_dir`` (each atomically).

    Returns the paths written.
    """
    import torch

    module = shot_model.torch_module()
    h, w = sample_hw
    x = torch.zeros(1, 3, h, w)
    with torch.no_grad():
        z = module.encode(x)

    class _Encode(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m.encode(x)

    class _Decode(_Encode):
        def forward(self, z):
            return self.m.decode(z)

    graphs = {
        "encoder": (_Encode(module), x, "frames", "latents"),
        "decoder": (_Decode(module), z, "latents", "frames"),
        "reproject": (module, x, "frames", "reprojected"),
    }
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name, (m, sample, in_name, out_name) in graphs.items():
        path = os.path.join(out_dir, f"{name}.onnx")
        tmp = f"{path}.tmp-{os.getpid()}.onnx"
        axes = {0: "batch", 2: "height", 3: "width"}
        try:
            with warnings.catch_warnings():
                # The TorchScript exporter is deprecated in favour of dynamo, which needs onnxscript; this graph is
                # plain convolutions and the TorchScript path exports it exactly.
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.onnx.export(m.eval(), (sample,), tmp, dynamo=False, opset_version=OPSET,
                                  input_names=[in_name], output_names=[out_name],
                                  dynamic_axes={in_name: axes, out_name: axes})
            _add_metadata(tmp, graph_metadata(shot_model, name))
            os.replace(tmp, path)
        except Exception as exc:  # the exporter raises many types; report one line and leave no partial file
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise BackendError(f"ONNX export of {name} failed: {exc}") from exc
        written.append(path)
    return written
