"""Mask Propagate: a matte keyed on one or more frames (mask images or boxes) carried across the shot by the
shot model's pixel codes; soft matte and thresholded binary, ready to feed Clean Plate."""

from __future__ import annotations

import numpy as np

from vsae.core.ops.clean_plate import BOX_ORIGINS, parse_boxes
from vsae.errors import InputError, ParameterError
from vsae.plugin.node import ClipInput, NodeDefinition, Param, RenderContext


def _frame_list(text: str) -> list[int]:
    try:
        return sorted({int(v) for v in text.replace(" ", "").split(",") if v})
    except ValueError:
        raise ParameterError(f"key_frames {text!r}: expected frame numbers, e.g. 1001,1050") from None


class MaskPropagateNode(NodeDefinition):
    name = "mask_propagate"
    label = "VSAE Mask Propagate"
    help = ("Carry a matte keyed on some frames (mask images or boxes) through the shot, matching the shot model's "
            "pixel codes frame to frame; outputs the soft matte (grey + alpha) or a binary one.")
    temporal = True
    stateful = True  # the propagation chains from the keys are built once and reused by later frames
    inputs = (ClipInput("source", "the shot"),
              ClipInput("keys", "the keyed mattes (alpha, or grey level) on the key frames", optional=True,
                        is_matte=True))
    params = (
        Param("key_frames", "string", "", "frames of the keys input holding a matte, e.g. 1001,1050 "
              "(default: the shot's first frame)"),
        Param("boxes", "string", "", "key boxes instead of mattes: frame:x0,y0,x1,y1; ... (pixels, y from "
              "box_origin)", spatial=True),
        Param("box_origin", "choice", "top-left", "where the boxes' y is measured from: top-left (image rows) or "
              "bottom-left (Nuke's and OpenFX's convention, y up; the default inside a host)", choices=BOX_ORIGINS,
              host_default="bottom-left"),
        Param("radius", "int", 12, "search window half-size in code cells (x stride pixels)", minimum=1, maximum=64,
              display_min=2, display_max=32),
        Param("stride", "int", 4, "pixels per code cell", minimum=1, maximum=16, display_min=2, display_max=8),
        Param("topk", "int", 10, "most similar reference pixels averaged", minimum=1, maximum=100),
        Param("temperature", "float", 0.05, "softmax temperature of the similarity weights", minimum=0.001,
              maximum=1.0, display_min=0.01, display_max=0.2),
        Param("layers", "int", 6, "encoder stages in the pixel code (6: the paper's hypercolumn)", minimum=1,
              maximum=6),
        # 8 chosen both ways (bench/mask_propagate_quality.py, 600-step models, mean J with refinement, 4 against 8):
        # on bear, bmx-trees, cows, surf 0.716 / 0.735, reported on the other four; on blackswan, breakdance,
        # car-shadow, tennis 0.654 / 0.686, reported on the first four (J 0.737 against DIS flow's 0.536).
        Param("colour_weight", "float", 8.0, "weight of the pixels' own colour in the pixel code, against the "
              "encoder stages together", minimum=0.0, maximum=10.0, display_min=0.0, display_max=10.0),
        Param("previous", "int", 3, "recently propagated frames used as references beside the key", minimum=0,
              maximum=20),
        Param("working_size", "int", 1024, "pixel codes at most this many pixels on the long side (bounds memory; "
              "0: the plate's size)", minimum=0, maximum=8192),
        Param("refine", "bool", True, "snap the matte's edges to the image's (guided filter)"),
        Param("result", "choice", "matte", "matte: soft matte; binary: thresholded at 0.5; cutout: the source "
              "with the soft matte as alpha", choices=("matte", "binary", "cutout")),
    )

    def check(self, params: dict) -> None:
        _frame_list(params["key_frames"])
        parse_boxes(params["boxes"])

    def check_inputs(self, params: dict, context: RenderContext, width: int, height: int) -> None:
        for frame in self._keys(params, context.source_frames):
            self._key_matte(frame, params, context, width, height)

    def _keys(self, params: dict, source_frames) -> list[int]:
        if params["boxes"]:
            frames = sorted({f for track in parse_boxes(params["boxes"]) for f, _ in track if f is not None})
            frames = frames or [source_frames[0]]
        else:
            frames = _frame_list(params["key_frames"]) or [source_frames[0]]
        outside = [f for f in frames if f not in set(source_frames)]
        if outside:
            raise ParameterError(f"key frame {outside[0]}: not a frame of the shot "
                                 f"({source_frames[0]}-{source_frames[-1]})")
        return frames

    def frames_needed(self, frame: int, params: dict, source_frames) -> dict[str, list[int]]:
        keys = self._keys(params, source_frames)
        before = [k for k in keys if k <= frame] or [frame]
        after = [k for k in keys if k >= frame] or [frame]
        span = [f for f in source_frames if before[-1] <= f <= after[0]]
        return {"source": span, "keys": [] if params["boxes"] else [k for k in keys if k in (before[-1], after[0])]}

    def _key_matte(self, frame: int, params: dict, context: RenderContext, width: int, height: int) -> np.ndarray:
        from vsae.core.ops.clean_plate import boxes_hole, matte_from_frame

        if params["boxes"]:
            matte = boxes_hole(parse_boxes(params["boxes"]), frame, height, width,
                               params["box_origin"]).astype(np.float32)
        else:
            if not context.has_input("keys"):
                raise ParameterError("mask_propagate: connect the keys input (keyed mattes) or give key boxes")
            matte = matte_from_frame(context.fetch("keys", frame), f"keys frame {frame}", height, width)
        if matte.max() < 0.5:
            raise InputError(f"keys frame {frame}: the key matte is empty (nothing to propagate)")
        return matte

    def propagation(self, params: dict, context: RenderContext, width: int, height: int):
        """The shot's MaskPropagation for these parameters, built once per render context and kept in its cache."""
        from vsae.core.ops.mask_propagate import MaskPropagateOptions, MaskPropagation, PropagationSettings

        cache_key = ("mask_propagate", tuple(sorted(params.items())))
        if cache_key not in context.cache:
            settings = PropagationSettings(stride=params["stride"], radius=params["radius"], topk=params["topk"],
                                           temperature=params["temperature"], previous=params["previous"],
                                           layers=params["layers"], image_weight=params["colour_weight"])
            options = MaskPropagateOptions(settings, working_size=params["working_size"], refine=params["refine"])
            # Keys first: a bad key is reported before any model is trained or loaded.
            keys = {f: self._key_matte(f, params, context, width, height)
                    for f in self._keys(params, context.source_frames)}
            context.cache[cache_key] = MaskPropagation(lambda f: context.fetch("source", f).rgb,
                                                       context.source_frames, keys, context.shot_model, options)
        return context.cache[cache_key]

    def render(self, frame: int, params: dict, context: RenderContext):
        from vsae.core.io.sequence import Frame

        source = context.fetch("source", frame)
        width, height = source.size
        matte = self.propagation(params, context, width, height).matte(frame)
        if params["result"] == "binary":
            matte = (matte >= 0.5).astype(np.float32)
        if params["result"] == "cutout":
            return Frame(rgb=source.rgb, alpha=matte[:, :, None], pixel_type=source.pixel_type)
        grey = np.repeat(matte[:, :, None], 3, axis=2)
        return Frame(rgb=grey, alpha=matte[:, :, None], pixel_type=source.pixel_type)
