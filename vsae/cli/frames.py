"""`vsae reconstruct` and `vsae encode`: frames through the shot's model."""

from __future__ import annotations

import json
import os
from pathlib import Path

from vsae.errors import OutputError, ParameterError
from vsae.cli.arguments import (add_inference, add_output, add_shot, add_training, check_output, model_entry,
                                plates_of, progress_bar, train_settings)


def add_parsers(sub) -> None:
    for name, fn, helptext in (("reconstruct", cmd_reconstruct, "pass frames through the shot's model"),
                               ("encode", cmd_encode, "write latent codes of frames to .npy")):
        p = sub.add_parser(name, help=helptext)
        add_shot(p)
        add_training(p)
        p.add_argument("-o", "--output", required=True,
                       help="output pattern (out.####.exr)" if name == "reconstruct" else "output .npy file")
        p.add_argument("--render", help="frames to process (default: --frames); may include frames never trained on")
        p.add_argument("--no-train", action="store_true", help="fail if the model is not cached instead of training")
        add_inference(p)
        if name == "reconstruct":
            p.add_argument("--iterations", type=int, default=1, help="reprojection iterations (default 1)")
            add_output(p)
            p.add_argument("--keep-channels", action="store_true",
                           help="copy channels other than RGBA (depth, AOVs) through unchanged (default: dropped)")
        p.set_defaults(func=fn)


def cmd_reconstruct(args) -> int:
    from vsae.core.model.shot_model import check_device
    from vsae.core.io.sequence import open_shot, output_paths
    from vsae.plugin.render_files import reconstruct_to_files

    if args.iterations < 1:
        raise ParameterError(f"--iterations {args.iterations}: must be at least 1")
    train_settings(args)
    check_output(args)
    check_device(args.device, args.backend, args.render_precision)  # before anything trains or is written
    seq = open_shot(args.shot, args.render or args.frames, args.colorspace)
    paths = output_paths(args.output, seq.frames, [seq] + ([plates_of(args)] if args.render else []))
    seq.check_sizes()
    if args.keep_channels:  # the kept channels must be finite too: found now, not after minutes of training
        for number in seq.frames:
            seq.read(number, keep_extra=True)
    entry = model_entry(args, train=not args.no_train, end=0.5)  # training is the task's first half
    model = entry.load_model(backend=args.backend, precision=args.render_precision, device=args.device)
    progress = progress_bar(args, "reconstruct", total=len(seq))
    reconstruct_to_files(seq, paths, model, args.iterations, depth=args.depth, compression=args.compression,
                         keep_extra=args.keep_channels, progress=progress)
    progress.close()
    print(f"wrote {len(seq)} frames to {args.output} ({model.resolved_backend()})")
    return 0


def cmd_encode(args) -> int:
    import numpy as np

    from vsae.core.model.inference import frame_to_working
    from vsae.core.io.output_files import check_outputs, write_atomic
    from vsae.core.io.sequence import open_shot

    out = args.output
    if not out.lower().endswith(".npy"):
        raise OutputError(f"-o {out}: latents are written as .npy (their frame numbers go beside, in .json)")
    from vsae.core.model.shot_model import check_device

    sidecar = os.path.splitext(out)[0] + ".json"
    train_settings(args)
    check_device(args.device, args.backend, args.render_precision)  # before anything trains or is written
    seq = open_shot(args.shot, args.render or args.frames, args.colorspace)
    check_outputs([out, sidecar], [seq] + ([plates_of(args)] if args.render else []))
    seq.check_sizes()
    entry = model_entry(args, train=not args.no_train)
    model = entry.load_model(backend=args.backend, precision=args.render_precision, device=args.device)
    latents = model.encode_batches(frame_to_working(seq.read(n).rgb) for n in seq.frames)
    write_atomic(out, lambda tmp: np.save(tmp, latents.astype(np.float32), allow_pickle=False))
    with_frames = {"model": entry.key, "frames": seq.frames, "shape": list(latents.shape)}
    write_atomic(sidecar, lambda tmp: Path(tmp).write_text(json.dumps(with_frames)))
    print(f"wrote latents {tuple(latents.shape)} to {out} (frame numbers in {sidecar})")
    return 0
