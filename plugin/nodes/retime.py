"""Retime: slow-mo, speed-up or any frame curve; in-betweens by optical flow mended by the shot model (hybrid), or
by decoding interpolated latent codes of neighbouring frames (latent)."""

from __future__ import annotations

from vsae.core.ops.retime import FLOW_DETAIL, METHODS, neighbours, output_length, parse_curve, source_time
from vsae.errors import ParameterError
from vsae.plugin.node import NodeDefinition, Param, RenderContext, kept_flows


class RetimeNode(NodeDefinition):
    name = "retime"
    label = "VSAE Retime"
    help = ("Change a shot's timing: in-between frames by optical flow mended by the shot model, or decoded from "
            "blended latent codes of the shot model (method latent).")
    temporal = True
    params = (
        Param("timing", "choice", "speed", "speed: a constant output speed; curve: output-to-source keyframes",
              choices=("speed", "curve")),
        Param("speed", "float", 0.5, "output speed: 0.5 plays at half speed (slow motion), 2 at double speed",
              minimum=0.01, maximum=100.0, display_min=0.1, display_max=4.0),
        Param("curve", "string", "", "keyframes output:source, e.g. 1001:1001,1100:1050, or a file of two columns"),
        # Default hybrid: on the eight DAVIS clips (bench/retime_quality.py, protocol models) it scores above blend
        # on every clip and above the benchmark's DIS flow interpolation on the mean; latent stays available.
        Param("method", "choice", "hybrid",
              "hybrid: optical flow warp, mended by the shot model where the warps disagree; flow: the warp alone; "
              "latent: decode blended latents; blend: mix frames; nearest: hold",
              choices=METHODS),
        Param("flow_detail", "choice", "fine",
              "optical flow detail (hybrid, flow): fine estimates to full resolution; medium is about 7x faster",
              choices=tuple(FLOW_DETAIL)),
        Param("iterations", "int", None,
              "reprojections through the shot model: of the decoded in-between (latent; default 0), or where the "
              "flow warps disagree (hybrid; default 1)",
              minimum=0, maximum=50, display_min=0, display_max=10),
        Param("input_first", "int", None, "first source frame used (default: the shot's first)"),
        Param("input_last", "int", None, "last source frame used (default: the shot's last)"),
        Param("output_first", "int", None,
              "number of the first output frame (default: the first source frame, or the curve's first key)"),
        Param("output_last", "int", None, "number of the last output frame (default: where the source runs out)"),
    )

    @staticmethod
    def keys(params: dict):
        """The frame curve's keyframes, or None when timing is by speed."""
        if params["timing"] != "curve":
            return None
        if not params["curve"]:
            raise ParameterError("curve: timing=curve needs keyframes (output:source,...) or a curve file")
        return parse_curve(params["curve"])

    def check(self, params: dict) -> None:
        self.keys(params)
        first, last = params["input_first"], params["input_last"]
        if first is not None and last is not None and last < first:
            raise ParameterError(f"input_last {last}: before input_first {first}")

    def source_range(self, params: dict, source_frames) -> list[int]:
        first = params["input_first"] if params["input_first"] is not None else source_frames[0]
        last = params["input_last"] if params["input_last"] is not None else source_frames[-1]
        frames = [f for f in source_frames if first <= f <= last]
        if not frames or first < source_frames[0] or last > source_frames[-1]:
            raise ParameterError(f"input range {first}-{last}: outside the shot's frames "
                                 f"{source_frames[0]}-{source_frames[-1]}")
        return frames

    def _output_first(self, params: dict, src: list[int]) -> int:
        if params["output_first"] is not None:
            return params["output_first"]
        keys = self.keys(params)
        return int(round(keys[0][0])) if keys else src[0]

    def output_frames(self, params: dict, source_frames) -> range:
        src = self.source_range(params, source_frames)
        first = self._output_first(params, src)
        last = params["output_last"]
        if last is None:
            if params["timing"] == "curve":
                last = int(round(max(k[0] for k in self.keys(params))))
            else:
                last = first + output_length(src[0], src[-1], params["speed"]) - 1
        if last < first:
            raise ParameterError(f"output_last {last}: before output_first {first}")
        return range(first, last + 1)  # lazy: a host's time-domain question at speed 0.01 costs no list

    def time_of(self, frame: int, params: dict, source_frames) -> float:
        src = self.source_range(params, source_frames)
        first = self._output_first(params, src)
        return source_time(frame, first, src[0], src[-1], speed=params["speed"], curve=self.keys(params))

    def frames_needed(self, frame: int, params: dict, source_frames) -> dict[str, list[int]]:
        a, b, _ = neighbours(self.time_of(frame, params, source_frames), self.source_range(params, source_frames))
        return {"source": sorted({a, b})}

    def uses_model(self, params: dict) -> bool:
        return params["method"] in ("latent", "hybrid")

    def render(self, frame: int, params: dict, context: RenderContext):
        a, b, alpha = neighbours(self.time_of(frame, params, context.source_frames),
                                 self.source_range(params, context.source_frames))
        if alpha == 0.0 or params["method"] == "nearest":
            return context.fetch("source", a if alpha < 0.5 else b)  # the source frame itself, bit for bit
        return render_inbetween(a, b, alpha, params, context)


def render_inbetween(a: int, b: int, alpha: float, params: dict, context: RenderContext):
    """The Frame at ``alpha`` between source frames a and b by Retime's in-between (params: method, flow_detail,
    iterations), with the context's cached latents; Retime's and Loop's cross-faded frames alike."""
    from vsae.core.io.sequence import Frame
    from vsae.core.ops.retime import RetimeOptions, retime_inbetween

    fa, fb = context.fetch("source", a), context.fetch("source", b)
    options = RetimeOptions(method=params["method"], flow_detail=params["flow_detail"], iterations=params["iterations"])
    latents = context.latents
    rgb, matte = retime_inbetween(fa.rgb, fb.rgb, alpha, options, context.shot_model,
                                  None if latents is None else lambda: latents([a, b]), fa.alpha, fb.alpha,
                                  kept_flows(context))
    return Frame(rgb=rgb, alpha=matte, pixel_type=fa.pixel_type)
