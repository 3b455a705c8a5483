"""Upres: upsample low-res frames of a shot (or of a part the model never saw) and reproject them through its model."""

from __future__ import annotations

from functools import partial

from vsae.core.ops.upres import FILTERS
from vsae.errors import ParameterError
from vsae.plugin.node import (ClipInput, NodeDefinition, Param, RenderContext, kept, kept_flows, neighbour_window,
                              pixels_digest)


class UpresNode(NodeDefinition):
    name = "upres"
    label = "VSAE Upres"
    help = ("Upscale low-res frames by a factor or to a size: upsample, then reproject through the shot model "
            "(x <- g(f(x)), n times) so detail comes from the shot itself.")
    inputs = (ClipInput("source", "the low-res frames"),)
    temporal = True  # with temporal > 0 a frame reads its neighbours
    params = (
        Param("factor", "float", 4.0, "upscale factor (used when width/height are not set)",
              minimum=2.0, maximum=16.0, display_min=2.0, display_max=16.0),
        Param("width", "int", None, "output width in pixels (default: input width x factor)", minimum=16,
              maximum=16384, spatial=True),
        Param("height", "int", None, "output height in pixels (default: input height x factor)", minimum=16,
              maximum=16384, spatial=True),
        Param("iterations", "int", None, "reprojections (default by factor: 2x 2, 4x 3, 8x 4, 16x 5)",
              minimum=0, maximum=100, display_min=0, display_max=30),
        Param("filter", "choice", "bicubic", "upsampling filter of the first guess", choices=FILTERS),
        # On by default: on the DAVIS clips' held-out frames (bench/upres_quality.py) reprojection alone scores below
        # bicubic at 4x and 8x; with the input's low band kept it beats bicubic at every factor.
        Param("detail_preserve", "bool", True,
              "keep the input's own low frequencies (the output downsampled again matches the input)"),
        # Default 1: on the DAVIS clips (bench/flicker.py, protocol models, 4x) frames upscaled alone flicker 1.4-1.6x
        # as much as the real frames; one neighbour each side aligned and averaged removes more than half of that
        # excess and gains 0.2-0.4 dB on held-out frames (chosen on three clips, holding on three others).
        Param("temporal", "int", 1,
              "frames either side whose results are aligned onto this one by optical flow and averaged with it, "
              "against flicker (0: each frame alone)", minimum=0, maximum=3, display_min=0, display_max=3),
        Param("tile", "int", 0, "tile side for large frames, a multiple of 64 (0: whole frame)", minimum=0,
              maximum=8192),
        Param("overlap", "int", 64, "tile overlap in pixels", minimum=0, maximum=1024),
    )

    def check(self, params: dict) -> None:
        if params["tile"] and (params["tile"] % 64 or params["tile"] <= params["overlap"]):
            raise ParameterError(f"tile {params['tile']}: a multiple of 64 larger than overlap {params['overlap']}")

    def output_size(self, params: dict, width: int, height: int) -> tuple[int, int]:
        w = params["width"] or round(width * params["factor"])
        h = params["height"] or round(height * params["factor"])
        return w, h

    def scales_frame(self, params: dict) -> bool:
        return True

    def output_window(self, params: dict, width: int, height: int) -> tuple[int, int, int, int]:
        return (0, 0, *self.output_size(params, width, height))

    def frames_needed(self, frame: int, params: dict, source_frames) -> dict[str, list[int]]:
        return {"source": neighbour_window(frame, params["temporal"], source_frames)}

    def _alone(self, frame: int, params: dict, context: RenderContext):
        """Frame ``frame`` upscaled alone: (output, the input as the guide whose motion the flow follows, alpha),
        working range."""
        from vsae.core import colour
        from vsae.core.ops.upres import UpresOptions, upres

        low = context.fetch("source", frame)
        options = UpresOptions(iterations=params["iterations"], filter=params["filter"],
                               detail_preserve=params["detail_preserve"], tile=params["tile"],
                               overlap=params["overlap"])
        working = colour.to_working(low.rgb)
        out, alpha = upres(working, self.output_size(params, *low.size), context.shot_model, options, low.alpha)
        return out, working, alpha

    def render(self, frame: int, params: dict, context: RenderContext):
        from vsae.core import colour
        from vsae.core.io.sequence import Frame
        from vsae.core.ops.temporal import stabilise
        from vsae.core.ops.upres import keep_low_frequencies

        window = neighbour_window(frame, params["temporal"], context.source_frames)
        if len(window) == 1:
            out, _, alpha = self._alone(frame, params, context)
        else:
            key = tuple(sorted((k, v) for k, v in params.items() if k != "temporal"))
            results = [kept(context, ("upres", n, pixels_digest(context.fetch("source", n)), key),
                            partial(self._alone, n, params, context), len(window)) for n in window]
            out, guide, alpha = results[0]
            neighbours = [r[:2] for r in results[1:]]
            out = stabilise(out, guide, neighbours, flows=kept_flows(context))
            if params["detail_preserve"]:  # this frame's own low band, as without neighbours
                out = keep_low_frequencies(out, guide, params["filter"], in_place=True)  # stabilise's own array
        low = context.fetch("source", frame)
        return Frame(rgb=colour.from_working(out), alpha=alpha, pixel_type=low.pixel_type)
