"""The OFX bridge end to end: the shim built from the node definitions, loaded by the project's own test host in
Nuke-like and Resolve-like profiles, rendering through `vsae serve` — and matching the CLI's pixels."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from vsae.cli import main
from vsae.plugin.nodes import NODES, load_node

pytestmark = pytest.mark.skipif(not (os.environ.get("CXX") or shutil.which("g++")),
                                reason="no C++ compiler (g++) to build the OFX shim and test host")

TINY = ["--steps", "12", "--k", "4", "--batch", "2", "--crop", "64"]

# Per node: parameters (as a host holds them: text) and the frames rendered. Small iteration counts keep it quick.
CASES = {
    "retime": ({"method": "latent", "speed": "0.5"}, [1002, 1003, 1004, 1005]),
    "upres": ({"factor": "2", "iterations": "1"}, [1002]),
    "clean_plate": ({"boxes": "1001:40,16,72,40", "fill": "surround", "iterations": "1"}, [1002]),
    "mask_propagate": ({"boxes": "1001:40,16,80,48"}, [1002, 1003, 1004]),
    "extend": ({"left": "16", "right": "8", "top": "4", "iterations": "1"}, [1002]),
    "stretch": ({"scale_x": "1.5", "iterations": "1"}, [1002]),
    "stitch": ({"offsets": "0,2", "iterations": "1"}, [1002]),
    "paint": ({"boxes": "1001:40,16,72,40", "offset": "2", "iterations": "1"}, [1002]),
    "loop": ({"loop_first": "1002", "loop_last": "1007", "transition": "2", "method": "latent"}, [1001, 1003]),
    "conform": ({"factor": "2", "upres_iterations": "1"}, [1002]),
}


def _read(path: str) -> np.ndarray:
    import OpenImageIO as oiio

    return oiio.ImageBuf(path).get_pixels(oiio.FLOAT)


def _stored_frames(pattern: str, frames) -> dict:
    """The files' pixels as stored (premultiplied, as a host holds them), by frame number."""
    return {f: _read(pattern.replace("####", f"{f:04d}")) for f in frames}


def _ask(socket_path: str, op: str = "ping"):
    from vsae.ofx_bridge.protocol import Message, receive, send

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(socket_path)
        send(s, Message(op))
        return receive(s)


def _server_pid(socket_path: str) -> int | None:
    try:
        return int(_ask(socket_path)["pid"])
    except OSError:
        return None


def _wait_gone(pid: int) -> bool:
    for _ in range(200):
        if not os.path.exists(f"/proc/{pid}"):
            return True
        time.sleep(0.05)
    return False


def _segments_of(pid: int) -> list[str]:
    return [n for n in os.listdir("/dev/shm") if n.startswith(f"vsae-s{pid}-")]


def _stop_server(socket_path: str) -> None:
    pid = _server_pid(socket_path)
    if pid:
        os.kill(pid, signal.SIGTERM)  # a clean stop unlinks the server's shared memory
        if not _wait_gone(pid):
            os.kill(pid, signal.SIGKILL)


