"""The ``vsae`` console tool, in-process through ``main(argv)`` and as the installed script."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from vsae.cli import main
from vsae.core.io.sequence import Frame, open_shot, write_image

from tests.standins import write_raw_exr

TINY = ["--steps", "12", "--k", "4", "--batch", "2", "--crop", "64"]


def _run(*args):
    """The installed console script, as a farm job runs it: (exit code, stdout, stderr)."""
    exe = shutil.which("vsae") or sys.executable
    cmd = [exe] + ([] if exe.endswith("vsae") else ["-m", "vsae.cli"]) + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def test_train_reconstruct_encode_and_cache_end_to_end(tiny_shot, cache_dir, tmp_path, capsys):
    assert main(["train", tiny_shot["plates"], *TINY]) == 0
    key = capsys.readouterr().out.split()[1]
    out = str(tmp_path / "recon" / "r.####.exr")
    assert main(["reconstruct", tiny_shot["plates"], *TINY, "--no-train", "-o", out, "--render", "1001-1004"]) == 0
    rendered = open_shot(out)
    assert rendered.frames == [1001, 1002, 1003, 1004]
    frame = rendered.read(1001)
    assert frame.pixel_type == "half" and frame.size == (128, 64)
    npy = str(tmp_path / "latents.npy")
    assert main(["encode", tiny_shot["plates"], *TINY, "--no-train", "-o", npy]) == 0
    assert np.load(npy).shape == (12, 48, 1, 2)
    assert json.load(open(str(tmp_path / "latents.json")))["frames"][0] == 1001
    capsys.readouterr()
    assert main(["cache", "list"]) == 0
    assert key in capsys.readouterr().out
    assert main(["info", tiny_shot["plates"], *TINY]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == key
    export_dir = str(tmp_path / "export")
    assert main(["export", tiny_shot["plates"], "--model", key[:10], "-o", export_dir]) == 0
    assert sorted(os.listdir(export_dir)) == ["decoder.onnx", "encoder.onnx", "reproject.onnx", "weights.safetensors"]


def test_exr_compression_is_the_shows_choice_and_checked_before_training(tiny_shot, cache_dir, tmp_path, capsys,
                                                                            monkeypatch):
    import OpenImageIO as oiio

    monkeypatch.setenv("VSAE_EXR_COMPRESSION", "zip:10")  # a show's setting mistyped
    out = tmp_path / "recon" / "r.####.exr"
    assert main(["reconstruct", tiny_shot["plates"], *TINY, "-o", str(out), "--render", "1001"]) == 2
    assert "--compression 'zip:10'" in capsys.readouterr().err
    assert not os.path.exists(os.path.join(cache_dir, "models")) or not os.listdir(os.path.join(cache_dir, "models"))
    assert not out.parent.exists()
    monkeypatch.setenv("VSAE_EXR_COMPRESSION", "piz")
    assert main(["upres", tiny_shot["plates"], *TINY, "--factor", "2", "--iterations", "0", "--render", "1001",
                 "-o", str(out)]) == 0
    assert main(["reconstruct", tiny_shot["plates"], *TINY, "--compression", "none", "-o",
                 str(tmp_path / "none" / "r.####.exr"), "--render", "1001"]) == 0
    for path, expected in ((out.parent / "r.1001.exr", "piz"), (tmp_path / "none" / "r.1001.exr", "none")):
        assert oiio.ImageInput.open(str(path)).spec().get_string_attribute("compression") == expected


def test_reconstruct_keeps_8bit_depth_and_alpha(tmp_path, cache_dir):
    rng = np.random.default_rng(0)
    for f in range(1, 5):
        rgb = rng.random((64, 64, 3)).astype(np.float32)
        alpha = np.ones((64, 64, 1), np.float32)
        alpha[:, :32] = 0.5
        write_image(str(tmp_path / f"in.{f:04d}.png"), Frame(rgb=rgb, alpha=alpha, pixel_type="uint8"))
    out = str(tmp_path / "out.####.png")
    assert main(["reconstruct", str(tmp_path / "in.####.png"), *TINY, "-o", out]) == 0
    frame = open_shot(out).read(1)
    assert frame.pixel_type == "uint8"
    assert frame.alpha is not None and abs(float(frame.alpha[0, 0, 0]) - 0.5) < 1 / 255


def test_no_train_without_model_is_a_clear_error(tiny_shot, cache_dir, tmp_path):
    code, out, err = _run("reconstruct", tiny_shot["plates"], *TINY, "--no-train", "-o", tmp_path / "o.####.exr")
    assert code == 3
    assert err.strip().count("\n") == 0 and "no trained model" in err
    assert not list(tmp_path.glob("o.*"))


@pytest.fixture
def broken(tmp_path):
    """Build a sequence with one defect and return its pattern."""

    def make(defect):
        folder = tmp_path / defect
        folder.mkdir()
        for f in range(1, 5):
            size = (48, 32) if defect == "size" and f == 3 else (64, 32)
            rgb = np.full((size[1], size[0], 3), 0.3, np.float32)
            if defect == "nan" and f == 2:
                rgb[5, 5, 0] = np.nan
            if defect == "nan" and f == 2:
                write_raw_exr(str(folder / f"s.{f:04d}.exr"), rgb, ["R", "G", "B"])  # vsae never writes NaN
            elif not (defect == "missing" and f == 3):
                write_image(str(folder / f"s.{f:04d}.exr"), Frame(rgb=rgb, pixel_type="float"))
        if defect == "corrupt":
            (folder / "s.0002.exr").write_bytes(b"\x00garbage" * 50)
        return str(folder / "s.####.exr")

    return make


@pytest.mark.parametrize("defect,message", [
    ("missing", "frame 3 is missing"),
    ("corrupt", "s.0002.exr: cannot read"),
    ("size", "frame 3 is 48x32, the shot's first frame is 64x32"),
    ("nan", "s.0002.exr: 1 colour values are NaN or Inf"),
])
def test_bad_input_one_line_nonzero_nothing_written(broken, defect, message, cache_dir, tmp_path):
    pattern = broken(defect)
    code, out, err = _run("reconstruct", pattern, *TINY, "-o", tmp_path / "out" / "o.####.exr")
    assert code == 2, err
    assert err.strip().count("\n") == 0, err
    assert message in err
    assert not (tmp_path / "out").exists()
    assert not os.path.isdir(os.path.join(cache_dir, "models")) or not os.listdir(os.path.join(cache_dir, "models"))


def test_empty_folder_and_bad_parameters(tmp_path, cache_dir):
    code, _, err = _run("train", tmp_path, *TINY)
    assert code == 2 and "no image sequence" in err
    code, _, err = _run("train", tmp_path / "x.####.exr", "--frames", "ten")
    assert code == 2 and "--frames 'ten'" in err
    code, _, err = _run("train", tmp_path / "x.####.exr", "--budget", "soon")
    assert code == 2 and "duration 'soon'" in err


def test_killed_training_resumes_from_its_checkpoint(tiny_shot, cache_dir):
    cmd = [shutil.which("vsae") or sys.executable] + ([] if shutil.which("vsae") else ["-m", "vsae.cli"])
    cmd += ["train", tiny_shot["plates"], "--steps", "100000", "--k", "4", "--batch", "2", "--crop", "64",
            "--checkpoint-every", "0.3"]
    env = {**os.environ, "VSAE_CACHE": cache_dir}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    partial = os.path.join(cache_dir, "partial")
    deadline = time.time() + 120
    ckpts = []
    while time.time() < deadline and not ckpts:
        time.sleep(0.2)
        ckpts = [os.path.join(r, f) for r, _, fs in os.walk(partial) for f in fs if f == "checkpoint.safetensors"]
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ckpts, "no checkpoint was written"
    from safetensors import safe_open

    with safe_open(ckpts[0], "pt") as fh:
        step_at_kill = json.loads(fh.metadata()["vsae"])["step"]
    assert step_at_kill > 0
    # The same command again: it resumes (says so) and goes on from the step it had reached.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    first_steps = []
    err_lines = []
    while len(first_steps) < 1:
        line = proc.stderr.readline()
        if not line:
            break
        err_lines.append(line)
        if '"step"' in line:
            first_steps.append(json.loads(line.split(" ", 1)[1])["step"])
    proc.kill()
    proc.wait()
    assert any("resuming from checkpoint" in line for line in err_lines), err_lines
    assert first_steps and first_steps[0] > step_at_kill


def test_reconstruct_keeps_extra_channels_when_asked(tmp_path, cache_dir):
    import OpenImageIO as oiio

    pix = np.random.default_rng(0).random((64, 64, 4)).astype(np.float32)
    for f in (1, 2):
        path = str(tmp_path / f"aov.{f:04d}.exr")
        spec = oiio.ImageSpec(64, 64, 4, oiio.FLOAT)
        spec.channelnames = ("R", "G", "B", "Z")
        out = oiio.ImageOutput.create(path)
        out.open(path, spec)
        out.write_image(pix)
        out.close()
    kept, dropped = str(tmp_path / "k.####.exr"), str(tmp_path / "d.####.exr")
    assert main(["reconstruct", str(tmp_path / "aov.####.exr"), *TINY, "-o", kept, "--keep-channels"]) == 0
    assert main(["reconstruct", str(tmp_path / "aov.####.exr"), *TINY, "-o", dropped]) == 0
    np.testing.assert_array_equal(open_shot(kept).read(1, keep_extra=True).extra["Z"], pix[:, :, 3])
    assert open_shot(dropped).read(1, keep_extra=True).extra == {}


def test_explore_reports_and_writes_a_summary_and_a_loop(tiny_shot, cache_dir, tmp_path, capsys):
    import json

    from vsae.core.io.sequence import read_image

    assert main(["train", tiny_shot["plates"], *TINY]) == 0
    capsys.readouterr()
    summary, loop = str(tmp_path / "summary.png"), str(tmp_path / "loop" / "loop.####.png")
    assert main(["explore", tiny_shot["plates"], *TINY, "--no-train", "--report", "--clusters", "3",
                 "--summary", summary, "--loop", loop, "--loop-length", "10", "--loop-min", "4"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out[:out.index("\nwrote")])
    assert [len(c["frames"]) for c in report["clusters"]] and sum(len(c["frames"]) for c in report["clusters"]) == 12
    assert all(c["medoid"] in c["frames"] for c in report["clusters"])
    loops = report["loops"]  # what `vsae loop --loop-first/--loop-last` takes
    assert loops and all(lp["loop_last"] - lp["loop_first"] >= 3 for lp in loops)
    assert loops[0]["similarity"] == max(lp["similarity"] for lp in loops)
    assert read_image(summary).rgb.shape == (128, 3 * 256, 3)  # three medoids at 128 high
    assert read_image(loop.replace("####", "0010")).rgb.shape == (64, 128, 3)
    assert not (tmp_path / "loop" / "loop.0011.png").exists()


def test_info_backends_says_what_is_here_and_what_a_render_would_use(capsys):
    assert main(["info", "--backends"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"torch", "onnxruntime", "render", "warnings"}
    assert "CPUExecutionProvider" in report["onnxruntime"]["providers"]
    assert report["render"]["backend"] in ("onnx", "torch")
    assert main(["info", "--backends", "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["render"] == {"backend": "onnx", "providers": ["CPUExecutionProvider"]}
    assert main(["info"]) == 2 and "name a shot or a frame, or ask for --backends" in capsys.readouterr().err


def test_a_gpu_that_is_not_here_is_refused_before_anything_trains(tiny_shot, tmp_path, capsys):
    import torch

    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has a GPU number 7")
    code = main(["retime", tiny_shot["plates"], *TINY, "--device", "cuda:7", "--cache", str(tmp_path / "cache"),
                 "-o", str(tmp_path / "out" / "rt.####.exr")])
    assert code == 4 and "--device cuda:7" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()


def test_average_writes_the_decoded_mean_latent_and_its_pixel_mean_with_provenance(tiny_shot, cache_dir, tmp_path,
                                                                                   capsys):
    avg, mean = str(tmp_path / "avg.exr"), str(tmp_path / "mean.exr")
    assert main(["average", tiny_shot["plates"], *TINY, "--select", "1001-1004", "--iterations", "2",
                 "--fine-tune", "3", "-o", avg, "--pixel-mean", mean]) == 0
    assert "average of 4 frames (1001-1004), 2 reprojections, after 3 fine-tuning steps" in capsys.readouterr().out
    a, m = open_shot(avg).read(open_shot(avg).frames[0]), open_shot(mean).read(open_shot(mean).frames[0])
    assert a.rgb.shape == m.rgb.shape == (64, 128, 3) and np.isfinite(a.rgb).all()
    plates = open_shot(tiny_shot["plates"])
    expected = np.mean([plates.read(f).rgb for f in range(1001, 1005)], axis=0)
    assert np.allclose(m.rgb, expected, atol=2e-3)  # the per-pixel mean, through a half-float file
    assert not np.allclose(a.rgb, m.rgb, atol=1e-2)  # the model's average is another picture
    capsys.readouterr()
    assert main(["info", avg]) == 0
    provenance = json.loads(capsys.readouterr().out)["header"]["provenance"]
    assert provenance["vsae:node"] == "average" and json.loads(provenance["vsae:parameters"])["fine_tune"] == 3
    assert main(["average", tiny_shot["plates"], *TINY, "--select", "999", "-o", str(tmp_path / "x.exr")]) == 2
    assert "--select: frame 999 is not a frame of" in capsys.readouterr().err


def test_align_matches_a_shot_to_itself_and_calls_a_frozen_shot_collapsed(tiny_shot, cache_dir, tmp_path, capsys):
    from vsae.core.demo.procedural import ProceduralShot

    matches = str(tmp_path / "self.json")
    assert main(["align", tiny_shot["plates"], "--model-from", tiny_shot["plates"], *TINY, "--matches", matches,
                 "-o", str(tmp_path / "aligned" / "a.####.exr")]) == 0
    report = json.loads(open(matches).read())
    same = sum(int(k) == v for k, v in report["matches"].items())
    assert same >= 10 and report["collapse"] < 0.2, report  # 12 frames, nearly all their own match
    assert len(os.listdir(tmp_path / "aligned")) == 12
    frozen = ProceduralShot(width=128, height=64, frames=1).write(str(tmp_path / "frozen"), inbetweens=False)
    still = open_shot(frozen["plates"]).read(1001)
    for n in range(1001, 1007):  # six copies of one frame: nothing moves, the map has nothing to spread over
        write_image(str(tmp_path / "held" / f"h.{n}.exr"), still)
    capsys.readouterr()
    assert main(["align", str(tmp_path / "held" / "h.####.exr"), "--model-from", tiny_shot["plates"], *TINY]) == 0
    held = json.loads(capsys.readouterr().out)
    assert held["collapse"] > 0.99 and held["unique_matches"] == pytest.approx(1 / 6, abs=1e-3)  # one match
