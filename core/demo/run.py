"""``vsae demo``: the whole core job on a shot the project makes itself, with nothing to download.

Generates the procedural shot, trains its model within a budget (cache inside the demo folder), writes the
reconstructions and a contact sheet, and scores PSNR on the trained frames and on the true in-between frames,
which the model never saw. Then the nodes at work (``showcase``): Retime, Upres, Clean Plate, Mask Propagate and
Extend, each scored against the shot's true answer beside a classical baseline, in a labelled sheet.
"""

from __future__ import annotations

import os

import numpy as np

from vsae.core.cache import ModelCache
from vsae.core.io.contact_sheet import write_contact_sheet
from vsae.core.model.inference import reconstruct
from vsae.core.metrics import display_psnr
from vsae.core.demo.procedural import ProceduralShot
from vsae.core.demo.showcase import show_nodes
from vsae.core.io.sequence import Frame, open_shot, output_path, write_image
from vsae.core.settings import TrainSettings


def run_demo(out: str, budget_s: float | None = 60.0, width: int = 320, height: int = 192, frames: int = 24,
             progress=None, nodes_progress=None, settings: TrainSettings | None = None) -> dict:
    """Run the demo into folder ``out``; returns what it wrote and scored. The model trains for ``budget_s`` seconds
    (or by ``settings``, which win: tests train a tiny model); ``progress``: the training's Progress,
    ``nodes_progress``: the nodes' (``core.progress``)."""
    shot = ProceduralShot(width=width, height=height, frames=frames, margin=max(16, width // 10))
    patterns = shot.write(os.path.join(out, "shot"))
    seq = open_shot(patterns["plates"])
    entry = ModelCache(os.path.join(out, "cache")).get_or_train(seq, settings or TrainSettings(budget_s=budget_s),
                                                                 progress=progress)
    if progress is not None:
        progress.close()
    model = entry.load_model()
    recon_pattern = os.path.join(out, "reconstructions", "recon.####.exr")
    plates, recons, scores = [], [], []
    for number in seq.frames:
        rgb = seq.read(number).rgb
        rec = reconstruct(model, rgb)
        write_image(output_path(recon_pattern, number), Frame(rgb=rec, pixel_type="half"))
        plates.append(rgb)
        recons.append(rec)
        scores.append(display_psnr(rec, rgb))
    mids = open_shot(patterns["inbetween"])
    heldout = []
    for number in mids.frames:
        truth = mids.read(number).rgb
        heldout.append(display_psnr(reconstruct(model, truth), truth))
    pick = np.linspace(0, len(plates) - 1, 6).round().astype(int)
    sheet = os.path.join(out, "contact_sheet.png")
    write_contact_sheet(sheet, [[plates[i] for i in pick], [recons[i] for i in pick]])
    figures = show_nodes(shot, model, None if nodes_progress is None else nodes_progress.update)
    if nodes_progress is not None:
        nodes_progress.close()
    nodes_sheet = os.path.join(out, "nodes.png")
    write_contact_sheet(nodes_sheet, [f.row for f in figures],
                        labels=[f"{f.node}: {f.score:.1f} vs " + ", ".join(f"{k} {v:.1f}"
                                                                           for k, v in f.baselines.items())
                                for f in figures],
                        headers=("source", "result", "truth"))
    return {"plates": patterns["plates"], "reconstructions": recon_pattern, "contact_sheet": sheet,
            "model": entry.key, "psnr_db": float(np.mean(scores)), "heldout_psnr_db": float(np.mean(heldout)),
            "nodes": figures, "nodes_sheet": nodes_sheet}
