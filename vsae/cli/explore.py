"""`vsae explore`: the shot's latent map, in the panel or as a report."""

from __future__ import annotations

import json
import sys

from vsae.errors import ParameterError
from vsae.cli.arguments import (add_inference, add_shot, add_shot_options, add_training, model_entry, plates_of,
                                progress_bar)


def add_parsers(sub) -> None:
    p = sub.add_parser("average", help="the average image of some of a shot's frames: their decoded mean latent, "
                                       "reprojected (the paper's average, a plausible frame, not a blur)")
    add_shot(p)
    add_training(p)
    add_inference(p)
    p.add_argument("--select", help="the frames averaged (default: every frame of --frames)")
    p.add_argument("-o", "--output", required=True, help="the average image (avg.exr)")
    p.add_argument("--iterations", type=int, default=5, help="reprojections of the decoded mean (default 5, the "
                                                             "paper's)")
    p.add_argument("--fine-tune", type=int, default=0,
                   help="first train a copy of the model this many steps on the selected frames alone (the paper "
                        "sharpens cluster averages so; default 0: off)")
    p.add_argument("--pixel-mean", help="also write the per-pixel mean of the same frames here, to compare")
    p.add_argument("--no-train", action="store_true", help="fail if the shot's model is not cached")
    p.set_defaults(func=cmd_average)

    p = sub.add_parser("align", help="another shot's frames through this shot's model: reprojected frames, the frame "
                                     "of this shot each one matches, and how well the model covers them")
    p.add_argument("other", help="the other shot (sequence, folder or movie)")
    p.add_argument("--model-from", dest="shot", required=True, metavar="SHOT",
                   help="the shot whose model aligns (its plates, as given to vsae train)")
    p.add_argument("--other-frames", help="frames of the other shot (default: all)")
    add_shot_options(p)
    add_training(p)
    add_inference(p)
    p.add_argument("-o", "--output", help="the aligned frames (aligned.####.exr): the other's frames reprojected")
    p.add_argument("--iterations", type=int, default=1, help="reprojections of each frame (default 1)")
    p.add_argument("--matches", help="write the matches and the collapse score here (JSON; default: print them)")
    p.add_argument("--no-train", action="store_true", help="fail if the shot's model is not cached")
    p.set_defaults(func=cmd_align)

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
    p.add_argument("--overlay", help="another shot to draw over the map in the panel (its frames through this "
                                     "shot's model, as vsae align matches them)")
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
    overlay = None
    if args.overlay:
        from vsae.core.io.sequence import open_shot

        overlay = open_shot(args.overlay, None, args.colorspace)
        overlay.check_sizes()
    explorer = ShotExplorer(model_entry(args, train=not args.no_train), backend=args.backend)
    if not headless:
        codes = _other_codes(explorer.model, overlay, explorer.entry.manifest["training_size"]) if overlay else None
        return _open_panel(explorer, args, codes, overlay.label if overlay else "")

    if args.report:
        labels, meds = explorer.clusters(args.clusters)
        print(json.dumps({
            "model": explorer.entry.key, "frames": [explorer.frames[0], explorer.frames[-1]],
            "explained_variance": [round(float(v), 4) for v in explorer.map.explained],
            "clusters": [{"frames": [explorer.frames[i] for i in range(len(labels)) if labels[i] == c],
                          "medoid": explorer.frames[m]} for c, m in enumerate(meds)],
            "cuts": explorer.cuts(),
            # loop_first/loop_last for `vsae loop` (the stretch start..end-1; frame end looks like start)
            "loops": [{"loop_first": explorer.frames[i], "loop_last": explorer.frames[j - 1],
                       "similarity": round(s, 4)} for i, j, s in (loop_points(explorer.latents, args.loop_min)
                                                                  if args.loop_min < len(explorer.latents) else [])],
        }, indent=2))
    if args.summary:
        write_image(args.summary, Frame(rgb=explorer.summary(args.clusters)))
        print(f"wrote {args.summary}")
    if args.loop:
        start, end, similarity = loop_points(explorer.latents, args.loop_min)[0]
        steps = endless_loop(start, end, args.loop_length, count=len(explorer.latents))
        for n, image in enumerate(explorer.render_steps(steps)):
            write_image(loop_paths[n + 1], Frame(rgb=image))
        print(f"wrote {args.loop_length} loop frames to {args.loop}: source frames {explorer.frames[start]}-"
              f"{explorer.frames[end - 1]} repeated (similarity of the jump {similarity:.3f})")
    return 0


