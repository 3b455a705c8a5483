"""Extend, Stretch and Stitch: nodes that change a frame's canvas and reproject it through the shot model until the
result is seamless. Each can deliver a before/after sheet (first guess above, result below) to judge by eye."""

from __future__ import annotations

from functools import partial

import numpy as np

from vsae.core.ops.canvas import LAYOUTS, PADDINGS
from vsae.core.ops.upres import FILTERS
from vsae.errors import ParameterError
from vsae.plugin.node import NodeDefinition, Param, RenderContext, kept, kept_flows, neighbour_window, pixels_digest

_RESULT = Param("result", "choice", "result", "result: the reprojected canvas; before_after: the first guess above "
                "the result, for review", choices=("result", "before_after"))


def _finish(before: np.ndarray, after: np.ndarray, params: dict, pixel_type: str, exact=None):
    """Working-range canvases -> the node's output Frame (scene-linear). exact: (where, pixels): the source's pixels
    put back as they came in at ``after[where]``, bit for bit (the working-range round trip is exact only to float
    precision)."""
    from vsae.core import colour
    from vsae.core.io.sequence import Frame

    after = colour.from_working(after)
    if exact is not None:
        after[exact[0]] = exact[1]
    if params["result"] == "before_after":
        after = np.concatenate([colour.from_working(before), after], axis=0)
    return Frame(rgb=after, pixel_type=pixel_type)


def _with_before(window: tuple, params: dict) -> tuple[int, int, int, int]:
    """before_after stacks the first guess above the result: the window grows upward by its own height."""
    x0, y0, x1, y1 = window
    return (x0, y0, x1, y1 + (y1 - y0)) if params["result"] == "before_after" else window


class ExtendNode(NodeDefinition):
    name = "extend"
    label = "VSAE Extend"
    help = ("Grow the canvas beyond the frame: pad each side (mirror keeps the picture's structure), then reproject "
            "through the shot model so the new area belongs to the shot; the original area stays exact.")
    params = (
        Param("left", "int", 0, "pixels added on the left", minimum=0, maximum=8192, display_min=0, display_max=1024,
              spatial=True),
        Param("right", "int", 0, "pixels added on the right", minimum=0, maximum=8192, display_min=0,
              display_max=1024, spatial=True),
        Param("top", "int", 0, "pixels added on top", minimum=0, maximum=8192, display_min=0, display_max=1024,
              spatial=True),
        Param("bottom", "int", 0, "pixels added at the bottom", minimum=0, maximum=8192, display_min=0,
              display_max=1024, spatial=True),
        Param("width", "int", None, "target width, padded evenly left and right (instead of left/right)",
              minimum=16, maximum=16384, spatial=True),
        Param("height", "int", None, "target height, padded evenly top and bottom (instead of top/bottom)",
              minimum=16, maximum=16384, spatial=True),
        Param("padding", "choice", "mirror", "first guess of the new area", choices=PADDINGS),
        Param("iterations", "int", 5, "reprojections (the paper uses 5)", minimum=0, maximum=100, display_min=0,
              display_max=30),
        Param("keep_original", "bool", True, "hold the original area exact at every step"),
        Param("temporal", "int", 0,
              "frames either side whose results are aligned onto this one (optical flow of the results) and averaged "
              "with it, against flicker in the new area (0: each frame alone)", minimum=0, maximum=3,
              display_min=0, display_max=3),
        _RESULT,
    )
    temporal = True  # with temporal > 0 a frame reads its neighbours

    def frames_needed(self, frame: int, params: dict, source_frames) -> dict[str, list[int]]:
        return {"source": neighbour_window(frame, params["temporal"], source_frames)}

    def pads(self, params: dict, width: int, height: int) -> tuple[int, int, int, int]:
        left, right, top, bottom = params["left"], params["right"], params["top"], params["bottom"]
        if params["width"] is not None:
            if params["width"] < width:
                raise ParameterError(f"width {params['width']}: smaller than the frame's {width}")
            left = (params["width"] - width) // 2
            right = params["width"] - width - left
        if params["height"] is not None:
            if params["height"] < height:
                raise ParameterError(f"height {params['height']}: smaller than the frame's {height}")
            top = (params["height"] - height) // 2
            bottom = params["height"] - height - top
        if not any((left, right, top, bottom)):
            raise ParameterError("extend: nothing to add: set left/right/top/bottom or a larger width/height")
        return left, right, top, bottom

    def output_window(self, params: dict, width: int, height: int) -> tuple[int, int, int, int]:
        left, right, top, bottom = self.pads(params, width, height)  # the original stays where it was
        return _with_before((-left, -bottom, width + right, height + top), params)

    def _alone(self, frame: int, params: dict, context: RenderContext):
        """Frame ``frame`` extended alone: (first guess, result, the original area's mask), working range."""
        from vsae.core import colour
        from vsae.core.ops.canvas import ExtendOptions, extend

        source = context.fetch("source", frame)
        options = ExtendOptions(padding=params["padding"], iterations=params["iterations"],
                                keep_original=params["keep_original"])
        return extend(colour.to_working(source.rgb), self.pads(params, *source.size), context.shot_model, options)

    def render(self, frame: int, params: dict, context: RenderContext):
        from vsae.core.ops.temporal import stabilise

        source = context.fetch("source", frame)
        window = neighbour_window(frame, params["temporal"], context.source_frames)
        if len(window) == 1:
            canvas, out, _ = self._alone(frame, params, context)
        else:  # each result is its own guide: the new area has no input whose motion the flow could follow
            key = tuple(sorted((k, v) for k, v in params.items() if k != "temporal"))
            results = [kept(context, ("extend", n, pixels_digest(context.fetch("source", n)), key),
                            partial(self._alone, n, params, context), len(window)) for n in window]
            canvas, out, _ = results[0]
            out = stabilise(out, out, [(r[1], r[1]) for r in results[1:]], flows=kept_flows(context))
        held = params["keep_original"] and (params["iterations"] or len(window) > 1)
        # the original area is the rectangle the pads leave: put back by slices (a boolean mask's scattered
        # assignment of the same values in the same order cost 80 ms at 1080p)
        left, _, top, _ = self.pads(params, *source.size)
        height, width = source.rgb.shape[:2]
        exact = ((slice(top, top + height), slice(left, left + width)), source.rgb) if held else None
        return _finish(canvas, out, params, source.pixel_type, exact)


