"""ONNX export of a shot model: encoder, decoder and reproject (encode + decode), dynamic batch/height/width.

Graphs take padded frames (height and width multiples of 64); ``ShotModel`` pads and crops around them.
"""

from __future__ import annotations

import os
import warnings

from vsae.errors import BackendError

OPSET = 17


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
            os.replace(tmp, path)
        except Exception as exc:  # the exporter raises many types; report one line and leave no partial file
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise BackendError(f"ONNX export of {name} failed: {exc}") from exc
        written.append(path)
    return written
