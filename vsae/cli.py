"""The ``vsae`` console tool: train, reconstruct, encode, export, info, demo, cache.

Every error vsae raises on purpose ends the run with one line on stderr and a non-zero exit code
(2 bad input, parameter or output, 3 cache, 4 backend, 5 a training that diverged). Everything that can be checked
is checked before the first training step or write (outputs never onto an input); outputs are written to temp names
and renamed, so an error leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from . import __version__
from .errors import OutputError, ParameterError, VsaeError


def _add_shot(p: argparse.ArgumentParser) -> None:
    p.add_argument("shot", help="sequence (shot.####.exr, shot.%%04d.exr), folder, or movie file")
    p.add_argument("--frames", help="frames of the shot (the model trains on them): 1001-1100, 1001-1100x2 "
                                    "(default: all)")
    p.add_argument("--cache", help="model cache folder (default: $VSAE_CACHE or the user cache folder)")
    p.add_argument("--colorspace", default="auto",
                   help="how the files are encoded: auto (float linear, integer sRGB), linear, srgb, or an OCIO "
                        "colour space (needs $OCIO); outputs are written the same way")


def _add_precision(p: argparse.ArgumentParser) -> None:
    p.add_argument("--render-precision", default=os.environ.get("VSAE_RENDER_PRECISION", "fp32"),
                   choices=("fp32", "bf16"),
                   help="torch inference precision: fp32 (default, or $VSAE_RENDER_PRECISION: the same pixels on "
                        "every machine) or bf16 (about 2x faster on CPUs with bf16 units; pixels depend on the CPU)")


def _add_training(p: argparse.ArgumentParser) -> None:
    from .core.settings import FINETUNE_LR, FINETUNE_WARMUP, LOSSES, SCRATCH_LR, SCRATCH_WARMUP, TrainSettings

    d = TrainSettings()
    g = p.add_argument_group("training (these settings are part of the model's cache key)")
    g.add_argument("--budget", default="5m", help="wall-clock training budget: 90s, 5m, 1h (default 5m)")
    g.add_argument("--steps", type=int, help="train this many steps instead of a time budget (deterministic)")
    g.add_argument("--arch", default=d.arch, choices=("fast", "paper"), help="network layers (default fast)")
    g.add_argument("--k", type=int, default=d.k, help=f"first-layer filters; latent has 12k channels (default {d.k})")
    g.add_argument("--widths", help="fast arch: channels at h/4,h/8,h/16,h/32,h/64 (default: from k)")
    g.add_argument("--decoder-widths", help="fast arch: decoder channels at h/4..h/64 (default: as the encoder)")
    g.add_argument("--half-width", type=int, default=d.half_width,
                   help="fast arch: channels of extra stages at h/2 in stem and output (default 0: none)")
    g.add_argument("--skip-scale", type=int, default=d.skip_scale, choices=(0, 4, 8, 16, 32),
                   help="fast arch: reprojection also carries the encoder's features at h/N (default 0: none)")
    g.add_argument("--batch", type=int, default=d.batch, help=f"frames per step (default {d.batch})")
    g.add_argument("--crop", type=int, default=d.crop,
                   help=f"random crop side, a multiple of 64; 0 = full frames only (default {d.crop})")
    g.add_argument("--lr", type=float, help=f"peak learning rate (default {SCRATCH_LR:g} from random weights, "
                                            f"{FINETUNE_LR:g} from a prior)")
    g.add_argument("--warmup", type=float, help=f"fraction of the run ramping the learning rate up (default "
                                                f"{SCRATCH_WARMUP:g} from random weights, {FINETUNE_WARMUP:g} from a prior)")
    g.add_argument("--loss", default=d.loss, choices=LOSSES, help=f"reconstruction loss (default {d.loss})")
    g.add_argument("--motion-weight", type=float, default=d.motion_weight,
                   help=f"extra loss weight on what moves (pixels away from the shot's mean frame) "
                        f"(default {d.motion_weight:g})")
    g.add_argument("--motion-fade", type=_fraction_or_none, default=d.motion_fade,
                   help=f"fraction of the run by which the motion weight has faded to nothing; none: held to the "
                        f"end (default {d.motion_fade:g})")
    g.add_argument("--degrade", type=float, default=d.degrade,
                   help="fraction of training inputs degraded as the nodes degrade what they hand the model (robust "
                        "training; the target stays clean) (default 0)")
    g.add_argument("--degrade-kinds", default=",".join(d.degrade_kinds),
                   help=f"which degradations: {','.join(d.degrade_kinds)} (Upres, Clean Plate, Retime)")
    g.add_argument("--train-scale", type=float, default=d.train_scale, help="train on frames resized by this factor")
    g.add_argument("--seed", type=int, default=d.seed, help="random seed (default 0)")
    g.add_argument("--precision", default=d.precision, choices=("auto", "bf16", "fp32"))
    g.add_argument("--checkpoint-every", type=float, default=d.checkpoint_every_s,
                   help=f"seconds between checkpoints; a killed run resumes from the last "
                        f"(default {d.checkpoint_every_s:g})")
    g.add_argument("--init-from", help="start from these weights: a shipped prior (procedural), a prior or model file "
                                       "(.safetensors), a cache key of another shot, or none")
    g.add_argument("--model", help="use this cache key instead of looking the shot up by its settings")


def _settings(args):
    from .core.settings import TrainSettings, parse_duration

    return TrainSettings(
        arch=args.arch, k=args.k, widths=_int_list(args.widths, "--widths"),
        decoder_widths=_int_list(args.decoder_widths, "--decoder-widths"), half_width=args.half_width,
        skip_scale=args.skip_scale,
        budget_s=None if args.steps else parse_duration(args.budget), steps=args.steps, batch=args.batch,
        crop=args.crop or None, lr=args.lr, warmup=args.warmup, loss=args.loss, motion_weight=args.motion_weight,
        motion_fade=args.motion_fade, degrade=args.degrade, degrade_kinds=args.degrade_kinds,
        train_scale=args.train_scale, seed=args.seed,
        precision=args.precision, checkpoint_every_s=args.checkpoint_every, nproc=getattr(args, "nproc", 1))


def _fraction_or_none(text: str) -> float | None:
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a number, or none") from None


def _int_list(text: str | None, name: str):
    if text is None:
        return None
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ParameterError(f"{name} {text!r}: expected comma-separated integers") from None


def _progress(task: str, total=None):
    from .core.progress import Progress

    return Progress(task, total=total)


def _model_ref(args):
    """The command's ModelRef: --model, else the shot, its frames and the training options."""
    from .core.model_ref import ModelRef

    if getattr(args, "model", None):
        return ModelRef(key=args.model)
    return ModelRef(shot=args.shot, frames=args.frames, colorspace=args.colorspace, settings=_settings(args),
                    init_from=args.init_from)


