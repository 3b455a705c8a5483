"""Rendering a node from image files: the host-less context the CLI and farm jobs use.

Frames come from a shot on disk (vsae.core.io.sequence), the shot model from the model cache, latents are computed
once per source frame and kept for the run; output frames are written one by one, each atomically.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Callable

from vsae.plugin.node import NodeDefinition, RenderContext


def file_context(seq, shot_model: Callable, extra: dict | None = None) -> RenderContext:
    """A RenderContext over a ShotSequence; ``shot_model`` is called (once) when a render needs the model.

    extra: input name -> ShotSequence of the node's other inputs (a matte clip, keyed masks).
    """
    from vsae.core.model.inference import LatentCache
    from vsae.errors import InputError

    extra = dict(extra or {})
    frames_cache: dict = {}
    latent_cache = LatentCache()
    model_cache: list = []

    def fetch(name: str, frame: int):
        clip = seq if name == "source" else extra.get(name)
        if clip is None:
            raise InputError(f"input {name}: not connected")
        if (name, frame) not in frames_cache:
            if len(frames_cache) > 24:  # renders walk forward: keep recent frames, not the shot
                frames_cache.pop(next(iter(frames_cache)))
            held = clip.frames[0] if len(clip.frames) == 1 else frame  # a still holds for every frame, as in hosts
            frames_cache[(name, frame)] = clip.read(held)
        return frames_cache[(name, frame)]

    def model():
        if not model_cache:
            model_cache.append(shot_model())
        return model_cache[0]

    def latents(frames: Sequence[int]):
        return latent_cache.latents(model(), [fetch("source", f).rgb for f in frames])

    return RenderContext(fetch=fetch, source_frames=list(seq.frames), shot_model=model, latents=latents,
                         connected=frozenset({"source", *extra}))


def frame_range_text(frames: Sequence[int]) -> str:
    """Frame numbers as a range text the CLI reads back (``1001-1100``, ``1001-1099x2``, ``1,5,9``).

    >>> frame_range_text([1001, 1002, 1003, 1007])
    '1001-1003,1007'
    """
    import fileseq

    return str(fileseq.FrameSet(list(frames)))


def frame_plan(node: NodeDefinition, params: dict, source_frames: Sequence[int],
               frames: Sequence[int] | None = None) -> dict:
    """What rendering ``frames`` (default: every output frame) of ``node`` makes and reads, without reading a pixel
    or touching the model: {"node", "output": the node's whole output range, "render": the frames asked for,
    "count", "needs": {input: source frames read}, "model": whether the shot model is used}. Range texts as
    ``frame_range_text`` writes them. ParameterError naming the first asked frame outside the output range."""
    from vsae.errors import ParameterError

    available = node.output_frames(params, source_frames)
    wanted = list(frames) if frames is not None else list(available)
    known = available if isinstance(available, range) else set(available)
    outside = [f for f in wanted if f not in known]
    if outside:
        raise ParameterError(f"{node.name}: output frame {outside[0]} is outside the output range "
                             f"{available[0]}-{available[-1]}")
    needs: dict[str, set] = {}
    for frame in wanted:
        for name, read in node.frames_needed(frame, params, source_frames).items():
            needs.setdefault(name, set()).update(read)
    return {"node": node.name, "output": frame_range_text(available), "render": frame_range_text(wanted),
            "count": len(wanted), "needs": {name: frame_range_text(sorted(read)) for name, read in needs.items()},
            "model": node.uses_model(params)}


def render_to_files(node: NodeDefinition, params: dict, seq, output_pattern: str, shot_model: Callable,
                    frames: Sequence[int] | None = None, depth: str | None = None, progress=None,
                    extra: dict | None = None, model_inputs: Sequence = ()) -> list[int]:
    """Render ``frames`` (default: all the node's output frames) of ``node`` over ``seq`` into ``output_pattern``.

    params must come from ``node.resolve``; extra: the other inputs' sequences by name; model_inputs: the sequences
    the shot model is trained on (no output may overwrite them either). Before the first training step or write,
    every check that can fail is made: the output frames, pattern, file type and folder, no output onto an input,
    every input frame's size (from the headers), and the model's presence (found or trained first). Returns the
    frames written.
    """
    import dataclasses
    import json

    from vsae import __version__
    from vsae.core.io.headers import rendered_header
    from vsae.core.io.sequence import output_paths, write_image

    extra = dict(extra or {})
    context = file_context(seq, shot_model, extra)
    frame_plan(node, params, context.source_frames, frames)  # every asked frame is one the node makes
    wanted = list(frames) if frames is not None else list(node.output_frames(params, context.source_frames))
    paths = output_paths(output_pattern, wanted, [seq, *extra.values(), *model_inputs])
    size = seq.check_sizes()
    for clip in extra.values():  # mattes and keys lie on the source's pixels
        clip.check_sizes(size)
    node.check_inputs(params, context, *size)
    provenance = {"vsae:version": __version__, "vsae:node": node.name,
                  "vsae:parameters": json.dumps(params, sort_keys=True, default=str)}
    if node.uses_model(params):
        model = context.shot_model()  # found, or trained, before any frame is written
        if model.meta.get("key"):  # the model that made the frames: its cache key and how it was trained
            provenance["vsae:model"] = str(model.meta["key"])
            provenance["vsae:training"] = json.dumps(model.meta.get("settings", {}), sort_keys=True, default=str)
    start = time.monotonic()
    for i, frame in enumerate(wanted):
        out = node.render(frame, params, context)
        # The header of the source frame the output comes from (its first), timecode moved on to its own number.
        ref = node.frames_needed(frame, params, context.source_frames).get("source", [frame])[0]
        source = context.fetch("source", ref)
        if source.header is not None:
            out = dataclasses.replace(out, header=rendered_header(source.header, source.size, out.size, frame - ref,
                                                                      scaled=node.scales_frame(params)))
        write_image(paths[frame], out, pixel_type=depth, colorspace=seq.colorspace, provenance=provenance)
        if progress is not None:
            spent = time.monotonic() - start
            progress.update((i + 1) / len(wanted), bar_position=i + 1, frame=frame,
                            eta_s=round(spent / (i + 1) * (len(wanted) - i - 1), 1))
    return wanted