def _other_codes(model, other, size, each=None):
    """Codes (M, 12k, h, w) of another shot's frames through ``model``, each frame resized to ``size`` (width,
    height: the model's shot's training size, so the codes compare with its own); ``each(number, frame)`` is called
    with every frame read."""
    import cv2
    import numpy as np

    from vsae.core import colour

    codes = []
    for number in other.frames:
        frame = other.read(number)
        small = cv2.resize(frame.rgb, tuple(size), interpolation=cv2.INTER_AREA)
        codes.append(model.encode(colour.to_working(small).transpose(2, 0, 1)[None])[0][0])
        if each is not None:
            each(number, frame)
    return np.stack(codes)


def _open_panel(explorer, args, overlay_codes=None, overlay_label: str = "") -> int:
    try:
        from qtpy import QtWidgets
    except Exception as exc:  # qtpy raises its own error when no binding is installed
        raise ParameterError(f"vsae explore: the panel needs Qt ({exc}); pip install 'vsae[qt]', or use --report "
                             f"/ --summary / --loop") from None
    from vsae.core.cache import ModelCache
    from vsae.plugin.qt.explore_panel import ExplorePanel

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    panel = ExplorePanel(explorer, cache=ModelCache(args.cache))
    if overlay_codes is not None:
        panel.overlay_codes(overlay_codes, overlay_label)
    panel.resize(1100, 700)
    panel.show()
    return app.exec()


def cmd_average(args) -> int:
    """The decoded mean latent of the selected frames at the plates' size, reprojected, written with the first
    selected frame's header and what made it."""
    import dataclasses

    import numpy as np

    from vsae import __version__
    from vsae.core import colour
    from vsae.core.explore import latent_average
    from vsae.core.io.output_files import check_outputs
    from vsae.core.io.sequence import check_image_extension, open_shot, parse_frames, write_image
    from vsae.core.model.padding import stride_pads
    from vsae.core.model.shot_model import check_device

    if args.iterations < 0:
        raise ParameterError(f"--iterations {args.iterations}: expected 0 or more")
    if args.fine_tune < 0:
        raise ParameterError(f"--fine-tune {args.fine_tune}: expected 0 or more steps")
    check_device(args.device, args.backend, args.render_precision)
    seq = open_shot(args.shot, args.frames, args.colorspace)
    selected = parse_frames(args.select) if args.select else list(seq.frames)
    outside = [f for f in selected if f not in set(seq.frames)]
    if outside:
        raise ParameterError(f"--select: frame {outside[0]} is not a frame of {seq.label}")
    outputs = [args.output] + ([args.pixel_mean] if args.pixel_mean else [])
    for path in outputs:
        check_image_extension(path)
    check_outputs(outputs, [seq])
    seq.check_sizes()
    entry = model_entry(args, train=not args.no_train, end=0.5)
    model = entry.load_model(backend=args.backend, precision=args.render_precision, device=args.device)
    first = seq.read(selected[0])
    frames, total = [], np.zeros_like(first.rgb, np.float64)  # each plate read once: the pixel mean sums them
    for f in selected:
        rgb = first.rgb if f == selected[0] else seq.read(f).rgb
        frames.append(colour.to_working(rgb))
        total += rgb
    if args.fine_tune:
        progress = progress_bar(args, "fine-tune", total=args.fine_tune, end=0.9)
        from vsae.core.training.fine_tune import fine_tune

        model = fine_tune(model, np.stack(frames), args.fine_tune, progress=progress)
        progress.close()
    height, width = frames[0].shape[:2]
    latents = model.encode_batches(f.transpose(2, 0, 1) for f in frames)
    average = colour.from_working(latent_average(model, latents, stride_pads(height, width)[0],
                                                 args.iterations).transpose(1, 2, 0))
    provenance = {"vsae:version": __version__, "vsae:node": "average",
                  "vsae:parameters": json.dumps({"select": args.select or "all", "iterations": args.iterations,
                                                 "fine_tune": args.fine_tune}),
                  "vsae:model": entry.key}
    header = first.header
    write_image(args.output, dataclasses.replace(first, rgb=average, alpha=None, extra={}, header=header),
                colorspace=args.colorspace, provenance=provenance)
    print(f"wrote {args.output}: the average of {len(selected)} frames ({selected[0]}-{selected[-1]}), "
          f"{args.iterations} reprojections" + (f", after {args.fine_tune} fine-tuning steps" if args.fine_tune
                                                else ""))
    if args.pixel_mean:
        mean = (total / len(selected)).astype(np.float32)
        write_image(args.pixel_mean, dataclasses.replace(first, rgb=mean, alpha=None, extra={}, header=header),
                    colorspace=args.colorspace, provenance={**provenance, "vsae:node": "pixel mean"})
        print(f"wrote {args.pixel_mean}: their per-pixel mean")
    return 0