class Bridge:
    """A tiny shot with its model trained by the CLI, low-res frames for Upres, and a built bundle + test host."""

    def __init__(self, root):
        from vsae.core.cache import ModelCache
        from vsae.core.demo.procedural import ProceduralShot
        from vsae.core.io.sequence import Frame, open_shot, output_path, write_image
        from tests.ofx_bridge.host_driver import TestHost

        import cv2

        self.root = str(root)
        self.socket = os.environ["VSAE_SOCKET"]
        written = ProceduralShot(width=128, height=64, frames=12).write(os.path.join(self.root, "shot"))
        self.plates, self.masks = written["plates"], written["masks"]
        assert main(["train", self.plates, *TINY]) == 0
        self.key = ModelCache(None).entries()[0].key
        seq = open_shot(self.plates, None, "auto")
        self.frames = seq.frames
        self.low = os.path.join(self.root, "low", "low.####.exr")  # half-size frames for Upres, float
        for f in seq.frames:
            rgb = cv2.resize(seq.read(f).rgb, (64, 32), interpolation=cv2.INTER_AREA)
            write_image(output_path(self.low, f), Frame(rgb=rgb, pixel_type="float"))
        self.host = TestHost(os.path.join(self.root, "host"))
        self.cli_outputs: dict = {}

    def source(self, node: str) -> str:
        return self.low if node in ("upres", "conform") else self.plates

    def cli(self, node: str) -> dict:
        """The CLI's float output of the node's case, by frame (rendered once per module)."""
        if node not in self.cli_outputs:
            params, frames = CASES[node]
            out = os.path.join(self.root, "cli", node, "o.####.exr")
            options = [x for k, v in params.items() for x in (f"--{k.replace('_', '-')}", v)]
            if "boxes" in params:  # a host's boxes are in its own coordinates, y up: the CLI's option for the same
                options += ["--box-origin", "bottom-left"]
            plates = ["--plates", self.plates] if node in ("upres", "conform") else []
            assert main([node, self.source(node), *TINY, *plates, "--no-train", "-o", out, "--depth", "float",
                         "--render", ",".join(map(str, frames)), *options]) == 0
            self.cli_outputs[node] = {f: _read(out.replace("####", f"{f:04d}")) for f in frames}
        return self.cli_outputs[node]

    def run(self, node: str, params: dict | None = None, **kw):
        case_params, frames = CASES[node]
        values = {**case_params, "vsae_model": self.key, **(params or {})}
        kw.setdefault("render", frames)
        return self.host.run(f"org.vsae.{node}", {"Source": _stored_frames(self.source(node), self.frames)},
                             values, **kw)


