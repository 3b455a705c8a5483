"""Build and install the OFX bundle: a static description of every node generated from the node definitions, the
shim compiled around it with the system's g++, laid out as ``vsae.ofx.bundle/Contents/Linux-x86-64/vsae.ofx``.

The description is C++ data baked into the binary, so a host's describe actions never wait on Python; the node list
comes from ``vsae.plugin.nodes``, so a node added there appears in hosts at the next ``vsae install ofx``.

How the shim starts the render server is not compiled in (a bundle may move to shared storage or another machine):
it reads ``$VSAE_SERVE_COMMAND``, else ``$VSAE_PYTHON``, else ``Contents/Resources/vsae_server.conf`` (written here),
else runs ``vsae serve`` from ``$PATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from vsae.errors import BuildError

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLE = "vsae.ofx.bundle"
BINARY = os.path.join("Contents", "Linux-x86-64", "vsae.ofx")
SERVER_CONFIG = os.path.join("Contents", "Resources", "vsae_server.conf")
IDENTIFIER = "org.vsae.{name}"
GROUP = "VSAE"
WARNINGS = ["-Wall", "-Wextra"]
# Kinds the shim knows (see vsae_ofx.cpp): OFX double, integer, boolean, choice, string, file-path string.
KIND_CODES = {"float": 0, "int": 1, "bool": 2, "choice": 3, "string": 4, "path": 5}

# Parameters every plugin has besides its node's own: which shot model renders, and whether the host may train it.
BRIDGE_PARAMS = (
    dict(name="vsae_shot", kind="path", label="VSAE Shot", default="",
         help="the plates the shot model was trained on (shot.####.exr), as given to `vsae train`"),
    dict(name="vsae_plate_frames", kind="string", label="VSAE Plate Frames", default="",
         help="frames of the plates the model was trained on, e.g. 1001-1100 (empty: all)"),
    dict(name="vsae_model", kind="string", label="VSAE Model", default="",
         help="a model cache key (see `vsae cache list`); overrides VSAE Shot"),
    dict(name="vsae_training", kind="string", label="VSAE Training", default="",
         help="the shot model's training options, as given to `vsae train` (e.g. --budget 10m --half-width 16; "
              "empty: the defaults): the model is looked up, or trained, with them"),
    dict(name="vsae_colorspace", kind="string", label="VSAE Colour Space", default="auto",
         help="how the host's pixels are encoded, for the way in and out: auto (what an OpenFX 1.5 host says, "
              "else linear), linear, srgb, rec709 (Rec.709 primaries, BT.1886 gamma 2.4: a Resolve Rec.709 "
              "timeline) or an OCIO colour space (needs $OCIO)"),
    dict(name="vsae_train", kind="bool", label="VSAE Train", default=False,
         help="train a missing shot model inside the host (minutes; default: render fails and asks you to run "
              "`vsae train`)"),
)


def plugin_table() -> list[dict]:
    """One entry per node: identifier, label, help, temporal access, clips and parameters (bridge ones last)."""
    from vsae.plugin.node import NodeDefinition
    from vsae.plugin.nodes import all_nodes

    plugins = []
    for node in all_nodes():
        params = []
        for p in node.params:
            numeric = p.kind in ("float", "int")
            automatic = p.default is None  # OFX has no "unset": an automatic value is an empty text field
            entry = dict(name=p.name, label=p.title, help=p.help + (" (empty: automatic)" if automatic else ""),
                         kind="string" if automatic else p.kind, choices=list(p.choices))
            if automatic:
                entry["default"] = ""
            else:
                entry["default"] = p.default if p.host_default is None else p.host_default
            if numeric and not automatic:
                lo = p.minimum if p.minimum is not None else -1e7
                hi = p.maximum if p.maximum is not None else 1e7
                entry.update(minimum=lo, maximum=hi,  # Resolve needs explicit ranges on every numeric param
                             display_min=p.display_min if p.display_min is not None else max(lo, 0.0),
                             display_max=p.display_max if p.display_max is not None else min(hi, 100.0))
            params.append(entry)
        params.extend(dict(b, choices=[]) for b in BRIDGE_PARAMS)
        clips = [dict(name="Source" if i == 0 else clip.name, input=clip.name, optional=bool(clip.optional and i),
                      matte=clip.is_matte) for i, clip in enumerate(node.inputs)]
        # A node that keeps the input's area answers the region of definition without asking the server.
        resizes = type(node).output_window is not NodeDefinition.output_window
        plugins.append(dict(identifier=IDENTIFIER.format(name=node.name), node=node.name, label=node.label,
                            help=node.help, temporal=node.temporal, resizes=resizes, clips=clips, params=params))
    return plugins


def _c_string(text) -> str:
    out = []
    for byte in str(text).encode("utf-8"):
        c = chr(byte)
        if c in '"\\':
            out.append("\\" + c)
        elif 32 <= byte < 127 and c != "?":  # '?' escaped too: no trigraph surprises
            out.append(c)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _c_double(value) -> str:
    return repr(float(value))


def generate_header(plugins: list[dict]) -> str:
    """The C++ text of ``vsae_plugins.gen.h``: the static tables the shim describes its plugins from."""
    lines = ["// Generated by vsae.ofx_bridge.bundle from the node definitions. Do not edit.", "#pragma once", ""]
    for i, plugin in enumerate(plugins):
        for j, p in enumerate(plugin["params"]):
            if p["choices"]:
                lines.append(f"static const char *const kChoices{i}_{j}[] = "
                             f"{{{', '.join(_c_string(c) for c in p['choices'])}}};")
        lines.append(f"static const VsaeParamDesc kParams{i}[] = {{")
        for j, p in enumerate(plugin["params"]):
            kind = KIND_CODES[p["kind"]]
            if p["kind"] == "choice":
                number, text = float(p["choices"].index(p["default"])), ""
            elif p["kind"] in ("string", "path"):
                number, text = 0.0, p["default"]
            else:
                number, text = float(p["default"]), ""
            has_range = int("minimum" in p)
            lines.append(
                f"  {{{_c_string(p['name'])}, {_c_string(p['label'])}, {_c_string(p['help'])}, {kind}, "
                f"{_c_double(number)}, {_c_string(text)}, {has_range}, {_c_double(p.get('minimum', 0))}, "
                f"{_c_double(p.get('maximum', 0))}, {_c_double(p.get('display_min', 0))}, "
                f"{_c_double(p.get('display_max', 0))}, "
                f"{f'kChoices{i}_{j}' if p['choices'] else 'nullptr'}, {len(p['choices'])}}},")
        lines.append("};")
        lines.append(f"static const VsaeClipDesc kClips{i}[] = {{")
        for c in plugin["clips"]:
            lines.append(f"  {{{_c_string(c['name'])}, {_c_string(c['input'])}, {int(c['optional'])}, "
                         f"{int(c['matte'])}}},")
        lines.append("};")
    lines.append("static const VsaePluginDesc kPluginDescs[] = {")
    for i, plugin in enumerate(plugins):
        lines.append(f"  {{{_c_string(plugin['identifier'])}, {_c_string(plugin['node'])}, "
                     f"{_c_string(plugin['label'])}, {_c_string(plugin['help'])}, {int(plugin['temporal'])}, "
                     f"{int(plugin['resizes'])}, "
                     f"kClips{i}, {len(plugin['clips'])}, kParams{i}, {len(plugin['params'])}}},")
    lines.append("};")
    lines.append(f"static const int kPluginCount = {len(plugins)};")
    lines.append(f"static const char *const kGroup = {_c_string(GROUP)};")
    return "\n".join(lines) + "\n"


def server_config(python: str | None = None, serve_command: str | None = None) -> str:
    """The text of ``vsae_server.conf``: how the shim starts the render server. ``serve_command``: a shell command
    line (``rez env vsae -- vsae serve``); else ``python`` (default: this installation's) runs ``-m vsae.cli serve``."""
    if serve_command is not None and (not serve_command.strip() or "\n" in serve_command):
        raise BuildError(f"--serve-command {serve_command!r}: expected one command line")
    if python and not serve_command and not os.access(python, os.X_OK):
        raise BuildError(f"--python {python}: not an executable file here")
    line = f"command={serve_command}" if serve_command else f"python={os.path.abspath(python or sys.executable)}"
    return ("# How the vsae OpenFX plug-ins start their render server (`vsae install ofx` wrote this; edit it when\n"
            "# the bundle moves). $VSAE_SERVE_COMMAND and $VSAE_PYTHON override it.\n" + line + "\n")


def compiler() -> str:
    cxx = os.environ.get("CXX") or shutil.which("g++")
    if not cxx:
        raise BuildError("no C++ compiler: install g++ (Debian: apt install g++) or set $CXX")
    return cxx


def compile_cpp(sources: list[str], output: str, flags: list[str]) -> None:
    """Compile C++17 ``sources`` against the bridge's API header, warning-free, to ``output``."""
    cmd = [compiler(), "-std=c++17", *WARNINGS, *flags, "-I", os.path.join(HERE, "include"), *sources, "-o", output]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"compiling {os.path.basename(output)} failed: {result.stderr.strip().splitlines()[:1]}"
                         f"\n{result.stderr}")
    if result.stderr.strip():  # warnings are errors of the build: the shim must build warning-free
        raise BuildError(f"compiling {os.path.basename(output)} gave warnings:\n{result.stderr}")


