"""`vsae farm BACKEND NODE SHOT [node options] -o OUT --chunk N --job-dir DIR`: a node render as farm work, a
training task and chunked render tasks that depend on it, written in the farm's own format."""

from __future__ import annotations

import argparse
import os
import sys

from vsae.errors import ParameterError

BACKENDS = ("openjd", "deadline", "opencue")
# How each farm reads a task's progress from its log.
PROGRESS_FORMS = {"openjd": "openjd", "deadline": "plain", "opencue": "plain"}


def _add_farm_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--job-dir", help="folder the job's files are written to (default: ./vsae-job-NODE)")
    p.add_argument("--chunk", type=int, default=10, help="output frames a render task makes (default 10)")
    p.add_argument("--name", help="the job's name (default: vsae NODE SHOT)")
    p.add_argument("--worker-command", help="how a farm machine runs vsae, as one shell-quoted line (default: this "
                                            "Python, -m vsae.cli: right where the farm shares this install)")
    p.add_argument("--train-processes", type=int, default=1,
                   help="data-parallel training processes of the training task (its machine's cores or GPUs; the "
                        "model and its cache key are those of one process)")
    p.add_argument("--train-machines", type=int, default=1,
                   help="machines the training task runs on at once, data-parallel (default 1): that many training "
                        "tasks meet through a file in the cache and train one model; they need that many free "
                        "machines at once")
    p.add_argument("--priority", type=int, help="the job's priority (Deadline: 0-100; OpenCue)")
    p.add_argument("--show", default=os.environ.get("SHOW", "testing"),
                   help="OpenCue show (default: $SHOW, else testing)")
    p.add_argument("--shot", help="OpenCue shot (default: the shot file's name)")
    p.add_argument("--pool", help="the machines' pool (Deadline)")
    p.add_argument("--group", help="the machines' group (Deadline)")
    p.add_argument("--deadline-plugin", default="CommandLine",
                   help="CommandLine (default: every Deadline has it) or VSAE (vsae's plugin: task progress from "
                        "vsae's lines; copy plugin/farm/deadline_plugin/VSAE into the repository's custom/plugins)")
    p.add_argument("--submit", action="store_true", help="hand the job to the farm when its client is here "
                                                         "(deadline, deadlinecommand, pycue); else print how to")


def add_parsers(sub) -> None:
    p = sub.add_parser("farm", help="write a node render as a farm job: a training task, then render chunks",
                       description="Write a node render as a farm job: one task trains the shot's model (by "
                                   "--steps) into a cache every task reaches, then chunks of the output frames "
                                   "render with --no-train. Example: vsae farm openjd retime plates.####.exr "
                                   "--speed 0.5 --steps 4000 -o out.####.exr --chunk 10 --cache /shared/vsae")
    p.add_argument("backend", choices=BACKENDS, help="openjd: Open Job Description (AWS Deadline Cloud, openjd run); "
                                                     "deadline: Deadline 10 job files; opencue: an OpenCue outline")
    _add_farm_options(p)
    p.add_argument("command", nargs=argparse.REMAINDER, help="the node command: NODE SHOT [node options] -o OUT")
    p.set_defaults(func=cmd_farm)


def _path(value: str | None) -> str | None:
    return None if value is None else os.path.abspath(value)


def _training_words(args) -> list[str]:
    """The training options as typed (they make the model's cache key), and where training starts from."""
    from vsae.core.settings import TRAINING_OPTIONS

    words = []
    for option in TRAINING_OPTIONS:
        text = getattr(args, option.field)
        if text is not None:
            words += [option.flag, text]
    if args.init_from:
        words += ["--init-from", _path(args.init_from) if os.path.exists(args.init_from) else args.init_from]
    return words


def _node_words(args, node, params: dict, cache: str) -> list[str]:
    """The node command as a farm machine needs it: every path absolute (tasks start in a folder of their own),
    the cache named, every parameter spelled out."""
    words = [node.name, _path(args.shot), "--cache", cache, "--colorspace", args.colorspace]
    if args.frames:
        words += ["--frames", args.frames]
    for clip in node.inputs[1:]:
        spec = getattr(args, f"input_{clip.name}")
        if spec:
            words += [f"--{clip.name.replace('_', '-')}", _path(spec)]
    if args.plates:
        words += ["--plates", _path(args.plates)] + (["--plate-frames", args.plate_frames] if args.plate_frames else [])
    words += ["--backend", args.backend, "--render-precision", args.render_precision, "--device", args.device]
    if args.depth:
        words += ["--depth", args.depth]
    words += ["--compression", args.compression]  # as resolved here: the show's choice, whatever a farm machine has
    for param in node.params:
        value = params[param.name]
        if value is None or value == "":  # automatic, or an empty text: the node's own default again
            continue
        text = ("true" if value else "false") if param.kind == "bool" else str(value)
        if param.kind == "string" and text and os.path.isfile(text):  # boxes or a curve kept in a file
            text = os.path.abspath(text)
        words += [f"--{param.name.replace('_', '-')}", text]
    words += _training_words(args)
    if args.model:
        words += ["--model", args.model]
    return words