@pytest.fixture(scope="module")
def bridge(tmp_path_factory):
    root = tmp_path_factory.mktemp("ofx")
    env = {"VSAE_CACHE": str(root / "cache"), "VSAE_SOCKET": str(root / "sock" / "serve.sock")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield Bridge(root)
    finally:
        _stop_server(env["VSAE_SOCKET"])
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _assert_same_pixels(host: np.ndarray, cli: np.ndarray) -> None:
    """Within 1e-5 in the network's working range (vsae.core.colour: exactly invertible, (-1, 1)), which is
    scene-linear's own scale for ordinary values. Scene-linear itself would not do: a 12-step model pushes some
    pixels against the working range's end, where linear values run to 66000 and an ulp of float noise between
    two processes (seen once) becomes thousands."""
    from vsae.core.colour import to_working

    assert host.shape[:2] == cli.shape[:2]
    assert np.abs(to_working(host[..., :cli.shape[2]]) - to_working(cli)).max() <= 1e-5
    if cli.shape[2] == 3:  # the CLI wrote no alpha: through a host the frame is opaque
        assert np.all(host[..., 3] == 1.0)


def test_the_shim_exports_only_the_two_entry_points(bridge):
    if not shutil.which("nm"):
        pytest.skip("no nm to list the shim's symbols")
    from vsae.ofx_bridge.bundle import BINARY

    out = subprocess.run(["nm", "-D", "--defined-only", os.path.join(bridge.host.bundle, BINARY)],
                         capture_output=True, text=True, check=True).stdout
    assert sorted(line.split()[-1] for line in out.splitlines()) == ["OfxGetNumberOfPlugins", "OfxGetPlugin"]
    libs = subprocess.run(["ldd", os.path.join(bridge.host.bundle, BINARY)], capture_output=True, text=True).stdout
    assert "python" not in libs and "torch" not in libs


@pytest.mark.parametrize("node", list(NODES))
def test_each_node_is_described_from_its_definition(bridge, node):
    run = bridge.host.run(f"org.vsae.{node}", {"Source": {1001: np.zeros((8, 8, 4), np.float32)}}, {},
                          context="general", profile="resolve")
    assert run.returncode == 0, run.lines
    definition = load_node(node)
    describe = run.events("describe")[0]
    assert "contexts=OfxImageEffectContextFilter,OfxImageEffectContextGeneral" in describe
    assert f"temporal={int(definition.temporal)}" in describe and "tiles=0" in describe
    assert run.events("clips")[0] == [",".join(["Output", "Source"] + [c.name for c in definition.inputs[1:]])]
    # + shot, plate frames, model, training, colour space, train
    assert int(run.events("params")[0][0]) == len(definition.params) + 6
    assert bridge.host.run(f"org.vsae.{node}", {"Source": {1001: np.zeros((8, 8, 4), np.float32)}}, {}
                           ).events("clips")[0] == ["Output,Source"]  # a filter has one input


@pytest.mark.parametrize("profile", ["nuke", "resolve"])
@pytest.mark.parametrize("node", list(CASES))
def test_each_node_renders_the_cli_pixels(bridge, node, profile):
    # Resolve-like: the general context, so optional clips exist, report connected and hand out NULL images.
    context = "general" if profile == "resolve" else "filter"
    run = bridge.run(node, profile=profile, context=context,
                     rowbytes="positive" if profile == "resolve" else "negative")
    assert run.returncode == 0, (run.lines, run.stderr)
    assert run.images_outstanding == 0
    expected = bridge.cli(node)
    assert sorted(run.outputs) == sorted(expected)
    for frame, pixels in expected.items():
        _assert_same_pixels(run.outputs[frame], pixels)


def test_clean_plate_takes_a_matte_clip_in_the_general_context(bridge):
    out = os.path.join(bridge.root, "cli", "matte", "o.####.exr")
    options = ["--fill", "surround", "--iterations", "1", "--grow", "2"]
    assert main(["clean_plate", bridge.plates, *TINY, "--no-train", "--matte", bridge.masks, "-o", out,
                 "--depth", "float", "--render", "1003", *options]) == 0
    mattes = {f: m[:, :, :1] for f, m in _stored_frames(bridge.masks, bridge.frames).items()}  # Alpha only
    for profile in ("nuke", "resolve"):
        run = bridge.host.run("org.vsae.clean_plate",
                              {"Source": _stored_frames(bridge.plates, bridge.frames), "matte": mattes},
                              {"fill": "surround", "iterations": "1", "grow": "2", "vsae_model": bridge.key},
                              render=[1003], profile=profile, context="general")
        assert run.returncode == 0, run.lines
        expected = _read(out.replace("####", "1003"))
        _assert_same_pixels(run.outputs[1003], expected)
        assert np.abs(expected - _read(bridge.plates.replace("####", "1003"))).max() > 0.01  # it did clean


def test_retime_asks_the_host_for_the_neighbouring_frames(bridge):
    run = bridge.run("retime", render=[1002, 1003])
    needed = {int(e[0]): e[3:] for e in run.events("frames_needed")}
    # Half speed: output 1002 sits between source 1001 and 1002; output 1003 is source 1002 itself.
    assert needed == {1002: ["Source", "1001", "1002"], 1003: ["Source", "1002", "1002"]}
    assert run.events("rod")[0][1] == "default"  # Retime keeps its input's area: no round trip for it


def test_retime_tells_a_general_context_host_its_longer_time_domain(bridge):
    run = bridge.run("retime", render=[1002], context="general")
    assert run.events("time_domain")[0] == ["status", "0", "1001", "1023"]  # 12 frames at half speed
    # A node that reads no other frames (Stretch) leaves the time domain to the host.
    assert bridge.run("stretch", render=(), context="general").events("time_domain")[0][:2] == ["status", "14"]


def test_a_proxy_render_renders_the_smaller_images(bridge):
    # Render scale 0.5: the host hands half-size images (here the low-res frames) and lengths in pixels shrink with
    # them: 8 pixels more on the left of the full-size frame are 4 on the proxy, as the CLI does on those frames.
    out = os.path.join(bridge.root, "cli", "proxy", "o.####.exr")
    assert main(["extend", bridge.low, *TINY, "--plates", bridge.plates, "--no-train", "-o", out, "--depth", "float",
                 "--render", "1002", "--left", "4", "--iterations", "1"]) == 0
    run = bridge.host.run("org.vsae.extend", {"Source": _stored_frames(bridge.low, bridge.frames)},
                          {"left": "8", "iterations": "1", "vsae_model": bridge.key}, render=[1002], scale=0.5)
    assert run.returncode == 0, run.lines
    assert run.events("rod")[0][1:] == ["plugin", "-8", "0", "128", "64"]  # canonical: the full-size frame, + 8
    _assert_same_pixels(run.outputs[1002], _read(out.replace("####", "1002")))


def test_extend_grows_the_region_of_definition_around_the_original(bridge):
    run = bridge.run("extend")
    assert run.events("rod")[0][1:] == ["plugin", "-16", "0", "136", "68"]


@pytest.mark.parametrize("node", ["retime", "mask_propagate"])
def test_two_host_threads_render_at_once(bridge, node):
    # mask_propagate keeps its chains across renders of an instance: threads take turns with them.
    run = bridge.run(node, render=(), threads=CASES[node][1])
    assert run.returncode == 0, run.lines
    assert run.images_outstanding == 0
    for frame, pixels in bridge.cli(node).items():
        _assert_same_pixels(run.outputs[frame], pixels)


def test_a_bad_parameter_is_the_hosts_error_message(bridge):
    run = bridge.run("retime", {"speed": "0"}, render=[1002])
    assert run.returncode == 1  # the render failed; the host lives
    assert any("speed 0.0: below the minimum 0.01" in m for m in run.messages), run.lines
    assert run.images_outstanding == 0


def test_a_missing_model_asks_the_artist_to_train(bridge):
    run = bridge.run("retime", {"vsae_model": "", "vsae_shot": bridge.plates}, render=[1002])
    assert run.returncode == 1
    assert any("train one with `vsae train`" in m and "VSAE Train" in m for m in run.messages), run.lines


def test_the_host_finds_the_model_the_cli_trained_by_its_training_options(bridge):
    """VSAE Shot + VSAE Training name the model `vsae train PLATES OPTIONS` made, with no cache key."""
    run = bridge.run("retime", {"vsae_model": "", "vsae_shot": bridge.plates, "vsae_training": " ".join(TINY)},
                     render=[1002])
    assert run.returncode == 0, run.lines
    _assert_same_pixels(run.outputs[1002], bridge.cli("retime")[1002])


def test_a_killed_server_is_restarted_by_the_next_render(bridge):
    bridge.run("retime", render=[1003])
    first = _server_pid(bridge.socket)
    assert first and _segments_of(first)  # output segments it keeps for reuse
    os.kill(first, signal.SIGKILL)
    assert _wait_gone(first)
    run = bridge.run("retime", render=[1002])
    assert run.returncode == 0, run.lines
    _assert_same_pixels(run.outputs[1002], bridge.cli("retime")[1002])
    second = _server_pid(bridge.socket)
    assert second and second != first
    assert not _segments_of(first)  # the new server removed what the killed one left behind


def test_a_server_dying_mid_render_is_an_error_not_a_crash(bridge, tmp_path):
    sock = str(tmp_path / "s" / "serve.sock")
    run = bridge.run("retime", render=[1002], env={"VSAE_SOCKET": sock, "VSAE_SERVE_FAULT": "exit-on-render"})
    assert run.returncode == 1, run.lines  # not a signal: the host process carried on
    assert any("render server stopped" in m for m in run.messages), run.lines
    assert run.images_outstanding == 0
    again = bridge.run("retime", render=[1002], env={"VSAE_SOCKET": sock, "VSAE_SERVE_FAULT": ""})
    try:
        assert again.returncode == 0, again.lines
        _assert_same_pixels(again.outputs[1002], bridge.cli("retime")[1002])
    finally:
        _stop_server(sock)


def test_no_leaks_or_invalid_accesses_under_address_sanitizer(bridge):
    from vsae.ofx_bridge.bundle import BuildError
    from tests.ofx_bridge.host_driver import TestHost

    flags = ("-fsanitize=address", "-fno-omit-frame-pointer")
    try:
        host = TestHost(os.path.join(bridge.root, "asan"), host_flags=flags, bundle_flags=flags)
    except BuildError as exc:
        pytest.skip(f"no AddressSanitizer build here: {str(exc).splitlines()[0]}")
    frames = _stored_frames(bridge.plates, bridge.frames)
    env = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0"}
    runs = [  # a sequence, threads, an error, both profiles and row orders
        host.run("org.vsae.mask_propagate", {"Source": frames},
                 {"boxes": "1001:40,16,80,48", "vsae_model": bridge.key}, render=[1002], threads=[1003, 1004],
                 profile="resolve", context="general", rowbytes="positive", env=env),
        host.run("org.vsae.retime", {"Source": frames}, {"speed": "0", "vsae_model": bridge.key}, render=[1002],
                 env=env),
        host.run("org.vsae.extend", {"Source": frames}, {**CASES["extend"][0], "vsae_model": bridge.key},
                 render=[1002], env=env),
    ]
    for run in runs:
        assert "Sanitizer" not in run.stderr, run.stderr[-4000:]
        assert run.images_outstanding == 0
    assert [r.returncode for r in runs] == [0, 1, 0]


def test_an_aborted_render_stops_quietly(bridge):
    # The host aborts at once: the shim polls abort while it waits, gives up, and leaves no image fetched.
    run = bridge.run("mask_propagate", {"boxes": "1001:40,16,80,48", "radius": "11"}, render=[1006], abort_after=0.0)
    assert run.returncode == 1 and run.events("render")[0][2] == "1"
    assert not run.messages  # an abort is not an error to show the artist
    assert run.images_outstanding == 0
    assert bridge.run("retime", render=[1003]).returncode == 0  # the server serves on


def test_a_stopped_server_leaves_no_shared_memory(bridge, tmp_path):
    sock = str(tmp_path / "s" / "serve.sock")
    assert bridge.run("retime", render=[1002], env={"VSAE_SOCKET": sock}).returncode == 0
    pid = _server_pid(sock)
    assert _segments_of(pid)
    _stop_server(sock)
    assert not _segments_of(pid) and not os.path.exists(sock)


def test_install_places_and_removes_the_bundle(bridge, tmp_path, capsys):
    from vsae.ofx_bridge.bundle import BINARY, BUNDLE, SERVER_CONFIG

    dest = tmp_path / "OFX" / "Plugins"
    for _ in range(2):  # idempotent: the second install replaces the first whole
        assert main(["install", "ofx", "--dest", str(dest)]) == 0
        assert os.path.isfile(dest / BUNDLE / BINARY)
    assert sorted(os.listdir(dest)) == [BUNDLE]
    assert f"python={os.path.abspath(sys.executable)}" in (dest / BUNDLE / SERVER_CONFIG).read_text()
    assert main(["install", "ofx", "--dest", str(dest), "--serve-command", "rez env vsae -- vsae serve"]) == 0
    assert "command=rez env vsae -- vsae serve" in (dest / BUNDLE / SERVER_CONFIG).read_text()
    assert main(["install", "ofx", "--dest", str(dest), "--uninstall"]) == 0
    assert os.listdir(dest) == []
    assert f"installed {dest / BUNDLE}" in capsys.readouterr().out
    assert main(["install", "ofx", "--dest", str(tmp_path / "other"), "--python", "/opt/nowhere/python3"]) == 5
    assert "--python /opt/nowhere/python3: not an executable file here" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def test_the_bundle_holds_no_path_of_the_python_that_built_it(bridge):
    from vsae.ofx_bridge.bundle import BINARY

    with open(os.path.join(bridge.host.bundle, BINARY), "rb") as fh:
        binary = fh.read()
    assert os.path.abspath(sys.executable).encode() not in binary and os.path.realpath(sys.executable).encode() \
        not in binary


def test_a_moved_bundle_finds_its_server_by_variable_config_file_or_path(bridge, tmp_path):
    """A bundle built in one folder and copied to another (shared storage, another machine), then rendering."""
    from vsae.ofx_bridge.bundle import BUNDLE, SERVER_CONFIG, server_config

    moved = tmp_path / "elsewhere"
    shutil.copytree(bridge.host.bundle, moved / BUNDLE)
    config = moved / BUNDLE / SERVER_CONFIG
    config.unlink()
    started = []

    def render(**env):
        socket_path = str(tmp_path / f"sock{len(started)}" / "serve.sock")  # a server of its own each time
        started.append(socket_path)
        run = bridge.run("retime", render=[1002], env={"OFX_PLUGIN_PATH": str(moved), "PATH": "/usr/bin:/bin",
                                                       "VSAE_SOCKET": socket_path, **env})
        _stop_server(socket_path)
        return run

    run = render()  # nothing says where vsae is
    assert run.returncode == 1
    assert any("cannot find the vsae render server: set VSAE_PYTHON" in m and str(config) in m
               for m in run.messages), run.lines
    run = render(VSAE_PYTHON="/opt/nowhere/python3")
    assert any("cannot start the vsae render server /opt/nowhere/python3 (from $VSAE_PYTHON): No such file" in m
               for m in run.messages), run.lines
    for how, env in (("variable", {"VSAE_PYTHON": sys.executable}),
                     ("command", {"VSAE_SERVE_COMMAND": f"'{sys.executable}' -m vsae.cli serve"}),
                     ("config file", {}),
                     ("PATH", {"PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin"})):
        if how == "config file":
            config.write_text(server_config(sys.executable))
        if how == "PATH":
            config.unlink()
            if not os.path.exists(os.path.join(os.path.dirname(sys.executable), "vsae")):
                continue  # vsae not installed as a command beside this Python
        run = render(**env)
        assert run.returncode == 0, (how, run.lines)
        _assert_same_pixels(run.outputs[1002], bridge.cli("retime")[1002])


def test_a_rec709_frame_renders_as_the_cli_renders_that_file_by_parameter_or_by_the_host_s_colour_management(bridge):
    """A display-referred Rec.709 timeline: the pixels are decoded for the node and encoded back, as `--colorspace
    rec709` does with files; an OpenFX 1.5 host that says its clip is Rec.709 needs no parameter."""
    from vsae.core.colour import linear_to_rec709
    from vsae.core.io.sequence import Frame, output_path, write_image

    plates = os.path.join(bridge.root, "rec709", "p.####.exr")
    for f, pixels in _stored_frames(bridge.plates, bridge.frames).items():
        write_image(output_path(plates, f), Frame(rgb=linear_to_rec709(pixels[:, :, :3]), pixel_type="float"))
    out = os.path.join(bridge.root, "cli", "rec709", "o.####.exr")
    assert main(["retime", plates, "--colorspace", "rec709", "--method", "blend", "--speed", "0.5", "-o", out,
                 "--depth", "float", "--render", "1002"]) == 0
    expected = _read(out.replace("####", "1002"))
    source = {"Source": _stored_frames(plates, bridge.frames)}
    params = {"method": "blend", "speed": "0.5"}
    by_parameter = bridge.host.run("org.vsae.retime", source, {**params, "vsae_colorspace": "rec709"}, render=[1002])
    assert by_parameter.returncode == 0, by_parameter.lines
    _assert_same_pixels(by_parameter.outputs[1002], expected)
    managed = bridge.host.run("org.vsae.retime", source, params, render=[1002],
                              colourspaces={"Source": "rec1886_rec709_display"})
    assert managed.returncode == 0, managed.lines
    _assert_same_pixels(managed.outputs[1002], expected)
    assert ["Source", "lin_rec709_srgb,ofx_linear"] in managed.events("preferred_colourspaces")
    assert managed.events("output_colourspace") == [["OfxColourspace_Source"]]
    as_linear = bridge.host.run("org.vsae.retime", source, params, render=[1002])  # a host that says nothing
    assert np.abs(as_linear.outputs[1002][..., :3] - expected).max() > 1e-3  # blending encoded values differs
    bad = bridge.host.run("org.vsae.retime", source, {**params, "vsae_colorspace": "rec.709"}, render=[1002])
    assert bad.returncode == 1 and any("vsae_colorspace" in m for m in bad.messages), bad.lines