def build_bundle(out_dir: str, python: str | None = None, extra_flags: tuple = (),
                 serve_command: str | None = None) -> str:
    """Compile the shim into ``out_dir/vsae.ofx.bundle`` and write its server config (``server_config``); returns
    the bundle's path."""
    from vsae.core.io.output_files import write_text_atomic

    bundle = os.path.join(out_dir, BUNDLE)
    binary = os.path.join(bundle, BINARY)
    os.makedirs(os.path.dirname(binary), exist_ok=True)
    config = os.path.join(bundle, SERVER_CONFIG)
    os.makedirs(os.path.dirname(config), exist_ok=True)
    write_text_atomic(config, server_config(python, serve_command))
    with tempfile.TemporaryDirectory(prefix="vsae-ofx-build-") as work:
        with open(os.path.join(work, "vsae_plugins.gen.h"), "w") as fh:
            fh.write(generate_header(plugin_table()))
        version_script = os.path.join(work, "exports.map")
        with open(version_script, "w") as fh:  # the two entry points, and nothing else, leave the library
            fh.write("{ global: OfxGetNumberOfPlugins; OfxGetPlugin; local: *; };\n")
        tmp = binary + f".tmp-{os.getpid()}"
        compile_cpp([os.path.join(HERE, "shim", "vsae_ofx.cpp")], tmp,
                 ["-O2", "-fPIC", "-shared", "-fvisibility=hidden", "-I", work,
                  f"-Wl,--version-script={version_script}", *extra_flags, "-ldl"])  # dladdr: glibc < 2.34
        os.replace(tmp, binary)
    return bundle