def cmd_align(args) -> int:
    """The other shot through this shot's model (``--model-from``): each frame reprojected (``-o``), matched to the
    frame of this shot with the most similar code, and the collapse score of the whole (``--matches``)."""
    import dataclasses

    from vsae.core.explore import cross_shot_matches, shot_map
    from vsae.core.io.output_files import check_outputs, write_text_atomic
    from vsae.core.io.sequence import open_shot, output_paths, write_image
    from vsae.core.model.inference import reconstruct
    from vsae.core.model.shot_model import check_device

    if args.iterations < 0:
        raise ParameterError(f"--iterations {args.iterations}: expected 0 or more")
    check_device(args.device, args.backend, args.render_precision)
    other = open_shot(args.other, args.other_frames, args.colorspace)
    other.check_sizes()
    inputs = [other, plates_of(args)]
    paths = output_paths(args.output, other.frames, inputs) if args.output else {}
    if args.matches:
        check_outputs([args.matches], inputs)
    entry = model_entry(args, train=not args.no_train, end=0.4)
    model = entry.load_model(backend=args.backend, precision=args.render_precision, device=args.device)
    the_map, latents = shot_map(entry)
    width, height = entry.manifest["training_size"]
    progress = progress_bar(args, "align", total=len(other))
    done: list[int] = []

    def each(number, frame):
        if args.output:
            aligned = reconstruct(model, frame.rgb, args.iterations) if args.iterations else frame.rgb
            write_image(paths[number], dataclasses.replace(frame, rgb=aligned, extra={}), colorspace=args.colorspace)
        done.append(number)
        progress.update(len(done) / len(other), bar_position=len(done), frame=number)

    codes = _other_codes(model, other, (width, height), each)
    progress.close()
    found = cross_shot_matches(the_map, latents, codes)
    frames = [int(f) for f in the_map.frames]
    report = {"model": entry.key, "shot": entry.manifest["source"]["label"], "other": other.label,
              "matches": {str(f): frames[int(m)] for f, m in zip(other.frames, found["matches"])},
              "similarity": {str(f): round(float(s), 4) for f, s in zip(other.frames, found["similarity"])},
              "unique_matches": round(found["unique"], 4), "spread": round(found["spread"], 4),
              "collapse": round(found["collapse"], 4)}
    text = json.dumps(report, indent=2)
    if args.matches:
        write_text_atomic(args.matches, text + "\n")
        print(f"wrote {args.matches}: collapse {report['collapse']}, {report['unique_matches']:.0%} of the frames "
              f"matched are distinct")
    else:
        print(text)
    if args.output:
        print(f"wrote {len(other)} aligned frames to {args.output}")
    return 0