def _data_parallel_words(farm, settings, frames: int, cache: str, rank: str) -> list[str]:
    """The training task's data-parallel options: processes on its machine, and machines meeting through a file
    in the cache (every task reaches it) named for this job alone."""
    import uuid

    processes, machines = farm.train_processes, farm.train_machines
    if processes < 1 or machines < 1:
        raise ParameterError(f"--train-processes {processes} --train-machines {machines}: expected 1 or more")
    world = processes * machines
    if world == 1:
        return []
    if settings.batch % world:
        raise ParameterError(f"--batch {settings.batch}: must be a multiple of the {world} training processes "
                             f"(--train-processes {processes} x --train-machines {machines})")
    if frames < world:
        raise ParameterError(f"{frames} training frames for {world} training processes: fewer processes")
    words = ["--nproc", str(processes)] if processes > 1 else []
    if machines > 1:
        meeting = f"train-{uuid.uuid4().hex[:12]}"
        words += ["--nnodes", str(machines), "--node-rank", rank, "--rdzv-id", meeting,
                  "--rdzv-file", os.path.join(cache, "rendezvous", f"{meeting}.json")]
    return words


def build_job(farm, node_args):
    """The FarmJob of a parsed node command (``node_args``) and the farm options (``farm``). Everything is
    checked as the node command itself would check it before a file is written."""
    import shlex

    from vsae.core.cache import ModelCache
    from vsae.core.io.sequence import open_shot, parse_frames
    from vsae.cli.arguments import train_settings
    from vsae.plugin.farm import FRAMES, RANK, FarmJob, chunk_frames
    from vsae.plugin.render_files import frame_plan, frame_range_text

    node = node_args.node
    params = node.resolve({p.name: getattr(node_args, f"param_{p.name}") for p in node.params})
    settings = train_settings(node_args)
    if not node_args.output:
        raise ParameterError(f"farm {node.name}: -o/--output is required (an output pattern such as out.####.exr)")
    seq = open_shot(node_args.shot, node_args.frames, node_args.colorspace)
    plan = frame_plan(node, params, seq.frames, parse_frames(node_args.render))
    worker = shlex.split(farm.worker_command) if farm.worker_command else [sys.executable, "-m", "vsae.cli"]
    cache = ModelCache(node_args.cache).root
    progress = ["--progress", PROGRESS_FORMS[farm.backend]]
    train = None
    if plan["model"] and not node_args.model:
        if not settings.steps:
            raise ParameterError(f"farm {node.name}: give --steps: a farm job trains by steps, never by the clock, "
                                 "so that every task finds the same model")
        plates, plate_frames = ((node_args.plates, node_args.plate_frames) if node_args.plates
                                else (node_args.shot, node_args.frames))
        train = [*worker, "train", _path(plates), "--cache", cache, "--colorspace", node_args.colorspace, *progress,
                 *(["--frames", plate_frames] if plate_frames else []), *_training_words(node_args),
                 *_data_parallel_words(farm, settings, len(open_shot(plates, plate_frames, node_args.colorspace)),
                                       cache, RANK)]
    frames = parse_frames(plan["render"]) or []
    # A stateful node (Mask Propagate) carries what it learnt from frame to frame: one task renders it whole.
    chunk = len(frames) if node.stateful else farm.chunk
    chunks = [frame_range_text(c) for c in chunk_frames(frames, chunk)]
    render = [*worker, *_node_words(node_args, node, params, cache), *progress, "-o", _path(node_args.output),
              "--render", FRAMES, "--no-train"]
    name = farm.name or f"vsae {node.name} {os.path.basename(os.path.normpath(node_args.shot))}"
    return FarmJob(name=name, train=train, render=render, frames=plan["render"], chunk=chunk, chunks=chunks,
                   train_machines=farm.train_machines if train else 1)


def cmd_farm(args) -> int:
    from vsae.cli import build_parser

    farm = argparse.ArgumentParser(prog="vsae farm", add_help=False, argument_default=argparse.SUPPRESS)
    _add_farm_options(farm)
    given, command = farm.parse_known_args(args.command)  # farm options may follow the node command too
    vars(args).update(vars(given))
    if not command:
        raise ParameterError("farm: give the node command: NODE SHOT [node options] -o OUT")
    node_args = build_parser().parse_args(command)
    if getattr(node_args.func, "__name__", "") != "cmd_node":
        raise ParameterError(f"farm: {command[0]!r} is not a node (retime, upres, clean_plate, ...)")
    job = build_job(args, node_args)
    folder = os.path.abspath(args.job_dir or f"vsae-job-{node_args.node.name}")
    if args.backend == "openjd":
        from vsae.plugin.farm import openjd

        paths = openjd.write_job(job, folder)
        print(f"run here:   openjd run {paths[0]} --step Render --run-dependencies")
        submit = openjd.submit_command(folder)
    elif args.backend == "opencue":
        from vsae.plugin.farm import opencue

        shot = args.shot or opencue.job_name(os.path.basename(node_args.shot))
        submit = opencue.submit_command(opencue.write_job(job, folder, args.show, shot, args.priority))
    else:
        from vsae.plugin.farm import deadline

        submit = deadline.submit_command(deadline.write_job(job, folder, args.deadline_plugin, args.priority,
                                                            args.pool, args.group))
    print(f"wrote {len(job.chunks)} render tasks" + (" after a training task" if job.train else "") +
          f" to {folder}")
    return _submit(submit, args.submit)


def _submit(command: list[str], submit: bool) -> int:
    """Run the farm client's submit command when asked and present; else print it."""
    import shlex
    import shutil
    import subprocess

    line = shlex.join(command)
    if not submit:
        print(f"submit:     {line}")
        return 0
    if shutil.which(command[0]) is None:
        print(f"{command[0]} is not installed here: submit the job with\n    {line}")
        return 0
    return subprocess.run(command).returncode
