"""`vsae explore`: the shot's latent map, in the panel or as a report."""

from __future__ import annotations

import json
import sys

from vsae.errors import ParameterError
from vsae.cli.arguments import add_shot, add_training, model_entry, plates_of


def add_parsers(sub) -> None:
    p = sub.add_parser("explore", help="the shot's latent map: open the panel, or report clusters, cuts, loops")
    add_shot(p)
    add_training(p)
    p.add_argument("--no-train", action="store_true", help="fail if the shot's model is not cached")
    p.add_argument("--backend", default="auto", choices=("auto", "onnx", "torch"))
    p.add_argument("--clusters", type=int, help="k-means clusters (default: estimated)")
    p.add_argument("--report", action="store_true",
                   help="print the map, clusters, medoids and cuts as JSON instead of opening the panel")
    p.add_argument("--summary", help="write the clusters' medoids in temporal order as one image (summary.png)")
    p.add_argument("--loop", help="write an endless loop (video texture) to this pattern (loop.####.png)")
    p.add_argument("--loop-length", type=int, default=96, help="frames of the written loop (default 96)")
    p.add_argument("--loop-min", type=int, default=12, help="shortest stretch of the shot the loop repeats (12)")
    p.set_defaults(func=cmd_explore)


def cmd_explore(args) -> int:
    from vsae.core.explore import ShotExplorer, endless_loop, loop_points

    from vsae.core.io.sequence import Frame, check_image_extension, output_paths, write_image

    headless = args.report or args.summary or args.loop
    loop_paths = {}
    if args.summary or args.loop:  # outputs checked before the model is trained
        from vsae.core.io.output_files import check_outputs

        inputs = [plates_of(args)]
        if args.summary:
            check_image_extension(args.summary)
            check_outputs([args.summary], inputs)
        if args.loop:
            loop_paths = output_paths(args.loop, range(1, args.loop_length + 1), inputs)
    explorer = ShotExplorer(model_entry(args, train=not args.no_train), backend=args.backend)
    if not headless:
        return _open_panel(explorer, args)

    if args.report:
        labels, meds = explorer.clusters(args.clusters)
        print(json.dumps({
            "model": explorer.entry.key, "frames": [explorer.frames[0], explorer.frames[-1]],
            "explained_variance": [round(float(v), 4) for v in explorer.map.explained],
            "clusters": [{"frames": [explorer.frames[i] for i in range(len(labels)) if labels[i] == c],
                          "medoid": explorer.frames[m]} for c, m in enumerate(meds)],
            "cuts": explorer.cuts(),
        }, indent=2))
    if args.summary:
        write_image(args.summary, Frame(rgb=explorer.summary(args.clusters)))
        print(f"wrote {args.summary}")
    if args.loop:
        start, end, similarity = loop_points(explorer.latents, args.loop_min)[0]
        steps = endless_loop(start, end, args.loop_length)
        for n, image in enumerate(explorer.render_steps(steps)):
            write_image(loop_paths[n + 1], Frame(rgb=image))
        print(f"wrote {args.loop_length} loop frames to {args.loop}: source frames {explorer.frames[start]}-"
              f"{explorer.frames[end - 1]} repeated (similarity of the jump {similarity:.3f})")
    return 0


def _open_panel(explorer, args) -> int:
    try:
        from qtpy import QtWidgets
    except Exception as exc:  # qtpy raises its own error when no binding is installed
        raise ParameterError(f"vsae explore: the panel needs Qt ({exc}); pip install 'vsae[qt]', or use --report "
                             f"/ --summary / --loop") from None
    from vsae.core.cache import ModelCache
    from vsae.plugin.qt.explore_panel import ExplorePanel

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    panel = ExplorePanel(explorer, cache=ModelCache(args.cache))
    panel.resize(1100, 700)
    panel.show()
    return app.exec()