def _entry(args, train: bool):
    """The cache entry for the command's shot: by --model, else by shot + settings (training it if allowed)."""
    from .core.cache import ModelCache
    from .core.model_ref import resolve_entry

    ref = _model_ref(args)  # parameters are checked before any file is touched
    progress = _progress("train", total=ref.settings.steps)
    try:
        return resolve_entry(ref, ModelCache(args.cache), train=train, progress=progress)
    finally:
        progress.close()


def cmd_train(args) -> int:
    from .core import data_parallel

    if data_parallel.launched():
        return _train_in_world(args)
    if args.nproc > 1 or args.nnodes != "1":
        from .core.sequence import open_shot

        _settings(args)  # checked here, before any process starts
        open_shot(args.shot, args.frames, args.colorspace)
        return data_parallel.launch(args.argv, args.nproc, args.nnodes, args.node_rank, args.rdzv_endpoint,
                                    args.rdzv_id)
    _report_trained(_entry(args, train=True))
    return 0


def _train_in_world(args) -> int:
    """One process of a data-parallel training (started by ``data_parallel.launch`` or torchrun)."""
    from .core import data_parallel

    rank, _ = data_parallel.init_from_env()
    try:
        if rank == 0:
            try:
                entry = _entry(args, train=True)  # trains with the others only if the cache has no model
            finally:
                data_parallel.announce(False)  # nothing to train (cached, or an error): the others stop
            _report_trained(entry)
        elif data_parallel.await_announcement():
            from .core.cache import ModelCache
            from .core.model_ref import initial_weights
            from .core.sequence import open_shot
            from .core.trainer import train
            from .core.training_frames import load_training_frames

            settings = _settings(args)
            init_state = initial_weights(ModelCache(args.cache), args.init_from, settings)
            seq = open_shot(args.shot, args.frames, args.colorspace)
            train(load_training_frames(seq, settings.train_scale), settings, init_state=init_state)
        return 0
    finally:
        data_parallel.shutdown()


