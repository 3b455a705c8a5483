"""OpenCue jobs: an outline built and serialised without a Cuebot, its layers' commands run here in order."""

import shlex
import subprocess
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import TINY_OPTIONS
from vsae.cli import main

pytest.importorskip("outline", reason="opencue-pyoutline is not installed (pip install -e '.[test]')")



def _chunks(frame_range, size):
    first, last = (int(f) for f in frame_range.split("-")) if "-" in frame_range else (int(frame_range),) * 2
    for start in range(first, last + 1, size):
        yield start, min(start + size - 1, last)


def test_an_opencue_job_run_layer_by_layer_renders_what_one_process_renders(tiny_shot, tmp_path, capsys):
    cache, job = tmp_path / "cache", tmp_path / "job"
    retime = ["retime", tiny_shot["plates"], "--speed", "0.5", *TINY_OPTIONS, "--cache", str(cache)]
    assert main(["farm", "opencue", *retime, "-o", str(tmp_path / "farm" / "rt.####.exr"), "--chunk", "10",
                 "--show", "testing", "--priority", "60", "--job-dir", str(job)]) == 0
    assert "opencue.api.launchSpec" in capsys.readouterr().out
    spec = ET.parse(job / "job.xml").getroot()
    assert spec.findtext("show") == "testing" and spec.find("job").findtext("priority") == "60"
    layers = {layer.get("name"): layer for layer in spec.iter("layer")}
    assert list(layers) == ["train", "render"]
    assert (layers["render"].findtext("range"), layers["render"].findtext("chunk")) == ("1001-1023", "10")
    depend = spec.find("depends/depend")
    assert (depend.findtext("deplayer"), depend.findtext("onlayer")) == ("render", "train")
    for name in ("train", "render"):  # as RQD runs them: each frame of the layer, its chunk's range filled in
        layer = layers[name]
        for start, end in _chunks(layer.findtext("range"), int(layer.findtext("chunk"))):
            command = layer.findtext("cmd").replace("#FRAME_START#", str(start)).replace("#FRAME_END#", str(end))
            run = subprocess.run(shlex.split(command), capture_output=True, text=True)
            assert run.returncode == 0, run.stderr[-2000:]
    assert main([*retime, "--no-train", "-o", str(tmp_path / "single" / "rt.####.exr")]) == 0
    for path in sorted((tmp_path / "single").iterdir()):
        assert (tmp_path / "farm" / path.name).read_bytes() == path.read_bytes(), path.name


def test_a_training_on_two_machines_is_a_layer_of_two_frames_whose_number_is_the_rank(tiny_shot, tmp_path):
    job = tmp_path / "job"
    assert main(["farm", "opencue", "retime", tiny_shot["plates"], *TINY_OPTIONS, "--cache", str(tmp_path / "cache"),
                 "-o", str(tmp_path / "rt.####.exr"), "--train-machines", "2", "--job-dir", str(job)]) == 0
    train = next(layer for layer in ET.parse(job / "job.xml").getroot().iter("layer") if layer.get("name") == "train")
    assert (train.findtext("range"), train.findtext("chunk")) == ("0-1", "1")
    words = shlex.split(train.findtext("cmd"))
    assert words[words.index("--node-rank") + 1] == "#IFRAME#" and words[words.index("--nnodes") + 1] == "2"
