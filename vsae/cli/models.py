"""`vsae export`, `vsae info` and `vsae cache`: the models in the cache."""

from __future__ import annotations

import json
import os
import sys

from vsae.errors import ParameterError
from vsae.cli.arguments import add_shot, add_training, model_entry, train_settings


def add_parsers(sub) -> None:
    p = sub.add_parser("export", help="(re)export a cached model's ONNX graphs, optionally copying them out")
    add_shot(p)
    add_training(p)
    p.add_argument("-o", "--output", help="folder to copy the graphs and weights into")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("info", help="frames, size, first frame's header (with what made it) and cached model of a "
                                    "shot or frame; --backends: the inference backends and devices here")
    add_shot(p, required=False)
    add_training(p)
    p.add_argument("--backends", action="store_true",
                   help="print torch's and ONNX Runtime's devices and providers, and what a render would use")
    p.add_argument("--device", default=os.environ.get("VSAE_DEVICE", "auto"),
                   help="--backends: the device a render would be asked for (default auto, or $VSAE_DEVICE)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("cache", help="list, show, remove, clean, verify or import cached models")
    p.add_argument("action", choices=("list", "show", "rm", "gc", "verify", "import"))
    p.add_argument("key", nargs="?", help="cache key (or a unique prefix of 6+ characters); for import, a model's "
                                          "entry folder from another cache (CACHE/models/KEY)")
    p.add_argument("--cache", help="model cache folder")
    p.add_argument("--older-than", help="gc: also remove models created longer ago than this (e.g. 30d)")
    p.set_defaults(func=cmd_cache)


def cmd_export(args) -> int:
    import shutil

    from vsae.core.model.export import export_onnx
    from vsae.core.model.shot_model import ONNX_GRAPHS

    entry = model_entry(args, train=False)
    graphs = [os.path.join(entry.path, f"{g}.onnx") for g in ONNX_GRAPHS]
    if not args.output:  # the entry's own graphs (the cache exports them; a published entry is never rewritten)
        entry.verify()
        print("\n".join(graphs))
        return 0
    from vsae.core.io.output_files import check_writable_folder

    check_writable_folder(args.output)
    model = entry.load_model(backend="torch")
    os.makedirs(args.output, exist_ok=True)
    written = export_onnx(model, args.output)
    shutil.copyfile(entry.weights_path, os.path.join(args.output, os.path.basename(entry.weights_path)))
    print("\n".join(written))
    return 0


def cmd_info(args) -> int:
    from vsae.core.cache import ModelCache
    from vsae.core.io.sequence import open_shot

    if args.backends:
        return _print_backends(args.device)
    if not args.shot:
        raise ParameterError("info: name a shot or a frame, or ask for --backends")
    seq = open_shot(args.shot, args.frames, args.colorspace)
    w, h = seq.size
    info = {"shot": seq.label, "frames": f"{seq.frames[0]}-{seq.frames[-1]}", "count": len(seq), "size": [w, h]}
    entry = ModelCache(args.cache).find(seq, train_settings(args).key_dict())
    first = seq.read(seq.frames[0])
    if first.header is not None:  # windows, rate, timecode, colour tag and what made the frame (vsae:*)
        from vsae.core.io.headers import describe

        info["header"] = describe(first.header)
    info["model"] = entry.key if entry else None
    if entry:
        info["metrics"] = entry.manifest.get("metrics")
    print(json.dumps(info, indent=2))
    return 0


def _print_backends(device: str) -> int:
    """Which backends and devices this machine offers, and what ``auto`` picks for a model with exported graphs."""
    from vsae.core.model.inference import backends_report, parse_device
    from vsae.core.model.shot_model import would_run_on

    parse_device(device)
    report = backends_report(device)
    report["render"] = would_run_on(device)
    print(json.dumps(report, indent=2))
    for warning in report["warnings"]:
        print(f"vsae: warning: {warning}", file=sys.stderr)
    return 0


def cmd_cache(args) -> int:
    from vsae.core.cache import ModelCache
    from vsae.core.settings import parse_duration

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
    elif args.action == "import":
        if not args.key:
            raise ParameterError("vsae cache import: name a model's entry folder (another cache's models/KEY)")
        entry = cache.import_entry(args.key)
        print(f"imported {entry.key} ({entry.manifest['source']['label']}): render with --model {entry.key}")
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


def _need_key(args) -> str:
    if not args.key:
        raise ParameterError(f"vsae cache {args.action}: name a cache key (see `vsae cache list`)")
    return args.key