def _report_trained(entry) -> None:
    m = entry.manifest
    print(f"model {entry.key}  {m['source']['label']}  frames {m['source']['frames'][0]}-{m['source']['frames'][1]}"
          f"  psnr {m['metrics'].get('train_psnr_db')} dB  steps {m['metrics'].get('steps')}")
    print(entry.path)


def _plates(args):
    """The shot the model is trained on (an input no output may touch); None when --model names the model. Callers
    that already opened the same shot and frames pass that one instead."""
    from .core.sequence import open_shot

    return None if getattr(args, "model", None) else open_shot(args.shot, args.frames, args.colorspace)


def cmd_reconstruct(args) -> int:
    from .core.inference import reconstruct
    from .core.sequence import Frame, open_shot, output_paths, write_image

    if args.iterations < 1:
        raise ParameterError(f"--iterations {args.iterations}: must be at least 1")
    _settings(args)
    seq = open_shot(args.shot, args.render or args.frames, args.colorspace)
    paths = output_paths(args.output, seq.frames, [seq] + ([_plates(args)] if args.render else []))
    seq.check_sizes()
    if args.keep_channels:  # the kept channels must be finite too: found now, not after minutes of training
        for number in seq.frames:
            seq.read(number, keep_extra=True)
    entry = _entry(args, train=not args.no_train)
    model = entry.load_model(backend=args.backend, precision=args.render_precision)
    progress = _progress("reconstruct", total=len(seq))
    start = time.monotonic()
    for i, number in enumerate(seq.frames):
        frame = seq.read(number, keep_extra=args.keep_channels)
        out = Frame(rgb=reconstruct(model, frame.rgb, args.iterations), alpha=frame.alpha, extra=frame.extra,
                    pixel_type=frame.pixel_type)
        write_image(paths[number], out, pixel_type=args.depth, colorspace=seq.colorspace)
        spent = time.monotonic() - start
        progress.update((i + 1) / len(seq), bar_position=i + 1, frame=number,
                        eta_s=round(spent / (i + 1) * (len(seq) - i - 1), 1))
    progress.close()
    print(f"wrote {len(seq)} frames to {args.output} ({model.resolved_backend()})")
    return 0


def cmd_encode(args) -> int:
    import numpy as np

    from .core.inference import frame_to_working
    from .core.output_files import check_outputs, write_atomic
    from .core.sequence import open_shot

    out = args.output
    if not out.lower().endswith(".npy"):
        raise OutputError(f"-o {out}: latents are written as .npy (their frame numbers go beside, in .json)")
    sidecar = os.path.splitext(out)[0] + ".json"
    _settings(args)
    seq = open_shot(args.shot, args.render or args.frames, args.colorspace)
    check_outputs([out, sidecar], [seq] + ([_plates(args)] if args.render else []))
    seq.check_sizes()
    entry = _entry(args, train=not args.no_train)
    model = entry.load_model(backend=args.backend, precision=args.render_precision)
    latents = model.encode_batches(frame_to_working(seq.read(n).rgb) for n in seq.frames)
    write_atomic(out, lambda tmp: np.save(tmp, latents.astype(np.float32), allow_pickle=False))
    with_frames = {"model": entry.key, "frames": seq.frames, "shape": list(latents.shape)}
    write_atomic(sidecar, lambda tmp: Path(tmp).write_text(json.dumps(with_frames)))
    print(f"wrote latents {tuple(latents.shape)} to {out} (frame numbers in {sidecar})")
    return 0


