"""Cross-shot alignment (issue 18, item 6): another clip's frames through a clip's model, as `vsae align` does (the
shipped ``vsae.core.explore.cross_shot_matches``). Per model (a clip's protocol model, trained on its even frames)
and per other clip: the collapse score (1 - the other's spread on the model's map over the clip's own), the share of
distinct frames matched, and the mean cosine similarity of the matches. The clip's own held-out (odd) frames are the
row's reference: a model that represents a shot spreads its frames over the map as its own.

    python bench/align_quality.py --clips davis-bear,davis-blackswan,davis-cows --steps 600
"""

from __future__ import annotations

import argparse

import numpy as np

from clip_models import clip_model
from common import DAVIS, display_to_working, load_clip, require_clips, save_results


def main():
    from vsae.core.explore import CLUSTER_COMPONENTS, cross_shot_matches, latent_map

    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(DAVIS[:6]))
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--name", help="this run's name in the record (default: default)")
    args = ap.parse_args()
    require_clips()
    clips = args.clips.split(",")
    frames = {clip: display_to_working(load_clip(clip)) for clip in clips}
    rows = []
    for clip in clips:
        model = clip_model(clip, steps=args.steps, frames=frames[clip])
        own = model.encode_batches(f.transpose(2, 0, 1) for f in frames[clip][0::2])
        shot_map = latent_map(own, range(len(own)), CLUSTER_COMPONENTS)
        row: dict = {"model": clip}
        for other in clips:
            # The clip's own odd frames (never trained on) stand for itself; other clips' frames, every other one.
            codes = model.encode_batches(f.transpose(2, 0, 1) for f in frames[other][1::2])
            found = cross_shot_matches(shot_map, own, codes)
            row[other] = {"collapse": round(found["collapse"], 3), "unique": round(found["unique"], 3),
                          "similarity": round(float(found["similarity"].mean()), 3)}
        rows.append(row)
        print(clip, "  ".join(f"{o}: collapse {v['collapse']:.2f} unique {v['unique']:.2f} sim {v['similarity']:.2f}"
                              for o, v in row.items() if isinstance(v, dict)), flush=True)
    own_rows = [r[r["model"]] for r in rows]
    others = [v for r in rows for o, v in r.items() if isinstance(v, dict) and o != r["model"]]
    mean = {kind: {m: round(float(np.mean([v[m] for v in group])), 3) for m in ("collapse", "unique", "similarity")}
            for kind, group in (("own_held_out", own_rows), ("other_clips", others))}
    print("mean", mean)
    print(save_results("align_quality", {"steps": args.steps, "rows": rows, "mean": mean}, args.name))


if __name__ == "__main__":
    main()
