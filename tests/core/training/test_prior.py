"""Priors: the shipped one (procedural footage only), sequence priors built from a show's shots, and shots that
start from them."""

import json
import struct

import numpy as np

from tests.conftest import tiny_settings
from vsae.cli import main
from vsae.core import colour
from vsae.core.training.prior import SHIPPED, load_prior
from vsae.core.training.prior_footage import LayeredShot
from vsae.core.demo.procedural import ProceduralShot
from vsae.core.settings import ModelConfig
from vsae.core.model.shot_model import ShotModel
from vsae.core.training.trainer import train
from vsae.errors import ParameterError


def test_procedural_footage_is_a_different_moving_scene_for_every_seed():
    a = LayeredShot(width=128, height=64, frames=3, seed=3).frames_linear()
    again = LayeredShot(width=128, height=64, frames=3, seed=3).frames_linear()
    other = LayeredShot(width=128, height=64, frames=3, seed=4).frames_linear()
    assert np.array_equal(a, again)
    assert np.isfinite(a).all() and a.min() >= 0
    assert np.abs(a[0] - other[0]).mean() > 0.02
    assert np.abs(a[2] - a[0]).mean() > 1e-3  # the camera or something in the scene moves


def test_the_shipped_prior_loads_without_pickle_and_names_its_sources():
    path = SHIPPED["procedural"]
    with open(path, "rb") as fh:  # safetensors: a length, a JSON header, raw tensors; nothing to unpickle
        (size,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(size))
    assert "__metadata__" in header
    prior = load_prior("procedural")
    assert prior.config == ModelConfig()  # the default model: every default shot can start from it
    manifest = prior.meta["prior"]
    with open(path.replace(".safetensors", ".json")) as fh:
        assert json.load(fh) == manifest
    assert manifest["sources"] and all(s["licence"] for s in manifest["sources"])
    assert not any("davis" in json.dumps(s).lower() for s in manifest["sources"])  # never non-commercial footage
    assert manifest["command"].startswith("vsae prior train")


def _held_out_psnr(state, shot, frames):
    model = ShotModel(ModelConfig(), state, backend="torch")
    scores = []
    for i in range(1, len(frames), 2):
        x = frames[i].transpose(2, 0, 1)[None].astype(np.float32)
        y = model.reproject(x)
        scores.append(10 * np.log10(4.0 / np.mean((y - x) ** 2)))
    return float(np.mean(scores))


def test_a_shot_started_from_the_shipped_prior_beats_the_same_steps_from_random_weights():
    shot = ProceduralShot(width=128, height=64, frames=12, seed=5)
    frames = np.stack([colour.to_working(shot.render(float(t))[0]) for t in range(12)]).astype(np.float16)
    settings = tiny_settings(k=32, steps=40, crop=None)
    scratch = train(frames[0::2], settings)
    warm = train(frames[0::2], settings, init_state=load_prior("procedural").state)
    # Scored on the odd frames, which neither model saw.
    assert _held_out_psnr(warm.state_dict, shot, frames) > _held_out_psnr(scratch.state_dict, shot, frames) + 1.0


def test_a_sequence_prior_from_a_shows_shots_starts_each_shot(tiny_shot, tmp_path, capfd):
    prior = str(tmp_path / "seq010.safetensors")
    assert main(["prior", "train", tiny_shot["plates"], "--k", "4", "--steps", "5", "--licence", "show-owned",
                 "-o", prior]) == 0
    manifest = ShotModel.load(prior).meta["prior"]
    assert manifest["sources"][0]["licence"] == "show-owned" and manifest["steps"] == 5
    cache = str(tmp_path / "cache")
    assert main(["train", tiny_shot["plates"], "--k", "4", "--steps", "5", "--init-from", prior,
                 "--cache", cache]) == 0
    assert main(["train", tiny_shot["plates"], "--k", "4", "--steps", "5", "--cache", cache]) == 0
    keys = [line.split()[1] for line in capfd.readouterr().out.splitlines() if line.startswith("model ")]
    assert len(keys) == 2 and keys[0] != keys[1]  # started elsewhere: another model, another cache entry


def test_a_prior_of_another_shape_is_refused_in_one_line(tiny_shot, tmp_path, capfd):
    code = main(["train", tiny_shot["plates"], "--k", "8", "--steps", "5", "--init-from", "procedural",
                 "--cache", str(tmp_path / "c")])
    assert code == ParameterError.exit_code
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--init-from" in err[0]


def test_a_prior_needs_something_to_learn_from(tmp_path, capfd):
    assert main(["prior", "train", "-o", str(tmp_path / "p.safetensors")]) == ParameterError.exit_code
    assert "at least one shot, or --procedural" in capfd.readouterr().err
