"""The one definition of a node that every host uses: inputs, typed parameters, temporal access, render.

A node is described as data (``NodeDefinition``: clip inputs and ``Param``s with default, range, display range and
help) plus three functions of the parameter values: the output frame range, the source frames one output frame needs,
and ``render``. The CLI builds its options from the same ``Param``s, the OFX bridge its parameter descriptors, a Nuke
adapter its knobs: a parameter added once appears everywhere.

Nothing here imports torch or onnxruntime: hosts load node menus in milliseconds. Rendering asks a ``RenderContext``
for source frames and for the shot model, so the same node renders from files (CLI) or from host images (OFX).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable

from vsae.errors import ParameterError

if TYPE_CHECKING:  # types only: importing them would load torch, which a node menu never needs
    import numpy as np

    from vsae.core.io.sequence import Frame
    from vsae.core.model.shot_model import ShotModel

KINDS = ("float", "int", "bool", "choice", "string")


@dataclass(frozen=True)
class Param:
    """A typed node parameter.

    ``minimum``/``maximum`` are hard limits (a value outside is an error); ``display_min``/``display_max`` are the
    slider range a host shows (Resolve needs explicit ranges on numeric params).
    """

    name: str
    kind: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    display_min: float | None = None
    display_max: float | None = None
    choices: tuple = ()
    label: str = ""
    spatial: bool = False  # pixels of the full-size frame (a length, or boxes in text): scaled in proxy renders
    host_default: Any = None  # the default inside a host (OpenFX) where its conventions differ; None: ``default``

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"param {self.name}: kind {self.kind!r} not in {KINDS}")

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").title()

    def validate(self, value: Any) -> Any:
        """The value converted to the parameter's type; ParameterError naming the parameter if it does not fit.

        A parameter whose default is None (meaning "automatic") also takes None.
        """
        if value is None and self.default is None:
            return None
        try:
            if self.kind == "float":
                value = float(value)
            elif self.kind == "int":
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                value = int(value)
            elif self.kind == "bool":
                value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
            else:
                value = str(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{self.name} {value!r}: expected {self.kind}") from None
        if self.kind == "choice" and value not in self.choices:
            raise ParameterError(f"{self.name} {value!r}: expected one of {', '.join(self.choices)}")
        if self.kind in ("float", "int"):
            if value != value:  # NaN
                raise ParameterError(f"{self.name}: NaN is not a value")
            if self.minimum is not None and value < self.minimum:
                raise ParameterError(f"{self.name} {value}: below the minimum {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                raise ParameterError(f"{self.name} {value}: above the maximum {self.maximum}")
        return value


@dataclass(frozen=True)
class ClipInput:
    """A clip the node reads. ``optional`` inputs may be unconnected (hosts then give no image)."""

    name: str
    help: str
    optional: bool = False
    is_matte: bool = False


@dataclass
class RenderContext:
    """What a render may ask of its host.

    fetch(input_name, frame) -> vsae.core.io.sequence.Frame of that input at that source frame; valid while the render
        runs (a host's frames may be views of its memory: state kept across renders copies what it needs).
    source_frames: the frame numbers the main input holds (its range, in order).
    shot_model(): the trained ShotModel of the main input (the host decides whether a missing one is trained).
    latents(frames): latents of those source frames, (N, 12k, h, w), cached across renders.
    connected: the inputs that have a clip (optional inputs may not; fetching one that has none is an error).
    """

    fetch: Callable[[str, int], Frame]
    source_frames: Sequence[int]
    shot_model: Callable[[], ShotModel]
    latents: Callable[[Sequence[int]], np.ndarray] | None = None
    abort: Callable[[], bool] = lambda: False
    cache: dict = field(default_factory=dict)
    connected: frozenset = frozenset({"source"})

    def has_input(self, name: str) -> bool:
        return name in self.connected


def neighbour_window(frame: int, radius: int, source_frames: Sequence[int]) -> list[int]:
    """``frame`` and up to ``radius`` frames of the shot either side of it, ``frame`` first (what a node that averages
    neighbours' results reads; the first is the frame whose header the output keeps)."""
    frames = list(source_frames)
    if not radius or frame not in frames:
        return [frame]
    i = frames.index(frame)
    return [frame] + frames[max(0, i - radius):i] + frames[i + 1:i + 1 + radius]


def pixels_digest(frame: Frame) -> str:
    """xxh3 of a frame's colour and alpha: part of the key of a result kept across renders, so that an upstream
    edit of the frame (a host's clip changed) is never answered from what was kept."""
    import numpy as np
    import xxhash

    h = xxhash.xxh3_64(np.ascontiguousarray(frame.rgb).data)
    if frame.alpha is not None:
        h.update(np.ascontiguousarray(frame.alpha).data)
    return h.hexdigest()


def kept(context: RenderContext, key: tuple, compute: Callable[[], Any], keep: int) -> Any:
    """``compute()`` memoised in ``context.cache`` under ``key`` (a tuple whose first item names its kind; include
    the inputs' ``pixels_digest``), with at most ``keep`` results of that kind kept, the oldest dropped: renders walk
    forward, and a window of neighbours is what the next frame needs again."""
    if key not in context.cache:
        same = [k for k in context.cache if isinstance(k, tuple) and k and k[0] == key[0]]
        for old in same[:max(0, len(same) - keep + 1)]:
            del context.cache[old]
        context.cache[key] = compute()
    return context.cache[key]


def kept_flows(context: RenderContext, keep: int = 4) -> Callable:
    """``core.ops.retime.flow_pair`` kept across renders in ``context.cache`` by the two pictures' pixels: the flows
    of a pair serve every render that asks for them again, either way round (the pair (b, a)'s flows are (a, b)'s
    swapped: DIS gives the same either way), as a slow-motion retime's several in-betweens of one pair and Upres's
    neighbours, each aligned onto the next, do. At most ``keep`` pairs kept."""
    import numpy as np
    import xxhash

    from vsae.core.ops.retime import flow_pair

    def flows(a, b, detail: str):
        ka, kb = (xxhash.xxh3_128_hexdigest(np.ascontiguousarray(x).data) for x in (a, b))
        if ("flows", kb, ka, detail) in context.cache:
            backward, forward = context.cache[("flows", kb, ka, detail)]
            return forward, backward
        return kept(context, ("flows", ka, kb, detail), lambda: flow_pair(a, b, detail), keep)

    return flows


class NodeDefinition:
    """Base of every node: subclasses set the class attributes and implement ``render``."""

    name: str = ""
    label: str = ""
    help: str = ""
    inputs: tuple = (ClipInput("source", "the shot"),)
    params: tuple = ()
    temporal: bool = False  # render needs other frames than the one asked for
    stateful: bool = False  # render keeps state across frames in context.cache (hosts render it one frame at a time)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise ParameterError(f"{self.name}: no parameter {name!r}")

    def resolve(self, values: dict | None = None) -> dict:
        """Defaults filled in, every value validated; unknown names are errors."""
        values = dict(values or {})
        unknown = set(values) - {p.name for p in self.params}
        if unknown:
            raise ParameterError(f"{self.name}: unknown parameter {sorted(unknown)[0]!r}")
        resolved = {p.name: p.validate(values.get(p.name, p.default)) for p in self.params}
        self.check(resolved)
        return resolved

    def check(self, params: dict) -> None:
        """Checks across parameters (override); raise ParameterError."""

    def check_inputs(self, params: dict, context: RenderContext, width: int, height: int) -> None:
        """Checks of the inputs that would otherwise fail a render part-way (boxes outside the frame, an empty key
        matte), made before the model is trained or a frame written; ``width`` x ``height``: the source frames.
        Raise ParameterError or InputError (override)."""

    def uses_model(self, params: dict) -> bool:
        """Whether rendering with these params asks for the shot model (override where a method does without):
        a file render finds or trains it before writing any frame."""
        return True

    def scales_frame(self, params: dict) -> bool:
        """Whether an output of another size than its source is the source scaled (override: Upres, Stretch), so
        its header's windows scale with it; else it is a new canvas with a window of its own."""
        return False

    def output_frames(self, params: dict, source_frames: Sequence[int]) -> Sequence[int]:
        """The frame numbers this node renders (a list, or a range), given the main input's frames. Default: the
        same frames."""
        return list(source_frames)

    def frames_needed(self, frame: int, params: dict, source_frames: Sequence[int]) -> dict[str, list[int]]:
        """Source frames per input that rendering output ``frame`` reads. Default: the same frame."""
        return {self.inputs[0].name: [frame]}

    def at_scale(self, params: dict, scale: float) -> dict:
        """Resolved params for frames ``scale`` times the full size (a host's proxy render): lengths in pixels
        (``spatial`` params) scaled with the frame; a spatial text param holds boxes (``frame:x0,y0,x1,y1; ...``)."""
        out = dict(params)
        for p in self.params:
            value = out[p.name]
            if p.spatial and p.kind == "string" and value and scale != 1.0:
                from vsae.core.ops.clean_plate import scale_boxes

                out[p.name] = scale_boxes(value, scale)
            elif p.spatial and p.kind != "string" and value is not None and scale != 1.0:
                value = value * scale if p.kind == "float" else int(round(value * scale))
                if p.minimum is not None and value < p.minimum:
                    value = type(value)(p.minimum)
                out[p.name] = value
        return out

    def output_window(self, params: dict, width: int, height: int) -> tuple[int, int, int, int]:
        """Where the output frame lies against an input frame of ``width`` x ``height``: (x0, y0, x1, y1) in pixels,
        y up, the input covering (0, 0, width, height) — OFX's region of definition at render scale 1. The rendered
        frame is (x1 - x0) x (y1 - y0). Default: the input's own area."""
        return 0, 0, width, height

    def render(self, frame: int, params: dict, context: RenderContext):
        """Render output ``frame``; returns a vsae.core.io.sequence.Frame."""
        raise NotImplementedError
