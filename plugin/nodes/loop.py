"""Loop: an endless loop (video texture) of a stretch of the shot at plate resolution, the jump back hidden by a
cross-fade between frames that nearly match; the stretch is the best loop the shot model's codes find, or given."""

from __future__ import annotations

from vsae.core.ops.retime import FLOW_DETAIL
from vsae.errors import ParameterError
from vsae.plugin.node import NodeDefinition, Param, RenderContext

# Ways to make a cross-faded frame (Retime's in-between methods between two frames that nearly match).
TRANSITIONS = ("blend", "flow", "hybrid", "latent")


class LoopNode(NodeDefinition):
    name = "loop"
    label = "VSAE Loop"
    help = ("Loop a stretch of the shot endlessly at plate resolution (a video texture): the stretch plays again and "
            "again, and the jump from its last frame back to its first is cross-faded through the frames that "
            "nearly match. The stretch is the best loop the shot model's codes find, unless loop_first and "
            "loop_last are given.")
    temporal = True
    stateful = True  # the loop found is kept in context.cache for the renders that follow
    params = (
        Param("loop_first", "int", None, "first source frame of the stretch that repeats (default: found, with "
                                         "loop_last, as the best loop of the shot model's codes)"),
        Param("loop_last", "int", None, "last source frame played before the jump back to loop_first"),
        Param("min_length", "int", 12, "shortest stretch the search considers (loop_first/loop_last unset)",
              minimum=2, maximum=1_000_000, display_min=4, display_max=240),
        Param("length", "int", None, "output frames (default: as many as the shot has)", minimum=1,
              maximum=10_000_000),
        Param("transition", "int", 4, "frames over which the jump back is cross-faded (0: a cut)", minimum=0,
              maximum=10_000, display_min=0, display_max=24),
        # Default blend: on the DAVIS clips (bench/loop_quality.py, protocol models) it hides the jump best of the
        # four by the perceptual stand-in, chosen on three clips and holding on three others; latent decodes blur.
        Param("method", "choice", "blend",
              "how a cross-faded frame is made from the two frames that nearly match: blend (mix them), flow, "
              "hybrid (flow warp mended by the model), latent (decoded blend of their codes, the paper's)",
              choices=TRANSITIONS),
        Param("flow_detail", "choice", "fine", "optical flow detail (hybrid, flow)", choices=tuple(FLOW_DETAIL)),
        Param("iterations", "int", None, "reprojections of a cross-faded frame (default: the method's, as Retime)",
              minimum=0, maximum=50, display_min=0, display_max=10),
        Param("output_first", "int", None, "number of the first output frame (default: the shot's first)"),
    )

    def check(self, params: dict) -> None:
        first, last = params["loop_first"], params["loop_last"]
        if (first is None) != (last is None):
            raise ParameterError("loop_first/loop_last: give both, or neither to find the best loop")
        if first is not None and last <= first:
            raise ParameterError(f"loop_last {last}: not after loop_first {first} (a loop needs two frames or more)")

    def given_loop(self, params: dict, source_frames) -> tuple[int, int] | None:
        """(start, end) indices into ``source_frames`` of the loop given by loop_first/loop_last (end excluded), or
        None when it is to be found."""
        first, last = params["loop_first"], params["loop_last"]
        if first is None:
            return None
        frames = list(source_frames)
        for name, value in (("loop_first", first), ("loop_last", last)):
            if value not in frames:
                raise ParameterError(f"{name} {value}: not a frame of the shot ({frames[0]}-{frames[-1]})")
        return frames.index(first), frames.index(last) + 1

    def output_frames(self, params: dict, source_frames) -> range:
        self.given_loop(params, source_frames)  # a loop outside the shot is refused before anything renders
        first = params["output_first"] if params["output_first"] is not None else source_frames[0]
        return range(first, first + (params["length"] or len(source_frames)))

    def _step(self, frame: int, params: dict, source_frames, loop: tuple[int, int]) -> tuple[int, int, float]:
        from vsae.core.explore import endless_loop

        k = frame - self.output_frames(params, source_frames)[0]
        # One pass holds every step of the loop: output frame k is step k mod the loop's length.
        span = loop[1] - loop[0]
        a, b, alpha = endless_loop(*loop, span, params["transition"], count=len(source_frames))[k % span]
        return source_frames[a], source_frames[b], alpha

    def frames_needed(self, frame: int, params: dict, source_frames) -> dict[str, list[int]]:
        loop = self.given_loop(params, source_frames)
        if loop is None:  # the search reads every frame (once: what it finds is kept for the renders after it)
            return {"source": list(source_frames)}
        a, b, alpha = self._step(frame, params, source_frames, loop)
        return {"source": sorted({a, b}) if alpha else [a]}

    def find_loop(self, params: dict, context: RenderContext) -> tuple[int, int]:
        """(start, end) indices of the loop: given, or the best one of the shot model's codes (kept in the cache)."""
        from vsae.core.explore import loop_points

        loop = self.given_loop(params, context.source_frames)
        if loop is not None:
            return loop
        frames = list(context.source_frames)
        key = ("loop", params["min_length"], frames[0], frames[-1], len(frames))  # another clip: another search
        if key not in context.cache:
            if params["min_length"] >= len(frames):
                raise ParameterError(f"min_length {params['min_length']}: the shot has {len(frames)} frames")
            latents = context.latents(frames) if context.latents else None
            if latents is None:
                raise ParameterError("loop: finding the loop needs the shot model's codes; give loop_first/loop_last")
            start, end, _ = loop_points(latents, params["min_length"], count=1)[0]
            context.cache[key] = (start, end)
        return context.cache[key]

    def uses_model(self, params: dict) -> bool:
        return params["loop_first"] is None or (params["transition"] > 0 and params["method"] in ("latent", "hybrid"))

    def render(self, frame: int, params: dict, context: RenderContext):
        from vsae.plugin.nodes.retime import render_inbetween

        a, b, alpha = self._step(frame, params, context.source_frames, self.find_loop(params, context))
        if alpha == 0.0:
            return context.fetch("source", a)  # the plate itself, bit for bit
        return render_inbetween(a, b, alpha, params, context)
