"""Frames rendered from files keep what the plates' headers say: overscan, frame rate, timecode, colour tag and a
studio's own attributes, and say what made them."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import OpenImageIO as oiio
import pytest

from tests.conftest import TINY_OPTIONS
from vsae.cli import main


OIIOTOOL = shutil.which("oiiotool", path=os.path.dirname(sys.executable)) or shutil.which("oiiotool")
AP1 = (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767)  # ACEScg's primaries and white


def _plates(folder, frames=range(1001, 1005)):
    """Half EXRs with overscan: a 136x72 data window at (-4, -4) inside a 128x64 display, 24 fps, timecode from
    01:00:00:00 at frame 1001, tagged ACEScg."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for n in frames:
        spec = oiio.ImageSpec(136, 72, 3, oiio.HALF)
        spec.x, spec.y = -4, -4
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, 128, 64
        spec.attribute("FramesPerSecond", oiio.TypeDesc("int[2]"), (24, 1))
        spec.attribute("smpte:TimeCode", oiio.TypeTimeCode, (0x01000000 + (n - 1001), 0))
        spec.attribute("oiio:ColorSpace", "ACEScg")
        spec.attribute("chromaticities", oiio.TypeDesc("float[8]"), AP1)
        spec.attribute("studio:shot", "sh010")
        out = oiio.ImageOutput.create(str(folder / f"plate.{n}.exr"))
        out.open(str(folder / f"plate.{n}.exr"), spec)
        out.write_image(rng.random((72, 136, 3), dtype=np.float32))
        out.close()
    return str(folder / "plate.####.exr")


def _spec(path):
    inp = oiio.ImageInput.open(str(path))
    spec = inp.spec()
    inp.close()
    return spec


def test_retime_keeps_overscan_rate_colour_tag_and_gives_each_frame_its_own_timecode(tmp_path):
    plates = _plates(tmp_path / "plates")
    out = str(tmp_path / "out" / "rt.####.exr")
    assert main(["retime", plates, "--speed", "0.5", "--method", "blend", "-o", out]) == 0
    for n in (1001, 1002, 1003, 1007):
        spec = _spec(tmp_path / "out" / f"rt.{n}.exr")
        assert (spec.x, spec.y, spec.width, spec.height) == (-4, -4, 136, 72)
        assert (spec.full_x, spec.full_y, spec.full_width, spec.full_height) == (0, 0, 128, 64)
        assert tuple(spec.getattribute("FramesPerSecond")) == (24, 1)
        assert spec.getattribute("smpte:TimeCode")[0] == 0x01000000 + (n - 1001)  # hex digits: frames < 10
        assert spec.getattribute("oiio:ColorSpace") == "lin_ap1_scene"  # ACEScg, as OpenImageIO names it
        assert spec.getattribute("studio:shot") == "sh010"
        assert spec.getattribute("vsae:node") == "retime"
        assert json.loads(spec.getattribute("vsae:parameters"))["speed"] == 0.5


def test_a_png_written_from_linear_plates_drops_their_linear_colour_tag(tmp_path):
    plates = _plates(tmp_path / "plates")
    out = str(tmp_path / "out" / "rt.####.png")
    assert main(["retime", plates, "--speed", "1", "--method", "blend", "-o", out]) == 0
    spec = _spec(tmp_path / "out" / "rt.1001.png")
    assert spec.getattribute("oiio:ColorSpace") != "lin_ap1_scene"
    assert spec.getattribute("studio:shot") == "sh010"


def test_vsae_info_reads_back_what_made_a_frame(tmp_path, capsys):
    plates = _plates(tmp_path / "plates")
    out = str(tmp_path / "out" / "rt.####.exr")
    assert main(["retime", plates, "--speed", "1", "--method", "blend", "-o", out]) == 0
    capsys.readouterr()
    assert main(["info", str(tmp_path / "out" / "rt.1002.exr")]) == 0
    header = json.loads(capsys.readouterr().out)["header"]
    assert header["data_origin"] == [-4, -4] and header["display_window"] == [0, 0, 128, 64]
    assert header["attributes"]["vsae:node"] == "retime"
    assert json.loads(header["attributes"]["vsae:parameters"])["method"] == "blend"


