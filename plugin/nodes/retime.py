"""Retime: slow-mo, speed-up or any frame curve; in-betweens by optical flow mended by the shot model (hybrid), or
by decoding interpolated latent codes of neighbouring frames (latent)."""

from __future__ import annotations

from ...core.retime import FLOW_DETAIL, METHODS, blend_frames, neighbours, output_length, parse_curve, source_time
from ...errors import ParameterError
from ..node import NodeDefinition, Param, RenderContext


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
        from ...core.inference import working_to_frame
        from ...core.sequence import Frame

        src = self.source_range(params, context.source_frames)
        a, b, alpha = neighbours(self.time_of(frame, params, context.source_frames), src)
        if alpha == 0.0 or params["method"] == "nearest":
            return context.fetch("source", a if alpha < 0.5 else b)  # the source frame itself, bit for bit
        fa, fb = context.fetch("source", a), context.fetch("source", b)
        has_matte = fa.alpha is not None and fb.alpha is not None
        if params["method"] == "blend":
            matte = blend_frames(fa.alpha, fb.alpha, alpha) if has_matte else None
            return Frame(rgb=blend_frames(fa.rgb, fb.rgb, alpha), alpha=matte, pixel_type=fa.pixel_type)
        working, matte = self._inbetween(fa, fb, a, b, alpha, params, context)
        return Frame(rgb=working_to_frame(working.transpose(2, 0, 1)), alpha=matte, pixel_type=fa.pixel_type)

    @staticmethod
    def _inbetween(fa, fb, a: int, b: int, alpha: float, params: dict, context: RenderContext):
        """The in-between of methods flow, latent and hybrid: ((H, W, 3) working range, (H, W, 1) matte or None).

        The matte moves with the colour along the flow (flow, hybrid) or is blended (latent).
        """
        from ...core.colour import to_working
        from ...core.padding import stride_pads
        from ...core.retime import flow_warps, hybrid_inbetween, interpolate_latents

        method, iterations = params["method"], params["iterations"]
        ma_in = fa.alpha if fa.alpha is not None and fb.alpha is not None else None
        mb_in = fb.alpha if ma_in is not None else None
        if method in ("flow", "hybrid"):
            wa, wb, ma, mb = flow_warps(to_working(fa.rgb), to_working(fb.rgb), alpha, params["flow_detail"],
                                        ma_in, mb_in)
            if method == "flow":
                return blend_frames(wa, wb, alpha), (blend_frames(ma, mb, alpha) if ma is not None else None)
        model = context.shot_model()
        z = context.latents([a, b])
        pads, _ = stride_pads(fa.rgb.shape[0], fa.rgb.shape[1])
        decoded = model.decode(interpolate_latents(z[0:1], z[1:2], alpha), pads)
        if method == "latent":
            if iterations:
                decoded = model.reproject(decoded, iterations)
            return decoded[0].transpose(1, 2, 0), (blend_frames(ma_in, mb_in, alpha) if ma_in is not None else None)
        return hybrid_inbetween(wa, wb, alpha, decoded[0].transpose(1, 2, 0), model,
                                1 if iterations is None else iterations, extra_a=ma, extra_b=mb)
