"""``vsae demo``: the whole core job on a shot the project makes itself, with nothing to download.

Generates the procedural shot, trains its model within a budget (cache inside the demo folder), writes the
reconstructions and a contact sheet, and scores PSNR on the trained frames and on the true in-between frames,
which the model never saw.
"""

from __future__ import annotations

import os

import numpy as np

from vsae.core.cache import ModelCache
from vsae.core.io.contact_sheet import write_contact_sheet
from vsae.core.model.inference import reconstruct
from vsae.core.metrics import display_psnr
from vsae.core.demo.procedural import ProceduralShot
from vsae.core.io.sequence import Frame, open_shot, output_path, write_image
from vsae.core.settings import TrainSettings


def run_demo(out: str, budget_s: float = 60.0, width: int = 320, height: int = 192, frames: int = 24,
             progress=None) -> dict:
    shot = ProceduralShot(width=width, height=height, frames=frames)
    patterns = shot.write(os.path.join(out, "shot"))
    seq = open_shot(patterns["plates"])
    entry = ModelCache(os.path.join(out, "cache")).get_or_train(seq, TrainSettings(budget_s=budget_s),
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
    return {"plates": patterns["plates"], "reconstructions": recon_pattern, "contact_sheet": sheet,
            "model": entry.key, "psnr_db": float(np.mean(scores)), "heldout_psnr_db": float(np.mean(heldout))}