def cmd_export(args) -> int:
    import shutil

    from .core.export import export_onnx
    from .core.shot_model import ONNX_GRAPHS

    entry = _entry(args, train=False)
    graphs = [os.path.join(entry.path, f"{g}.onnx") for g in ONNX_GRAPHS]
    if not args.output:  # the entry's own graphs (the cache exports them; a published entry is never rewritten)
        entry.verify()
        print("\n".join(graphs))
        return 0
    from .core.output_files import check_writable_folder

    check_writable_folder(args.output)
    model = entry.load_model(backend="torch")
    os.makedirs(args.output, exist_ok=True)
    written = export_onnx(model, args.output)
    shutil.copyfile(entry.weights_path, os.path.join(args.output, os.path.basename(entry.weights_path)))
    print("\n".join(written))
    return 0


def cmd_info(args) -> int:
    from .core.cache import ModelCache
    from .core.sequence import open_shot

    seq = open_shot(args.shot, args.frames, args.colorspace)
    w, h = seq.size
    info = {"shot": seq.label, "frames": f"{seq.frames[0]}-{seq.frames[-1]}", "count": len(seq), "size": [w, h]}
    entry = ModelCache(args.cache).find(seq, _settings(args).key_dict())
    info["model"] = entry.key if entry else None
    if entry:
        info["metrics"] = entry.manifest.get("metrics")
    print(json.dumps(info, indent=2))
    return 0


def cmd_demo(args) -> int:
    from .core.demo import run_demo
    from .core.settings import parse_duration

    result = run_demo(args.out, budget_s=parse_duration(args.budget), progress=_progress("demo"))
    print(f"demo shot:        {result['plates']}")
    print(f"reconstructions:  {result['reconstructions']}")
    print(f"contact sheet:    {result['contact_sheet']}  (top: plates, bottom: reconstructions)")
    print(f"reconstruction PSNR {result['psnr_db']:.2f} dB on trained frames, "
          f"{result['heldout_psnr_db']:.2f} dB on the true in-between frames the model never saw")
    return 0


def cmd_cache(args) -> int:
    from .core.cache import ModelCache
    from .core.settings import parse_duration

    cache = ModelCache(args.cache)
    if args.action == "list":
        for e in cache.entries(include_damaged=True):
            if e.damage:
                print(f"{e.key}  DAMAGED: {e.damage} (vsae cache rm {e.key})")
                continue
            m = e.manifest
            print(f"{e.key}  {m['source']['label']}  {m['source']['frames'][0]}-{m['source']['frames'][1]}  "
                  f"{m['training_size'][0]}x{m['training_size'][1]}  psnr {m['metrics'].get('train_psnr_db')}  "
                  f"{m.get('created', '')}")
    elif args.action == "show":
        print(json.dumps(cache.resolve(_need_key(args)).manifest, indent=2))
    elif args.action == "rm":
        key = cache.resolve_key(_need_key(args))
        cache.remove(key)
        print(f"removed {key}")
    elif args.action == "gc":
        removed = cache.gc(parse_duration(args.older_than) if args.older_than else None)
        print(f"removed {len(removed)} item(s)")
    elif args.action == "verify":
        report = cache.verify()
        for key, problem in report:
            print(f"{key}  {'ok' if problem is None else 'DAMAGED: ' + problem}")
        bad = [key for key, problem in report if problem]
        print(f"{len(report)} entries, {len(bad)} damaged" + (" (remove with `vsae cache rm KEY`)" if bad else ""))
        return 3 if bad else 0
    return 0


