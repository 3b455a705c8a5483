"""`vsae serve` (the render server of the OFX plug-ins), `vsae install ofx` and `vsae demo`."""

from __future__ import annotations

from vsae.cli.arguments import add_progress, progress_bar


def add_parsers(sub) -> None:
    p = sub.add_parser("serve", help="the render server the OFX plug-ins talk to (started by them on first use)")
    p.add_argument("--socket", help="Unix socket path (default: $VSAE_SOCKET, else a folder only you can enter)")
    p.add_argument("--idle", default="30m", help="exit after this long without requests (default 30m)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("install", help="build and install the OFX plug-in bundle (all nodes) for hosts to find")
    p.add_argument("target", choices=("ofx",))
    p.add_argument("--dest", help="plug-in folder (default: first of $OFX_PLUGIN_PATH, else /usr/OFX/Plugins)")
    p.add_argument("--uninstall", action="store_true", help="remove the bundle instead")
    p.add_argument("--python", help="the Python the plug-ins start the render server with (default: this one); "
                                    "written to the bundle's Contents/Resources/vsae_server.conf")
    p.add_argument("--serve-command", help="instead of --python: a shell command line that starts the server "
                                           "(e.g. 'rez env vsae -- vsae serve')")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("demo", help="generate a procedural shot, train on it, write reconstructions + contact sheet")
    p.add_argument("--out", default="vsae-demo", help="output folder (default ./vsae-demo)")
    p.add_argument("--budget", default="60s", help="training budget (default 60s)")
    add_progress(p)
    p.set_defaults(func=cmd_demo)


def cmd_serve(args) -> int:
    from vsae.core.settings import parse_duration
    from vsae.ofx_bridge.server import serve

    return serve(args.socket, idle_s=parse_duration(args.idle))


def cmd_install(args) -> int:
    from vsae.ofx_bridge.bundle import install

    path = install(args.dest, uninstall=args.uninstall, python=args.python, serve_command=args.serve_command)
    print(f"removed {path}" if args.uninstall else f"installed {path}")
    return 0


def cmd_demo(args) -> int:
    from vsae.core.demo.run import run_demo
    from vsae.core.demo.showcase import figure_table
    from vsae.core.settings import parse_duration

    budget = parse_duration(args.budget)
    result = run_demo(args.out, budget_s=budget, progress=progress_bar(args, "train", total=budget, end=0.8),
                      nodes_progress=progress_bar(args, "nodes", end=1.0))
    print(f"demo shot:        {result['plates']}")
    print(f"reconstructions:  {result['reconstructions']}")
    print(f"contact sheet:    {result['contact_sheet']}  (top: plates, bottom: reconstructions)")
    print(f"reconstruction PSNR {result['psnr_db']:.2f} dB on trained frames, "
          f"{result['heldout_psnr_db']:.2f} dB on the true in-between frames the model never saw")
    print(f"the nodes:        {result['nodes_sheet']}  (rows: source, result, truth)")
    print(figure_table(result["nodes"]))
    return 0
