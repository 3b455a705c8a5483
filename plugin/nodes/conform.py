"""Conform: the shot at full rate and resolution from sparse low-res frames and its model (the paper's transmission:
send the model once, then every k-th frame at a fraction of the size). Upres then Retime in one pass."""

from __future__ import annotations

import dataclasses

from vsae.core.ops.retime import FLOW_DETAIL, METHODS
from vsae.plugin.node import ClipInput, NodeDefinition, Param, RenderContext, kept, pixels_digest
from vsae.plugin.nodes.upres import UpresNode

_UPRES = {p.name: p for p in UpresNode.params}


class ConformNode(NodeDefinition):
    name = "conform"
    label = "VSAE Conform"
    help = ("Restore a shot from sparse low-res proxies (every k-th frame at 1/s of the size, numbered as in the "
            "shot) with its model: each proxy upscaled through the model (Upres), the frames between them made by "
            "Retime's in-betweens, one render with the model loaded once.")
    inputs = (ClipInput("source", "the sparse low-res frames (a sequence with a step: 1001, 1005, 1009, ...)"),)
    temporal = True
    stateful = True  # the upscaled proxies are kept in context.cache for the in-betweens that follow
    params = (
        _UPRES["factor"], _UPRES["width"], _UPRES["height"],
        dataclasses.replace(_UPRES["iterations"], name="upres_iterations", label="Upres Iterations"),
        _UPRES["filter"], _UPRES["detail_preserve"],
        Param("method", "choice", "hybrid", "how the frames between proxies are made (Retime's methods)",
              choices=METHODS),
        Param("flow_detail", "choice", "fine", "optical flow detail (hybrid, flow)", choices=tuple(FLOW_DETAIL)),
        Param("retime_iterations", "int", None, "reprojections of an in-between (default: the method's, as Retime)",
              minimum=0, maximum=50, display_min=0, display_max=10),
    )

    def uses_model(self, params: dict) -> bool:
        return params["upres_iterations"] != 0 or params["method"] in ("latent", "hybrid")

    def output_size(self, params: dict, width: int, height: int) -> tuple[int, int]:
        return UpresNode().output_size(params, width, height)

    def scales_frame(self, params: dict) -> bool:
        return True

    def output_window(self, params: dict, width: int, height: int) -> tuple[int, int, int, int]:
        return (0, 0, *self.output_size(params, width, height))

    def output_frames(self, params: dict, source_frames) -> range:
        return range(source_frames[0], source_frames[-1] + 1)  # every frame from the first proxy to the last

    def frames_needed(self, frame: int, params: dict, source_frames) -> dict[str, list[int]]:
        from vsae.core.ops.retime import neighbours

        a, b, alpha = neighbours(frame, source_frames)
        return {"source": sorted({a, b}) if alpha else [a]}

    def upscaled(self, number: int, params: dict, context: RenderContext):
        """Proxy ``number`` through Upres at the output size (scene-linear Frame), kept for the frames after it."""
        from vsae.core import colour
        from vsae.core.io.sequence import Frame
        from vsae.core.ops.upres import UpresOptions, upres

        def compute():
            low = context.fetch("source", number)
            options = UpresOptions(iterations=params["upres_iterations"], filter=params["filter"],
                                   detail_preserve=params["detail_preserve"])
            out, alpha = upres(colour.to_working(low.rgb), self.output_size(params, *low.size), context.shot_model,
                               options, low.alpha)
            return Frame(rgb=colour.from_working(out), alpha=alpha, pixel_type=low.pixel_type)

        key = ("conform", number, pixels_digest(context.fetch("source", number)),
               *(params[k] for k in ("factor", "width", "height", "upres_iterations", "filter", "detail_preserve")))
        return kept(context, key, compute, 3)  # renders walk forward: the proxies around a frame, and the next

    def render(self, frame: int, params: dict, context: RenderContext):
        from vsae.core.io.sequence import Frame
        from vsae.core.ops.retime import RetimeOptions, neighbours, retime_inbetween

        a, b, alpha = neighbours(frame, context.source_frames)
        fa = self.upscaled(a, params, context)
        if alpha == 0.0:
            return fa
        fb = self.upscaled(b, params, context)
        options = RetimeOptions(method=params["method"], flow_detail=params["flow_detail"],
                                iterations=params["retime_iterations"])
        rgb, matte = retime_inbetween(fa.rgb, fb.rgb, alpha, options, context.shot_model, None, fa.alpha, fb.alpha)
        return Frame(rgb=rgb, alpha=matte, pixel_type=fa.pixel_type)