def cmd_explore(args) -> int:
    from .core.explore import ShotExplorer, endless_loop, loop_points

    from .core.sequence import Frame, check_image_extension, output_paths, write_image

    headless = args.report or args.summary or args.loop
    loop_paths = {}
    if args.summary or args.loop:  # outputs checked before the model is trained
        from .core.output_files import check_outputs

        inputs = [_plates(args)]
        if args.summary:
            check_image_extension(args.summary)
            check_outputs([args.summary], inputs)
        if args.loop:
            loop_paths = output_paths(args.loop, range(1, args.loop_length + 1), inputs)
    explorer = ShotExplorer(_entry(args, train=not args.no_train), backend=args.backend)
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
    from .core.cache import ModelCache
    from .plugin.qt.explore_panel import ExplorePanel

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    panel = ExplorePanel(explorer, cache=ModelCache(args.cache))
    panel.resize(1100, 700)
    panel.show()
    return app.exec()


def cmd_serve(args) -> int:
    from .core.settings import parse_duration
    from .ofx_bridge.server import serve

    return serve(args.socket, idle_s=parse_duration(args.idle))


def cmd_install(args) -> int:
    from .ofx_bridge.bundle import install

    path = install(args.dest, uninstall=args.uninstall)
    print(f"removed {path}" if args.uninstall else f"installed {path}")
    return 0


def _need_key(args) -> str:
    if not args.key:
        raise ParameterError(f"vsae cache {args.action}: name a cache key (see `vsae cache list`)")
    return args.key


def _add_node(sub, node) -> None:
    """A subcommand for a node: its parameters become options, typed and checked by the node's own Params."""
    p = sub.add_parser(node.name, help=node.help, description=node.help)
    _add_shot(p)
    p.add_argument("-o", "--output", required=True, help="output pattern (out.####.exr)")
    for clip in node.inputs[1:]:
        p.add_argument(f"--{clip.name.replace('_', '-')}", dest=f"input_{clip.name}",
                       help=f"{clip.help}: an image sequence or a still (same frame numbers as the shot)")
    p.add_argument("--plates", help="the shot whose model renders, as trained (default: the input shot itself)")
    p.add_argument("--plate-frames", help="frames of --plates the model was trained on (default: all)")
    p.add_argument("--render", help="output frames to render (default: the node's whole output range)")
    p.add_argument("--no-train", action="store_true", help="fail if the shot's model is not cached instead of training")
    p.add_argument("--backend", default="auto", choices=("auto", "onnx", "torch"))
    _add_precision(p)
    p.add_argument("--depth", choices=("uint8", "uint16", "half", "float"), help="output depth (default: input's)")
    g = p.add_argument_group(f"{node.name} parameters")
    for param in node.params:
        extra = f" (default {param.default})" if param.default not in (None, "") else ""
        if param.choices:
            extra += f" [{'|'.join(param.choices)}]"
        g.add_argument(f"--{param.name.replace('_', '-')}", dest=f"param_{param.name}", default=param.default,
                       metavar=param.kind.upper(),
                       help=param.help + extra)
    _add_training(p)
    p.set_defaults(func=cmd_node, node=node)


def cmd_node(args) -> int:
    from .core.sequence import open_shot, parse_frames
    from .plugin.render_files import render_to_files

    node = args.node
    params = node.resolve({p.name: getattr(args, f"param_{p.name}") for p in node.params})
    _settings(args)  # training parameters checked before anything is read or written
    seq = open_shot(args.shot, args.frames, args.colorspace)
    extra = {}
    for clip in node.inputs[1:]:
        spec = getattr(args, f"input_{clip.name}")
        if spec:  # mattes are data, not colour: read them as they are stored
            extra[clip.name] = open_shot(spec, None, "linear" if clip.is_matte else args.colorspace)
        elif not clip.optional:
            raise ParameterError(f"{node.name}: input --{clip.name.replace('_', '-')} is required")
    frames = parse_frames(args.render)
    plates = argparse.Namespace(**{**vars(args), "shot": args.plates or args.shot,
                                   "frames": args.plate_frames if args.plates else args.frames})

    def shot_model():  # called once, and only by renders that need the model
        return _entry(plates, train=not args.no_train).load_model(backend=args.backend, precision=args.render_precision)

    progress = _progress(node.name)
    written = render_to_files(node, params, seq, args.output, shot_model, frames=frames, depth=args.depth,
                              progress=progress, extra=extra, model_inputs=[_plates(plates)] if args.plates else [])
    progress.close()
    print(f"wrote {len(written)} frames {written[0]}-{written[-1]} to {args.output}")
    return 0