# Each node's options, and its output's (data window x, y, w, h; display window w, h): overscan processed with the
# picture, both windows scaled by Upres, Conform and Stretch, a new canvas at the display's origin for Extend and
# Stitch.
EVERY_NODE = {
    "retime": (["--speed", "0.5"], (-4, -4, 136, 72, 128, 64)),
    "upres": (["--factor", "2", "--iterations", "1"], (-8, -8, 272, 144, 256, 128)),
    "clean_plate": (["--boxes", "40,20,60,40", "--iterations", "1"], (-4, -4, 136, 72, 128, 64)),
    "mask_propagate": (["--boxes", "1001:40,20,60,40", "--result", "cutout"], (-4, -4, 136, 72, 128, 64)),
    "extend": (["--right", "16", "--iterations", "1"], (0, 0, 152, 72, 152, 72)),
    "stretch": (["--scale-x", "2", "--iterations", "1"], (-8, -4, 272, 72, 256, 64)),
    "stitch": (["--offsets", "0,1", "--iterations", "1"], (0, 0, 272, 72, 272, 72)),
    "paint": (["--boxes", "40,20,60,40", "--offset", "1", "--iterations", "1"], (-4, -4, 136, 72, 128, 64)),
    "loop": (["--loop-first", "1001", "--loop-last", "1002", "--method", "latent"], (-4, -4, 136, 72, 128, 64)),
    "conform": (["--factor", "2", "--upres-iterations", "1"], (-8, -8, 272, 144, 256, 128)),
}


@pytest.fixture(scope="module")
def overscan(tmp_path_factory):
    """The plates, and a cache where the first node's render trains the tiny model every node then uses."""
    folder = tmp_path_factory.mktemp("overscan")
    return _plates(folder / "plates"), folder / "cache"


@pytest.mark.parametrize("node", list(EVERY_NODE))
def test_every_node_keeps_the_plate_header_and_records_the_model_that_made_the_frame(node, overscan, tmp_path):
    plates, cache = overscan
    options, (x, y, width, height, full_width, full_height) = EVERY_NODE[node]
    out = str(tmp_path / "out" / "f.####.exr")
    assert main([node, plates, *options, *TINY_OPTIONS, "--cache", str(cache), "--render", "1002", "-o", out]) == 0
    spec = _spec(tmp_path / "out" / "f.1002.exr")
    assert (spec.x, spec.y, spec.width, spec.height, spec.full_width, spec.full_height) == \
        (x, y, width, height, full_width, full_height)
    assert tuple(spec.getattribute("FramesPerSecond")) == (24, 1)
    assert spec.getattribute("smpte:TimeCode")[0] == 0x01000001  # frame 1002's own (Retime's too)
    assert np.allclose(spec.getattribute("chromaticities"), AP1)
    assert spec.getattribute("oiio:ColorSpace") == "lin_ap1_scene"
    assert spec.getattribute("studio:shot") == "sh010"
    assert spec.getattribute("vsae:node") == node
    key = spec.getattribute("vsae:model")
    assert (cache / "models" / key / "manifest.json").exists()
    assert json.loads(spec.getattribute("vsae:training"))["steps"] == 12
    assert json.loads(spec.getattribute("vsae:render")) == {"backend": "onnx", "precision": "fp32"}
    if node == "upres" and OIIOTOOL:  # what a pipeline's own tools show of the same frame
        info = subprocess.run([OIIOTOOL, "--info", "-v", str(tmp_path / "out" / "f.1002.exr")], capture_output=True,
                              text=True, check=True).stdout
        for line in ("pixel data origin: x=-8, y=-8", "full/display size: 256 x 128", "FramesPerSecond: 24, 1",
                     "smpte:TimeCode: 01:00:00:01", 'studio:shot: "sh010"', f'vsae:model: "{key}"'):
            assert line in info, line


