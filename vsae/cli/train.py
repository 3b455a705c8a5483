"""`vsae train` (one process, or data-parallel) and `vsae prior train`."""

from __future__ import annotations

from vsae.errors import ParameterError
from vsae.cli.arguments import add_shot, add_training, model_entry, progress_bar, report_trained, train_settings


def add_parsers(sub) -> None:
    p = sub.add_parser("train", help="train (or find) the model of a shot")
    add_shot(p)
    add_training(p)
    g = p.add_argument_group("data-parallel training (torch.distributed; gloo on CPUs, NCCL on GPUs)")
    g.add_argument("--nproc", type=int, default=1, help="training processes on this machine (default 1); the "
                                                        "global --batch is split between them")
    g.add_argument("--nnodes", default="1", help="machines taking part (default 1); run the same command on each")
    g.add_argument("--node-rank", type=int, help="this machine's number, 0 .. nnodes-1 (default: assigned)")
    g.add_argument("--rdzv-endpoint", help="HOST:PORT where the machines meet (the first machine's address)")
    g.add_argument("--rdzv-id", default="vsae", help="a name for this training, the same on every machine")
    g.add_argument("--rdzv-file", help="instead of --rdzv-endpoint: a file every machine reaches (shared storage); "
                                       "machine 0 (--node-rank 0) writes its address there, the others wait for it "
                                       "(how vsae farm --train-machines meets)")
    g.add_argument("--rdzv-timeout", type=float, default=None,
                   help="seconds a machine waits for the others (default 1800)")
    p.set_defaults(func=cmd_train)

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
    add_training(p)
    p.set_defaults(func=cmd_prior)


def cmd_train(args) -> int:
    from vsae.core.training import data_parallel

    if data_parallel.launched():
        return _train_in_world(args)
    if args.nproc > 1 or args.nnodes != "1":
        from vsae.core.io.sequence import open_shot

        train_settings(args)  # checked here, before any process starts
        open_shot(args.shot, args.frames, args.colorspace)
        if args.rdzv_file and args.rdzv_endpoint:
            raise ParameterError("--rdzv-file and --rdzv-endpoint: give one of them")
        timeout = data_parallel.RENDEZVOUS_TIMEOUT_S if args.rdzv_timeout is None else args.rdzv_timeout
        if timeout <= 0:
            raise ParameterError(f"--rdzv-timeout {args.rdzv_timeout}: expected seconds above 0")
        return data_parallel.launch(args.argv, args.nproc, args.nnodes, args.node_rank, args.rdzv_endpoint,
                                    args.rdzv_id, args.rdzv_file, timeout)
    report_trained(model_entry(args, train=True))
    return 0


def _train_in_world(args) -> int:
    """One process of a data-parallel training (started by ``data_parallel.launch`` or torchrun)."""
    from vsae.core.training import data_parallel

    rank, _ = data_parallel.init_from_env()
    try:
        if rank == 0:
            try:
                entry = model_entry(args, train=True)  # trains with the others only if the cache has no model
            finally:
                data_parallel.announce(False)  # nothing to train (cached, or an error): the others stop
            report_trained(entry)
        elif data_parallel.await_announcement():
            from vsae.core.cache import ModelCache
            from vsae.core.model_ref import initial_weights
            from vsae.core.io.sequence import open_shot
            from vsae.core.training.trainer import train
            from vsae.core.training.frames import load_training_frames

            settings = train_settings(args)
            init_state = initial_weights(ModelCache(args.cache), args.init_from, settings)
            seq = open_shot(args.shot, args.frames, args.colorspace)
            train(load_training_frames(seq, settings.train_scale), settings, init_state=init_state)
        return 0
    finally:
        data_parallel.shutdown()


def cmd_prior(args) -> int:
    """Train a prior on shots (a sequence prior) and/or procedural footage, into one model file."""
    from vsae.core.cache import ModelCache
    from vsae.core.model_ref import initial_weights
    from vsae.core.io.output_files import check_outputs
    from vsae.core.training.prior import procedural_frames, save_prior, train_prior
    from vsae.core.io.sequence import open_shot
    from vsae.core.training.frames import load_training_frames

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

    settings = replace(train_settings(args), motion_weight=0.0)  # a prior learns images, not one shot's moving parts
    seqs = [open_shot(shot, None, args.colorspace) for shot in args.shots]
    check_outputs([args.output], seqs)
    init_state = initial_weights(ModelCache(args.cache), args.init_from, settings)
    clips, sources = [], []
    for seq in seqs:
        clips.append(load_training_frames(seq, settings.train_scale))
        sources.append({"source": seq.label, "frames": len(seq), "licence": args.licence})
    if args.procedural:
        progress = progress_bar(args, "footage", end=0.1)
        frames, made = procedural_frames(args.procedural, args.procedural_frames, width, height,
                                         args.procedural_seed, progress)
        progress.close()
        clips.append(frames)
        sources += made
    progress = progress_bar(args, "train", total=settings.steps)
    try:
        result = train_prior(clips, settings, progress=progress, init_state=init_state)
    finally:
        progress.close()
    save_prior(args.output, settings, result, sources, "vsae " + " ".join(args.argv))
    print(f"prior {args.output}  {sum(len(c) for c in clips)} frames from {len(sources)} shots  "
          f"steps {result.steps}  psnr {result.metrics.get('train_psnr_db')} dB")
    return 0
