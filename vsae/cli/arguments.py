"""What many commands share: the shot, precision and training options, and what they resolve to (training
settings, the shot model's cache entry, progress)."""

from __future__ import annotations

import argparse
import os


def add_progress(p: argparse.ArgumentParser) -> None:
    from vsae.core.progress import MODES

    p.add_argument("--progress", choices=MODES, default=os.environ.get("VSAE_PROGRESS", "auto"),
                   help="how progress is shown: bar (a terminal), json (vsae-progress lines), plain (Progress: 42%%, "
                        "for a farm's log parser), openjd (openjd_progress: 42.0), auto (default, or "
                        "$VSAE_PROGRESS: bar on a terminal, else json)")


def add_shot(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("shot", nargs=None if required else "?",
                   help="sequence (shot.####.exr, shot.%%04d.exr), folder, or movie file")
    add_shot_options(p)


def add_shot_options(p: argparse.ArgumentParser) -> None:
    """The options that go with a shot (its frames, the cache, how its files are encoded) and progress."""
    add_progress(p)  # every command that reads a shot may train or render for long
    p.add_argument("--frames", help="frames of the shot (the model trains on them): 1001-1100, 1001-1100x2 "
                                    "(default: all)")
    p.add_argument("--cache", help="model cache folder (default: $VSAE_CACHE or the user cache folder)")
    p.add_argument("--colorspace", default="auto",
                   help="how the files are encoded: auto (float linear, integer sRGB), linear, srgb, rec709 "
                        "(BT.1886 gamma 2.4), or an OCIO colour space (needs $OCIO); outputs are written the same "
                        "way")


def add_inference(p: argparse.ArgumentParser) -> None:
    """How a command runs the shot model: backend, precision and device."""
    p.add_argument("--backend", default="auto", choices=("auto", "onnx", "torch"),
                   help="auto (default): ONNX Runtime where it is the faster, else torch")
    p.add_argument("--device", default=os.environ.get("VSAE_DEVICE", "auto"),
                   help="auto (default, or $VSAE_DEVICE: a GPU when one is usable, else the CPU), cpu, cuda or "
                        "cuda:N (that GPU, for torch and ONNX Runtime alike); `vsae info --backends` lists them")
    p.add_argument("--render-precision", default=os.environ.get("VSAE_RENDER_PRECISION", "fp32"),
                   choices=("fp32", "bf16"),
                   help="torch inference precision: fp32 (default, or $VSAE_RENDER_PRECISION: the same pixels on "
                        "every machine) or bf16 (about 2x faster on CPUs with bf16 units; pixels depend on the CPU)")


def add_output(p: argparse.ArgumentParser) -> None:
    """How a command writes its frames: depth and EXR compression."""
    from vsae.core.io.sequence import DEFAULT_EXR_COMPRESSION, EXR_COMPRESSIONS

    p.add_argument("--depth", choices=("uint8", "uint16", "half", "float"), help="output depth (default: input's)")
    p.add_argument("--compression", default=os.environ.get("VSAE_EXR_COMPRESSION", DEFAULT_EXR_COMPRESSION),
                   help="EXR outputs' compression: zip (default, or $VSAE_EXR_COMPRESSION, a show's choice), "
                        "zip:1 to zip:9 (level), zips, piz, rle, none (lossless); pxr24 (lossless for half, lossy "
                        f"for float); b44, b44a, dwaa, dwab, dwaa:45 (lossy) [{'|'.join(EXR_COMPRESSIONS)}]")


def check_output(args) -> None:
    """The output options checked before anything trains, is read or written."""
    from vsae.core.io.sequence import check_compression

    check_compression(args.compression)


def add_training(p: argparse.ArgumentParser) -> None:
    from vsae.core.settings import TRAINING_OPTIONS

    g = p.add_argument_group("training (these settings are part of the model's cache key)")
    for option in TRAINING_OPTIONS:  # read, checked and turned into TrainSettings by train_settings, as hosts do
        g.add_argument(option.flag, dest=option.field, default=None, choices=option.choices, help=option.help,
                       metavar=None if option.choices else option.flag[2:].upper().replace("-", "_"))
    g.add_argument("--init-from", help="start from these weights: a shipped prior (procedural), a prior or model file "
                                       "(.safetensors), a cache key of another shot, or none")
    g.add_argument("--model", help="use this cache key instead of looking the shot up by its settings")


def train_settings(args):
    from vsae.core.settings import TRAINING_OPTIONS, read_training_options

    return read_training_options({o.field: getattr(args, o.field) for o in TRAINING_OPTIONS},
                                 nproc=getattr(args, "nproc", 1))


def progress_bar(args, task: str, total=None, end: float = 1.0):
    """The Progress of the command's next phase ``task``, up to ``end`` of the whole command (its training ends
    at 0.5 when frames are rendered after it). One stream per command: what it shows never goes back."""
    return task_progress(args).phase(task, total=total, end=end)


def task_progress(args):
    """The command's one TaskProgress (made on first use, in the --progress mode)."""
    from vsae.core.progress import TaskProgress

    if getattr(args, "task_progress", None) is None:
        args.task_progress = TaskProgress(getattr(args, "progress", None) or "auto")
    return args.task_progress


def model_ref_of(args):
    """The command's ModelRef: --model, else the shot, its frames and the training options."""
    from vsae.core.model_ref import ModelRef

    if getattr(args, "model", None):
        return ModelRef(key=args.model)
    return ModelRef(shot=args.shot, frames=args.frames, colorspace=args.colorspace, settings=train_settings(args),
                    init_from=args.init_from)


def model_entry(args, train: bool, end: float = 1.0):
    """The cache entry for the command's shot: by --model, else by shot + settings (training it if allowed, as the
    command's progress up to ``end``)."""
    from vsae.core.cache import ModelCache
    from vsae.core.model_ref import resolve_entry

    ref = model_ref_of(args)  # parameters are checked before any file is touched
    progress = progress_bar(args, "train", total=ref.settings.steps, end=end)
    try:
        return resolve_entry(ref, ModelCache(args.cache), train=train, progress=progress)
    finally:
        progress.close()


def plates_of(args):
    """The shot the model is trained on (an input no output may touch); None when --model names the model. Callers
    that already opened the same shot and frames pass that one instead."""
    from vsae.core.io.sequence import open_shot

    return None if getattr(args, "model", None) else open_shot(args.shot, args.frames, args.colorspace)


def report_trained(entry) -> None:
    m = entry.manifest
    print(f"model {entry.key}  {m['source']['label']}  frames {m['source']['frames'][0]}-{m['source']['frames'][1]}"
          f"  psnr {m['metrics'].get('train_psnr_db')} dB  steps {m['metrics'].get('steps')}")
    print(entry.path)