class StretchNode(NodeDefinition):
    name = "stretch"
    label = "VSAE Stretch"
    help = ("Resample a frame to another width and height (a 4x wider plate, say), then reproject through the shot "
            "model so stretched content looks like the shot again.")
    params = (
        Param("width", "int", None, "output width (default: the frame's, times scale_x)", minimum=16, maximum=16384,
              spatial=True),
        Param("height", "int", None, "output height (default: the frame's, times scale_y)", minimum=16,
              maximum=16384, spatial=True),
        Param("scale_x", "float", 2.0, "horizontal scale when width is not set", minimum=0.1, maximum=16.0,
              display_min=0.5, display_max=4.0),
        Param("scale_y", "float", 1.0, "vertical scale when height is not set", minimum=0.1, maximum=16.0,
              display_min=0.5, display_max=4.0),
        Param("filter", "choice", "bicubic", "resampling filter of the first guess", choices=FILTERS),
        Param("iterations", "int", 10, "reprojections (the paper iterates 30 times for a 4x stretch)", minimum=0,
              maximum=100, display_min=0, display_max=50),
        _RESULT,
    )

    @staticmethod
    def size(params: dict, width: int, height: int) -> tuple[int, int]:
        return (params["width"] or max(16, round(width * params["scale_x"])),
                params["height"] or max(16, round(height * params["scale_y"])))

    def scales_frame(self, params: dict) -> bool:
        return params["result"] == "result"  # before_after is a review sheet

    def output_window(self, params: dict, width: int, height: int) -> tuple[int, int, int, int]:
        return _with_before((0, 0, *self.size(params, width, height)), params)

    def render(self, frame: int, params: dict, context: RenderContext):
        from vsae.core import colour
        from vsae.core.ops.canvas import stretch

        source = context.fetch("source", frame)
        canvas, out = stretch(colour.to_working(source.rgb), self.size(params, *source.size), context.shot_model,
                              params["filter"], params["iterations"])
        return _finish(canvas, out, params, source.pixel_type)


def _offsets(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise ParameterError(f"offsets {text!r}: expected frame offsets, e.g. 0,20,40") from None
    if len(values) < 2:
        raise ParameterError(f"offsets {text!r}: stitch needs two frames or more")
    return values


class StitchNode(NodeDefinition):
    name = "stitch"
    label = "VSAE Stitch"
    help = ("Place several frames of the shot side by side (output frame t shows t + each offset) and reproject "
            "through the shot model so the seams disappear, panorama-like.")
    temporal = True
    params = (
        Param("offsets", "string", "0,20", "frame offsets of the tiles, left to right (or top to bottom)"),
        Param("layout", "choice", "row", "row: side by side; column: stacked", choices=LAYOUTS),
        Param("iterations", "int", 5, "reprojections", minimum=0, maximum=100, display_min=0, display_max=30),
        Param("band", "int", 0, "replace only this many pixels each side of a seam, keep the rest as shot "
              "(0: reproject the whole canvas, as the paper)", minimum=0, maximum=4096, display_min=0,
              display_max=256, spatial=True),
        _RESULT,
    )

    def check(self, params: dict) -> None:
        _offsets(params["offsets"])

    def output_frames(self, params: dict, source_frames) -> list[int]:
        offsets, have = _offsets(params["offsets"]), set(source_frames)
        frames = [f for f in source_frames if all(f + o in have for o in offsets)]
        if not frames:
            raise ParameterError(f"offsets {params['offsets']}: no frame of the shot has all its tiles "
                                 f"({source_frames[0]}-{source_frames[-1]})")
        return frames

    def frames_needed(self, frame: int, params: dict, source_frames) -> dict[str, list[int]]:
        return {"source": [frame + o for o in _offsets(params["offsets"])]}

    def output_window(self, params: dict, width: int, height: int) -> tuple[int, int, int, int]:
        n = len(_offsets(params["offsets"]))
        size = (width * n, height) if params["layout"] == "row" else (width, height * n)
        return _with_before((0, 0, *size), params)

    def render(self, frame: int, params: dict, context: RenderContext):
        from vsae.core import colour
        from vsae.core.ops.canvas import stitch

        tiles = [context.fetch("source", frame + o) for o in _offsets(params["offsets"])]
        canvas, out = stitch([colour.to_working(t.rgb) for t in tiles], context.shot_model, params["layout"],
                             params["iterations"], params["band"])
        return _finish(canvas, out, params, tiles[0].pixel_type)
