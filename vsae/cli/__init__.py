"""The ``vsae`` console tool: train, reconstruct, encode, export, info, demo, cache, explore, serve, install, and
one sub-command per node. One module per group of commands, each adding its own parsers.

Every error vsae raises on purpose ends the run with one line on stderr and a non-zero exit code
(2 bad input, parameter or output, 3 cache, 4 backend, 5 a training that diverged). Everything that can be checked
is checked before the first training step or write (outputs never onto an input); outputs are written to temp names
and renamed, so an error leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import sys

from vsae import __version__
from vsae.errors import VsaeError


def build_parser() -> argparse.ArgumentParser:
    from vsae.cli import explore, farm, frames, host, models, nodes, train

    parser = argparse.ArgumentParser(prog="vsae", description="Video-specific autoencoders for compositing.")
    parser.add_argument("--version", action="version", version=f"vsae {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (train, frames, models, host, nodes, explore, farm):
        group.add_parsers(sub)
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
