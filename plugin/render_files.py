"""Rendering a node from image files: the host-less context the CLI and farm jobs use.

Frames come from a shot on disk (vsae.core.io.sequence), the shot model from the model cache, latents are computed
once per source frame and kept for the run. Files are read and written on threads beside the render (OpenImageIO
releases the GIL while it decodes and encodes, and numpy while it converts): the frames the next output frame needs
are read while this one renders, and finished frames are written in order, each atomically, while the next renders.
The pixels are those of reading, rendering and writing one frame after another.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from vsae.plugin.node import NodeDefinition, RenderContext

KEEP_FRAMES = 24  # input frames kept: renders walk forward, a window of recent frames is what they read again
WRITES_WAITING = 2  # rendered frames waiting for the writer at most (each holds a frame's memory)


class FrameReader:
    """The frames of a render's inputs, read from their files when first asked for, the most recent
    ``KEEP_FRAMES`` kept. With ``threaded``, every read runs on one reader thread, so that ``read_ahead`` can read the
    frames a render will ask for next while the current one renders (and a clip is never read from two threads).
    ``keep_extra``: frames keep their channels other than RGBA."""

    def __init__(self, clips: dict, threaded: bool = False, keep_extra: bool = False):
        self.clips = clips  # input name -> ShotSequence
        self.keep_extra = keep_extra
        self._frames: OrderedDict = OrderedDict()  # (input, frame) -> Frame, or the Future of its read
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="vsae-read") if threaded else None

    def _read(self, name: str, frame: int):
        clip = self.clips[name]
        held = clip.frames[0] if len(clip.frames) == 1 else frame  # a still holds for every frame, as in hosts
        return clip.read(held, keep_extra=self.keep_extra) if self.keep_extra else clip.read(held)

    def fetch(self, name: str, frame: int):
        """The Frame of input ``name`` at ``frame`` (InputError for an input with no clip, or a file that cannot be
        read: raised here, by the render that asks, whichever thread read it)."""
        from vsae.errors import InputError

        if name not in self.clips:
            raise InputError(f"input {name}: not connected")
        key = (name, frame)
        if key not in self._frames:
            self._frames[key] = self._pool.submit(self._read, name, frame) if self._pool else self._read(name, frame)
        self._frames.move_to_end(key)
        self._trim()
        value = self._frames[key]
        if isinstance(value, Future):
            value = self._frames[key] = value.result()
        return value

    def read_ahead(self, needs: dict[str, Sequence[int]]) -> None:
        """Start reading the frames in ``needs`` (input -> frames) that are not held yet (threaded readers only);
        at most half of what is kept, so that nothing read ahead pushes out a frame the current render uses."""
        if self._pool is None:
            return
        wanted = [(name, f) for name, frames in needs.items() if name in self.clips for f in frames]
        for key in [k for k in wanted if k not in self._frames][:KEEP_FRAMES // 2]:
            self._frames[key] = self._pool.submit(self._read, *key)  # the newest: what falls out is the oldest
        self._trim()

    def _trim(self) -> None:
        while len(self._frames) > KEEP_FRAMES:
            _, value = self._frames.popitem(last=False)
            if isinstance(value, Future):
                value.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


class FrameWriter:
    """Frames written in the order given, one at a time on a writer thread, while the caller renders the next:
    at most ``WRITES_WAITING`` wait. ``written(i)`` is called on the caller's thread, in order, as each lands. After a
    failed write nothing more is written, and the failure is raised to the caller at its next ``write`` or ``close``.
    Leaving the ``with`` block on an exception finishes the writes already given (they are good frames), then lets
    the exception through."""

    def __init__(self, written: Callable[[int], None] | None = None):
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="vsae-write")
        self._pending: deque = deque()
        self._written = written
        self._done = 0
        self._failed = False

    def write(self, fn: Callable, *args, **kwargs) -> None:
        """Call ``fn(*args, **kwargs)`` (a write_image) on the writer thread after the writes given before."""
        self._pending.append(self._pool.submit(self._guarded, fn, args, kwargs))
        while self._pending and (len(self._pending) > WRITES_WAITING or self._pending[0].done()):
            self._land()

    def _guarded(self, fn, args, kwargs) -> bool:
        if self._failed:
            return False  # not written: a write before it failed
        try:
            fn(*args, **kwargs)
        except BaseException:
            self._failed = True
            raise
        return True

    def _land(self) -> None:
        if self._pending.popleft().result():
            self._done += 1
            if self._written is not None:
                self._written(self._done)

    def close(self) -> None:
        try:
            while self._pending:
                self._land()
        finally:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        try:
            self.close()
        except Exception:
            if exc is None:
                raise  # else the render's own failure is the one reported


def file_context(seq, shot_model: Callable, extra: dict | None = None,
                 reader: FrameReader | None = None) -> RenderContext:
    """A RenderContext over a ShotSequence; ``shot_model`` is called (once) when a render needs the model.

    extra: input name -> ShotSequence of the node's other inputs (a matte clip, keyed masks); reader: the
    FrameReader of ``seq`` and ``extra`` to fetch through (default: one that reads on the calling thread).
    """
    from vsae.core.model.inference import LatentCache

    extra = dict(extra or {})
    reader = reader or FrameReader({"source": seq, **extra})
    latent_cache = LatentCache()
    model_cache: list = []
    fetch = reader.fetch

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
                    extra: dict | None = None, model_inputs: Sequence = (),
                    compression: str | None = None) -> list[int]:
    """Render ``frames`` (default: all the node's output frames) of ``node`` over ``seq`` into ``output_pattern``.

    params must come from ``node.resolve``; extra: the other inputs' sequences by name; model_inputs: the sequences
    the shot model is trained on (no output may overwrite them either); compression: EXR outputs' (default zip).
    Before the first training step or write, every check that can fail is made: the output frames, pattern, file
    type and folder, no output onto an input, every input frame's size (from the headers), the compression, and the
    model's presence (found or trained first). Returns the frames written.
    """
    from vsae.core.io.sequence import check_compression

    if compression is not None:
        check_compression(compression)
    extra = dict(extra or {})
    reader = FrameReader({"source": seq, **extra}, threaded=True)
    try:
        return _render_frames(node, params, seq, output_pattern, shot_model, frames, depth, progress, extra,
                              model_inputs, reader, compression)
    finally:
        reader.close()


def _render_frames(node, params, seq, output_pattern, shot_model, frames, depth, progress, extra, model_inputs,
                   reader, compression) -> list[int]:
    import dataclasses
    import json

    from vsae import __version__
    from vsae.core.io.headers import rendered_header
    from vsae.core.io.sequence import output_paths, write_image

    context = file_context(seq, shot_model, extra, reader)
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
        if hasattr(model, "resolved_backend"):  # fp32 pixels are the same on every CPU; bf16 pixels depend on it
            provenance["vsae:render"] = json.dumps({"backend": model.resolved_backend(), "precision": model.precision})
    with FrameWriter(_progress_of(progress, wanted)) as writer:
        for i, frame in enumerate(wanted):
            if i + 1 < len(wanted):
                reader.read_ahead(node.frames_needed(wanted[i + 1], params, context.source_frames))
            out = node.render(frame, params, context)
            # The header of the source frame the output comes from (its first), timecode moved on to its number.
            ref = node.frames_needed(frame, params, context.source_frames).get("source", [frame])[0]
            source = context.fetch("source", ref)
            if source.header is not None:
                header = rendered_header(source.header, source.size, out.size, frame - ref,
                                         scaled=node.scales_frame(params))
                out = dataclasses.replace(out, header=header)
            writer.write(write_image, paths[frame], out, pixel_type=depth, colorspace=seq.colorspace,
                         compression=compression, provenance=provenance)
    return wanted


def _progress_of(progress, frames: Sequence[int]) -> Callable[[int], None] | None:
    """The FrameWriter callback that reports ``count`` of ``frames`` written, with the time left at the pace so far."""
    if progress is None:
        return None
    start = time.monotonic()

    def written(count: int) -> None:
        spent = time.monotonic() - start
        progress.update(count / len(frames), bar_position=count, frame=frames[count - 1],
                        eta_s=round(spent / count * (len(frames) - count), 1))

    return written


def reconstruct_to_files(seq, paths: dict, model, iterations: int = 1, depth: str | None = None,
                         keep_extra: bool = False, progress=None, compression: str | None = None) -> list[int]:
    """Every frame of ``seq`` through ``model`` (``iterations`` reprojections) into ``paths`` (frame -> file, from
    ``output_paths``, checked before): alpha, header and, with ``keep_extra``, the other channels carried over;
    compression: EXR outputs' (default zip). Returns the frames written."""
    from vsae.core.io.sequence import Frame, write_image
    from vsae.core.model.inference import reconstruct

    frames = list(seq.frames)
    reader = FrameReader({"source": seq}, threaded=True, keep_extra=keep_extra)
    try:
        with FrameWriter(_progress_of(progress, frames)) as writer:
            for i, number in enumerate(frames):
                frame = reader.fetch("source", number)
                if i + 1 < len(frames):
                    reader.read_ahead({"source": [frames[i + 1]]})
                out = Frame(rgb=reconstruct(model, frame.rgb, iterations), alpha=frame.alpha, extra=frame.extra,
                            pixel_type=frame.pixel_type, header=frame.header)
                writer.write(write_image, paths[number], out, pixel_type=depth, colorspace=seq.colorspace,
                             compression=compression)
    finally:
        reader.close()
    return frames