def cmd_prior(args) -> int:
    """Train a prior on shots (a sequence prior) and/or procedural footage, into one model file."""
    from .core.cache import ModelCache
    from .core.model_ref import initial_weights
    from .core.output_files import check_outputs
    from .core.prior import procedural_frames, save_prior, train_prior
    from .core.sequence import open_shot
    from .core.training_frames import load_training_frames

    if not args.shots and not args.procedural:
        raise ParameterError("prior train: name at least one shot, or --procedural N")
    if not args.output.endswith(".safetensors"):
        raise ParameterError(f"-o {args.output}: a prior is a .safetensors file")
    if args.procedural < 0 or args.procedural_frames < 1:
        raise ParameterError("--procedural and --procedural-frames: counts of at least 0 and 1")
    try:
        width, height = (int(v) for v in args.procedural_size.lower().split("x"))
    except ValueError:
        raise ParameterError(f"--procedural-size {args.procedural_size!r}: expected WIDTHxHEIGHT") from None
    if width < 64 or height < 64:
        raise ParameterError(f"--procedural-size {args.procedural_size}: at least 64x64")
    from dataclasses import replace

    settings = replace(_settings(args), motion_weight=0.0)  # a prior learns images, not one shot's moving parts
    seqs = [open_shot(shot, None, args.colorspace) for shot in args.shots]
    check_outputs([args.output], seqs)
    init_state = initial_weights(ModelCache(args.cache), args.init_from, settings)
    clips, sources = [], []
    for seq in seqs:
        clips.append(load_training_frames(seq, settings.train_scale))
        sources.append({"source": seq.label, "frames": len(seq), "licence": args.licence})
    if args.procedural:
        progress = _progress("footage")
        frames, made = procedural_frames(args.procedural, args.procedural_frames, width, height,
                                         args.procedural_seed, progress)
        progress.close()
        clips.append(frames)
        sources += made
    progress = _progress("train", total=settings.steps)
    try:
        result = train_prior(clips, settings, progress=progress, init_state=init_state)
    finally:
        progress.close()
    save_prior(args.output, settings, result, sources, "vsae " + " ".join(args.argv))
    print(f"prior {args.output}  {sum(len(c) for c in clips)} frames from {len(sources)} shots  "
          f"steps {result.steps}  psnr {result.metrics.get('train_psnr_db')} dB")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vsae", description="Video-specific autoencoders for compositing.")
    parser.add_argument("--version", action="version", version=f"vsae {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train (or find) the model of a shot")
    _add_shot(p)
    _add_training(p)
    g = p.add_argument_group("data-parallel training (torch.distributed; gloo on CPUs, NCCL on GPUs)")
    g.add_argument("--nproc", type=int, default=1, help="training processes on this machine (default 1); the "
                                                        "global --batch is split between them")
    g.add_argument("--nnodes", default="1", help="machines taking part (default 1); run the same command on each")
    g.add_argument("--node-rank", type=int, help="this machine's number, 0 .. nnodes-1 (default: assigned)")
    g.add_argument("--rdzv-endpoint", help="HOST:PORT where the machines meet (the first machine's address)")
    g.add_argument("--rdzv-id", default="vsae", help="a name for this training, the same on every machine")
    p.set_defaults(func=cmd_train)

    for name, fn, helptext in (("reconstruct", cmd_reconstruct, "pass frames through the shot's model"),
                               ("encode", cmd_encode, "write latent codes of frames to .npy")):
        p = sub.add_parser(name, help=helptext)
        _add_shot(p)
        _add_training(p)
        p.add_argument("-o", "--output", required=True,
                       help="output pattern (out.####.exr)" if name == "reconstruct" else "output .npy file")
        p.add_argument("--render", help="frames to process (default: --frames); may include frames never trained on")
        p.add_argument("--no-train", action="store_true", help="fail if the model is not cached instead of training")
        p.add_argument("--backend", default="auto", choices=("auto", "onnx", "torch"))
        _add_precision(p)
        if name == "reconstruct":
            p.add_argument("--iterations", type=int, default=1, help="reprojection iterations (default 1)")
            p.add_argument("--depth", choices=("uint8", "uint16", "half", "float"),
                           help="output depth (default: input's)")
            p.add_argument("--keep-channels", action="store_true",
                           help="copy channels other than RGBA (depth, AOVs) through unchanged (default: dropped)")
        p.set_defaults(func=fn)

    p = sub.add_parser("export", help="(re)export a cached model's ONNX graphs, optionally copying them out")
    _add_shot(p)
    _add_training(p)
    p.add_argument("-o", "--output", help="folder to copy the graphs and weights into")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("info", help="frames, size and cached model of a shot")
    _add_shot(p)
    _add_training(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("demo", help="generate a procedural shot, train on it, write reconstructions + contact sheet")
    p.add_argument("--out", default="vsae-demo", help="output folder (default ./vsae-demo)")
    p.add_argument("--budget", default="60s", help="training budget (default 60s)")
    p.set_defaults(func=cmd_demo)

    from .plugin.nodes import all_nodes

    for node in all_nodes():
        _add_node(sub, node)

    p = sub.add_parser("explore", help="the shot's latent map: open the panel, or report clusters, cuts, loops")
    _add_shot(p)
    _add_training(p)
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

    p = sub.add_parser("serve", help="the render server the OFX plug-ins talk to (started by them on first use)")
    p.add_argument("--socket", help="Unix socket path (default: $VSAE_SOCKET, else a folder only you can enter)")
    p.add_argument("--idle", default="30m", help="exit after this long without requests (default 30m)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("install", help="build and install the OFX plug-in bundle (all nodes) for hosts to find")
    p.add_argument("target", choices=("ofx",))
    p.add_argument("--dest", help="plug-in folder (default: first of $OFX_PLUGIN_PATH, else /usr/OFX/Plugins)")
    p.add_argument("--uninstall", action="store_true", help="remove the bundle instead")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("prior", help="train a prior that shots start from: a sequence's shots and/or procedural "
                                     "footage")
    p.add_argument("action", choices=("train",))
    p.add_argument("shots", nargs="*", help="shots of the sequence (shot.####.exr, folder, movie)")
    p.add_argument("-o", "--output", required=True, help="the prior's file (.safetensors)")
    p.add_argument("--colorspace", default="auto", help="how the shots are encoded (as for every command)")
    p.add_argument("--cache", help="model cache, for --init-from a cache key")
    p.add_argument("--licence", default="unspecified", help="the shots' licence, recorded in the prior's manifest")
    p.add_argument("--procedural", type=int, default=0, help="also N procedural shots made by vsae (default 0)")
    p.add_argument("--procedural-frames", type=int, default=24, help="frames per procedural shot (default 24)")
    p.add_argument("--procedural-size", default="512x256", help="procedural frame size (default 512x256)")
    p.add_argument("--procedural-seed", type=int, default=0, help="procedural footage seed (default 0)")
    _add_training(p)
    p.set_defaults(func=cmd_prior)

    p = sub.add_parser("cache", help="list, show, remove, clean or verify cached models")
    p.add_argument("action", choices=("list", "show", "rm", "gc", "verify"))
    p.add_argument("key", nargs="?", help="cache key (or a unique prefix of 6+ characters)")
    p.add_argument("--cache", help="model cache folder")
    p.add_argument("--older-than", help="gc: also remove models created longer ago than this (e.g. 30d)")
    p.set_defaults(func=cmd_cache)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # the command line, for what records how it was made (a prior's manifest)
    try:
        return args.func(args)
    except VsaeError as exc:
        print(f"vsae: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vsae: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
