"""One sub-command per node, generated from its definition: `vsae retime`, `vsae upres`, ..."""

from __future__ import annotations

import argparse
import json

from vsae.errors import ParameterError
from vsae.cli.arguments import (add_inference, add_output, add_shot, add_training, check_output, model_entry,
                                plates_of, progress_bar, task_progress, train_settings)


def add_parsers(sub) -> None:
    from vsae.plugin.nodes import all_nodes

    for node in all_nodes():
        _add_node(sub, node)


def _add_node(sub, node) -> None:
    """A subcommand for a node: its parameters become options, typed and checked by the node's own Params."""
    hyphenated = node.name.replace("_", "-")  # clean-plate as well as clean_plate
    p = sub.add_parser(node.name, help=node.help, description=node.help,
                       aliases=[hyphenated] if hyphenated != node.name else [])
    add_shot(p)
    p.add_argument("-o", "--output", help="output pattern (out.####.exr); required unless --print-range")
    for clip in node.inputs[1:]:
        p.add_argument(f"--{clip.name.replace('_', '-')}", dest=f"input_{clip.name}",
                       help=f"{clip.help}: an image sequence or a still (same frame numbers as the shot)")
    p.add_argument("--plates", help="the shot whose model renders, as trained (default: the input shot itself)")
    p.add_argument("--plate-frames", help="frames of --plates the model was trained on (default: all)")
    p.add_argument("--render", help="output frames to render (default: the node's whole output range)")
    p.add_argument("--no-train", action="store_true", help="fail if the shot's model is not cached instead of training")
    p.add_argument("--print-range", action="store_true",
                   help="print the output frame range, the frames --render would make and the source frames they "
                        "read, as JSON, and stop: nothing is trained, read or written (for farm submitters)")
    add_inference(p)
    add_output(p)
    g = p.add_argument_group(f"{node.name} parameters")
    for param in node.params:
        extra = f" (default {param.default})" if param.default not in (None, "") else ""
        if param.choices:
            extra += f" [{'|'.join(param.choices)}]"
        g.add_argument(f"--{param.name.replace('_', '-')}", dest=f"param_{param.name}", default=param.default,
                       metavar=param.kind.upper(),
                       help=param.help + extra)
    add_training(p)
    p.set_defaults(func=cmd_node, node=node)


def cmd_node(args) -> int:
    from vsae.core.io.sequence import open_shot, parse_frames
    from vsae.plugin.render_files import frame_plan, render_to_files

    node = args.node
    params = node.resolve({p.name: getattr(args, f"param_{p.name}") for p in node.params})
    train_settings(args)  # training parameters checked before anything is read or written
    check_output(args)
    from vsae.core.model.shot_model import check_device

    check_device(args.device, args.backend, args.render_precision)
    seq = open_shot(args.shot, args.frames, args.colorspace)
    extra = {}
    for clip in node.inputs[1:]:
        spec = getattr(args, f"input_{clip.name}")
        if spec:  # mattes are data, not colour: read them as they are stored
            extra[clip.name] = open_shot(spec, None, "linear" if clip.is_matte else args.colorspace)
        elif not clip.optional:
            raise ParameterError(f"{node.name}: input --{clip.name.replace('_', '-')} is required")
    frames = parse_frames(args.render)
    if args.print_range:
        print(json.dumps(frame_plan(node, params, seq.frames, frames)))
        return 0
    if not args.output:
        raise ParameterError(f"{node.name}: -o/--output is required (an output pattern such as out.####.exr)")
    task_progress(args)  # one progress stream, shared with the model's training (plates is a copy of args)
    plates = argparse.Namespace(**{**vars(args), "shot": args.plates or args.shot,
                                   "frames": args.plate_frames if args.plates else args.frames})

    def shot_model():  # called once, and only by renders that need the model
        entry = model_entry(plates, train=not args.no_train, end=0.5)  # training is the task's first half
        return entry.load_model(backend=args.backend, precision=args.render_precision, device=args.device)

    progress = progress_bar(args, node.name)
    written = render_to_files(node, params, seq, args.output, shot_model, frames=frames, depth=args.depth,
                              compression=args.compression, progress=progress, extra=extra,
                              model_inputs=[plates_of(plates)] if args.plates else [])
    progress.close()
    print(f"wrote {len(written)} frames {written[0]}-{written[-1]} to {args.output}")
    return 0