def _pipeline_plates(folder, ext):
    """16-bit DPX or TIFF plates as scanners and conform write them: a timecode, a document name, a format field."""
    folder.mkdir()
    rng = np.random.default_rng(1)
    for n in range(1001, 1004):
        spec = oiio.ImageSpec(64, 32, 3, oiio.UINT16)
        spec.attribute("DocumentName", "sh010")
        if ext == "dpx":
            spec.attribute("smpte:TimeCode", oiio.TypeTimeCode, (0x01000000 + (n - 1001), 0))
            spec.attribute("dpx:InputDevice", "scanner7")
        else:
            spec.attribute("Artist", "plates dept")
        out = oiio.ImageOutput.create(str(folder / f"p.{n}.{ext}"))
        out.open(str(folder / f"p.{n}.{ext}"), spec)
        out.write_image(rng.random((32, 64, 3), dtype=np.float32))
        out.close()
    return str(folder / f"p.####.{ext}")


@pytest.mark.parametrize("ext", ["dpx", "tif"])
def test_dpx_and_tiff_keep_their_fields_and_say_what_made_them_in_their_description(ext, tmp_path, capsys):
    plates = _pipeline_plates(tmp_path / "plates", ext)
    out = str(tmp_path / "out" / f"o.####.{ext}")
    assert main(["retime", plates, "--speed", "0.5", "--method", "blend", "-o", out]) == 0
    spec = _spec(tmp_path / "out" / f"o.1002.{ext}")
    assert spec.getattribute("DocumentName") == "sh010"
    if ext == "dpx":
        assert spec.getattribute("dpx:InputDevice") == "scanner7"
        assert spec.getattribute("dpx:TimeCode") == "01:00:00:01"  # frame 1002's own
    else:
        assert spec.getattribute("Artist") == "plates dept"
    capsys.readouterr()
    assert main(["info", str(tmp_path / "out" / f"o.1002.{ext}")]) == 0
    provenance = json.loads(capsys.readouterr().out)["header"]["provenance"]
    assert provenance["vsae:node"] == "retime" and json.loads(provenance["vsae:parameters"])["method"] == "blend"


@pytest.fixture(scope="module")
def random_model():
    """A tiny shot model of random weights (what it draws does not matter here, only that it draws it alike)."""
    import torch

    from vsae.core.model.autoencoder import ModelConfig, ShotAutoencoder
    from vsae.core.model.shot_model import ShotModel

    torch.manual_seed(0)
    config = ModelConfig("fast", 4)
    return ShotModel(config, ShotAutoencoder(config).state_dict(), backend="torch")


def _pixels(path):
    return oiio.ImageBuf(str(path)).get_pixels(oiio.FLOAT)


@pytest.mark.parametrize("node_name, values", [
    ("retime", {"speed": 0.5}), ("upres", {"factor": 2, "iterations": 2}),
    ("clean_plate", {"boxes": "40,20,70,40", "iterations": 1}), ("loop", {"loop_first": 1001, "loop_last": 1006}),
])
def test_files_read_ahead_and_written_on_threads_hold_the_pixels_of_one_frame_after_another(
        node_name, values, tiny_shot, random_model, tmp_path):
    from vsae.core.io.sequence import open_shot, write_image
    from vsae.plugin.nodes import load_node
    from vsae.plugin.render_files import file_context, render_to_files

    seq = open_shot(tiny_shot["plates"])
    node = load_node(node_name)
    params = node.resolve(values)
    written = render_to_files(node, params, seq, str(tmp_path / "threads" / "f.####.exr"), lambda: random_model)
    assert written == list(node.output_frames(params, seq.frames))
    context = file_context(seq, lambda: random_model)  # the plain loop: read, render, write, frame by frame
    (tmp_path / "plain").mkdir()
    for frame in written:
        write_image(str(tmp_path / "plain" / f"f.{frame}.exr"), node.render(frame, params, context))
        assert np.array_equal(_pixels(tmp_path / "threads" / f"f.{frame}.exr"),
                              _pixels(tmp_path / "plain" / f"f.{frame}.exr")), frame


