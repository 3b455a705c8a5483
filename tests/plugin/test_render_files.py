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
