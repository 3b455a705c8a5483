"""The nodes at work on the procedural shot, each scored against what the shot really holds and beside the tool a
compositor would otherwise reach for.

The procedural shot knows its answers: the true in-between frames (Retime), the full-size frames (Upres from a
quarter-size copy), the background behind the objects (Clean Plate), the objects' mattes (Mask Propagate) and the
scene beyond the frame's edges (Extend). Each ``show_*`` function runs the node's own operation from ``core.ops``
(what the node renders) and its baseline on the same frames, and returns a ``NodeFigure``: the scores and one
row of pictures (source, result, truth) for the demo's contact sheet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from vsae.core.colour import from_working, to_working
from vsae.core.demo.procedural import ProceduralShot
from vsae.core.metrics import display_psnr


@dataclass
class NodeFigure:
    """One node's showing: ``score`` (higher is better) of the node and of each baseline by name, what the score
    measures, and ``row``: (source, result, truth) scene-linear (H, W, 3) frames for a person to look at."""

    node: str
    measure: str
    score: float
    baselines: dict[str, float]
    row: list[np.ndarray] = field(default_factory=list)


def _mean(values) -> float:
    return float(np.mean(values))


def show_retime(shot: ProceduralShot, model, frames: list[int]) -> NodeFigure:
    """Retime 2x: the in-between of each of ``frames`` (0-based) and the next, against the true frame at t + 0.5;
    baselines: the two frames blended, and the optical-flow in-between alone."""
    from vsae.core.ops.retime import RetimeOptions, retime_inbetween

    scores: dict[str, list[float]] = {"hybrid": [], "blend": [], "flow": []}
    row: list[np.ndarray] = []
    for t in frames:
        a, b, truth = shot.render(t)[0], shot.render(t + 1)[0], shot.render(t + 0.5)[0]
        for method in scores:
            out, _ = retime_inbetween(a, b, 0.5, RetimeOptions(method=method), lambda: model)
            scores[method].append(display_psnr(out, truth))
            if method == "hybrid" and not row:
                row = [a, out, truth]
    return NodeFigure("Retime 2x", "PSNR dB, in-betweens", _mean(scores["hybrid"]),
                      {"blend": _mean(scores["blend"]), "flow": _mean(scores["flow"])}, row)


def show_upres(shot: ProceduralShot, model, frames: list[int], factor: int = 4) -> NodeFigure:
    """Upres ``factor``x from a copy shrunk by ``factor`` (area filter), against the full-size frame; baseline:
    bicubic."""
    import cv2

    from vsae.core.ops.upres import UpresOptions, resize, upres

    size = (shot.width, shot.height)
    ours, bicubic = [], []
    row: list[np.ndarray] = []
    for t in frames:
        truth = shot.render(t)[0]
        low = cv2.resize(truth, (shot.width // factor, shot.height // factor), interpolation=cv2.INTER_AREA)
        out, _ = upres(to_working(low), size, lambda: model, UpresOptions())
        up = from_working(out)
        ours.append(display_psnr(up, truth))
        bicubic.append(display_psnr(from_working(resize(to_working(low), size, "bicubic")), truth))
        if not row:
            row = [low, up, truth]
    return NodeFigure(f"Upres {factor}x", "PSNR dB, full frame", _mean(ours), {"bicubic": _mean(bicubic)}, row)


def show_clean_plate(shot: ProceduralShot, model, frames: list[int], grow: int = 3) -> NodeFigure:
    """Clean Plate of the shot's objects, holes from their true mattes (grown by ``grow`` pixels), filled from
    other frames and the model, scored inside the holes against the true background; baseline: Telea inpainting."""
    import cv2

    from vsae.core.metrics import psnr, to_display
    from vsae.core.ops.clean_plate import CleanPlateOptions, clean_plate, fill_frames, hole_matte

    options = CleanPlateOptions(fill="temporal", iterations=5, grow=grow, feather=0.0)
    everything = list(range(shot.frames))
    ours, telea = [], []
    row: list[np.ndarray] = []
    for t in frames:
        plate, mask = shot.render(t)
        truth = shot.render(t, objects=False)[0]
        hole = mask > 0.5
        others = [(to_working(rgb), other_mask > 0.5)
                  for rgb, other_mask in (shot.render(s) for s in fill_frames(t, everything, options.fill, 8))]
        fill, _ = clean_plate(to_working(plate), hole, others, lambda: model, options)
        cleaned = from_working(fill)
        inside = hole_matte(hole, grow)[0]
        display_truth = to_display(truth)
        ours.append(psnr(to_display(cleaned)[inside], display_truth[inside]))
        cut8 = np.round(np.where(inside[:, :, None], 0, to_display(plate)) * 255).astype(np.uint8)
        painted = cv2.inpaint(cut8, inside.astype(np.uint8), 3, cv2.INPAINT_TELEA).astype(np.float32) / 255
        telea.append(psnr(painted[inside], display_truth[inside]))
        if not row:
            row = [plate, cleaned, truth]
    return NodeFigure("Clean Plate", "PSNR dB, inside the hole", _mean(ours), {"Telea": _mean(telea)}, row)


def _overlay(rgb: np.ndarray, matte: np.ndarray) -> np.ndarray:
    """The frame darkened outside the matte and tinted inside it: a matte a person can judge on the picture."""
    m = np.clip(matte, 0, 1)[:, :, None]
    return (rgb * (0.25 + 0.75 * m) + m * np.array([0.0, 0.15, 0.0], np.float32)).astype(np.float32)


def show_mask_propagate(shot: ProceduralShot, model) -> NodeFigure:
    """Mask Propagate from the first frame's true matte to every other frame, scored by J (intersection over
    union, x100) against the true mattes; baseline: the matte carried frame to frame by optical flow."""
    from vsae.core.ops.mask_propagate import MaskPropagateOptions, MaskPropagation, jaccard
    from vsae.core.ops.retime import flow_pair, warp

    frames = list(range(shot.frames))
    plates = {t: shot.render(t) for t in frames}
    propagation = MaskPropagation(lambda t: plates[t][0], frames, {0: plates[0][1]}, lambda: model,
                                  MaskPropagateOptions())
    ours, flow = [], []
    carried = plates[0][1]
    h, w = carried.shape
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), axis=-1)
    for t in frames[1:]:
        matte = propagation.matte(t)
        back, _ = flow_pair(to_working(plates[t][0]), to_working(plates[t - 1][0]))  # frame t's pixels in t - 1
        carried = warp(carried[:, :, None], grid + back)[:, :, 0]
        truth = plates[t][1]
        ours.append(100 * jaccard(matte, truth))
        flow.append(100 * jaccard(carried, truth))
    last = frames[-1]
    row = [_overlay(plates[0][0], plates[0][1]), _overlay(plates[last][0], matte),
           _overlay(plates[last][0], plates[last][1])]
    return NodeFigure("Mask Propagate", "J x100, frames 2-last", _mean(ours), {"flow": _mean(flow)}, row)


def show_extend(shot: ProceduralShot, model, frames: list[int]) -> NodeFigure:
    """Extend by the shot's margin on the left and right, scored on the new area against the scene the wide
    render shows there; baseline: the mirrored first guess."""
    from vsae.core.ops.canvas import ExtendOptions, extend

    m = shot.margin
    ours, mirror = [], []
    row: list[np.ndarray] = []
    for t in frames:
        plate, truth = shot.render(t)[0], shot.render(t, wide=True)[0]
        guess, out, original = extend(to_working(plate), (m, m, 0, 0), lambda: model, ExtendOptions())
        new = ~original
        result = from_working(out)
        ours.append(display_psnr(result[new].reshape(-1, 1, 3), truth[new].reshape(-1, 1, 3)))
        mirror.append(display_psnr(from_working(guess)[new].reshape(-1, 1, 3), truth[new].reshape(-1, 1, 3)))
        if not row:
            row = [plate, result, truth]
    return NodeFigure(f"Extend {m}+{m}px", "PSNR dB, new area", _mean(ours), {"mirror": _mean(mirror)}, row)


def show_nodes(shot: ProceduralShot, model, progress: Callable[[float], None] | None = None) -> list[NodeFigure]:
    """Every node's showing on ``shot`` (with a margin, for Extend) by its trained ``model``, on a few frames
    spread over the shot (Mask Propagate: all of them). progress(fraction done) after each node."""
    n = shot.frames
    spread = sorted({round(i * (n - 2) / 2) for i in range(3)})  # three frames, first to last but one
    shows = [lambda: show_retime(shot, model, spread), lambda: show_upres(shot, model, spread),
             lambda: show_clean_plate(shot, model, spread), lambda: show_mask_propagate(shot, model),
             lambda: show_extend(shot, model, spread[:2])]
    figures = []
    for i, show in enumerate(shows):
        figures.append(show())
        if progress is not None:
            progress((i + 1) / len(shows))
    return figures


def figure_table(figures: list[NodeFigure]) -> str:
    """The figures as a small text table: node, measure, vsae's score, the baselines'."""
    lines = [f"{'node':<16}{'measure':<26}{'vsae':>7}   baseline"]
    for f in figures:
        others = ", ".join(f"{name} {value:.2f}" for name, value in f.baselines.items())
        lines.append(f"{f.node:<16}{f.measure:<26}{f.score:>7.2f}   {others}")
    return "\n".join(lines)