def plugin_folder(dest: str | None = None) -> str:
    """Where bundles go: ``dest``, else the first folder of $OFX_PLUGIN_PATH, else /usr/OFX/Plugins."""
    if dest:
        return dest
    paths = [p for p in os.environ.get("OFX_PLUGIN_PATH", "").split(":") if p]
    return paths[0] if paths else "/usr/OFX/Plugins"


def install(dest: str | None = None, uninstall: bool = False, python: str | None = None,
            serve_command: str | None = None) -> str:
    """Build and place the bundle (replacing an older one whole), or remove it. Idempotent. Returns the path."""
    folder = plugin_folder(dest)
    target = os.path.join(folder, BUNDLE)
    if uninstall:
        if os.path.isdir(target):
            shutil.rmtree(target)
        return target
    server_config(python, serve_command)  # checked before a folder is made
    try:
        os.makedirs(folder, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".vsae-install-", dir=folder)
    except OSError as exc:
        raise BuildError(f"{folder}: cannot write there ({exc.strerror}); set $OFX_PLUGIN_PATH or --dest") from None
    try:
        built = build_bundle(staging, python=python, serve_command=serve_command)
        old = None
        if os.path.isdir(target):
            old = target + f".old-{os.getpid()}"
            os.replace(target, old)
        os.replace(built, target)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