def test_a_failed_write_stops_the_render_and_keeps_the_frames_written_before_it(tiny_shot, random_model, tmp_path,
                                                                                  monkeypatch):
    import vsae.core.io.sequence as sequence
    from vsae.core.io.sequence import open_shot
    from vsae.errors import OutputError
    from vsae.plugin.nodes import load_node
    from vsae.plugin.render_files import render_to_files

    write_image = sequence.write_image

    def full_disk_at_1004(path, frame, **kwargs):
        if path.endswith(".1004.exr"):
            raise OutputError(f"{path}: cannot write (no space left on device)")
        write_image(path, frame, **kwargs)

    monkeypatch.setattr(sequence, "write_image", full_disk_at_1004)
    node = load_node("upres")
    with pytest.raises(OutputError, match=r"\.1004\.exr: cannot write"):
        render_to_files(node, node.resolve({"factor": 2, "iterations": 1, "temporal": 0}),
                        open_shot(tiny_shot["plates"]), str(tmp_path / "out" / "f.####.exr"), lambda: random_model)
    assert sorted(os.listdir(tmp_path / "out")) == ["f.1001.exr", "f.1002.exr", "f.1003.exr"]


def test_a_plate_that_cannot_be_read_fails_the_render_naming_it_after_the_frames_before_it_are_written(
        tiny_shot, random_model, tmp_path):
    from vsae.core.io.sequence import open_shot
    from vsae.errors import InputError
    from vsae.plugin.nodes import load_node
    from vsae.plugin.render_files import render_to_files

    plates = tmp_path / "plates"
    shutil.copytree(os.path.dirname(tiny_shot["plates"]), plates)
    bad = plates / "shot.1005.exr"
    data = bad.read_bytes()
    bad.write_bytes(data[:len(data) * 3 // 4])  # its header whole, its pixels cut short: as a failed copy leaves it
    node = load_node("retime")
    with pytest.raises(InputError, match="shot.1005.exr"):
        render_to_files(node, node.resolve({"speed": 1.0, "method": "blend"}), open_shot(str(plates / "shot.####.exr")),
                        str(tmp_path / "out" / "f.####.exr"), lambda: random_model)
    assert sorted(os.listdir(tmp_path / "out")) == [f"f.{n}.exr" for n in range(1001, 1005)]


def test_frames_a_long_render_needs_next_are_read_ahead_on_the_reader_thread():
    import threading
    import time

    from vsae.core.io.sequence import Frame
    from vsae.plugin.render_files import KEEP_FRAMES, FrameReader

    class Clip:
        frames = list(range(1, 100))
        reads: list = []

        def read(self, frame, keep_extra=False, premultiplied=True):
            self.reads.append((frame, threading.current_thread().name))
            return Frame(rgb=np.full((2, 2, 3), frame, np.float32))

    clip = Clip()
    reader = FrameReader({"source": clip}, threaded=True)
    try:
        for frame in range(1, 2 * KEEP_FRAMES):  # past the frames kept: a full reader still reads ahead
            reader.read_ahead({"source": [frame + 1]})
            assert reader.fetch("source", frame).rgb[0, 0, 0] == frame
        deadline = time.monotonic() + 5
        while (2 * KEEP_FRAMES, "vsae-read_0") not in clip.reads and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (2 * KEEP_FRAMES, "vsae-read_0") in clip.reads  # read before anyone asked for it
        assert reader.fetch("source", 2 * KEEP_FRAMES).rgb[0, 0, 0] == 2 * KEEP_FRAMES
        assert len(clip.reads) == 2 * KEEP_FRAMES and all(name.startswith("vsae-read") for _, name in clip.reads)
    finally:
        reader.close()
