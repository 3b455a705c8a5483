"""Data-parallel training: several processes train one shot's model on the batches one process would."""

import json

import numpy as np
import pytest
import torch

from tests.conftest import tiny_settings
from vsae.cli import main
from vsae.core.io.sequence import open_shot
from vsae.core.training.trainer import _Sampler, prepare_frames
from vsae.core.training.frames import load_training_frames
from vsae.errors import ParameterError


@pytest.fixture(scope="module")
def frames(tiny_shot):
    return load_training_frames(open_shot(tiny_shot["plates"]))


@pytest.mark.parametrize("crop,degrade", [(64, 0.0), (None, 0.0), (64, 0.5)])
def test_processes_share_out_the_batches_one_process_draws(frames, crop, degrade):
    settings = tiny_settings(batch=4, crop=crop, full_frame_every=3, degrade=degrade, degrade_kinds=("upres", "holes"))
    data = prepare_frames(frames)
    one = _Sampler(data, settings, np.random.default_rng(7))
    two = [_Sampler(data, settings, np.random.default_rng(7), rank=r, world=2) for r in (0, 1)]
    for step in range(6):  # crops, and full frames every third step; degraded inputs alike in every process
        whole = one.batch(step)
        parts = [s.batch(step) for s in two]
        assert all(len(p[0]) == 2 for p in parts)
        for k in (0, 1):  # inputs, targets
            torch.testing.assert_close(torch.cat([p[k] for p in parts]), whole[k], rtol=0, atol=0)


def _manifest(cache, capfd):
    key = capfd.readouterr().out.split()[1]
    with open(f"{cache}/models/{key}/manifest.json") as fh:
        return key, json.load(fh)


def test_two_processes_train_the_model_one_process_trains(tiny_shot, tmp_path, capfd):
    common = [tiny_shot["plates"], "--k", "8", "--steps", "80", "--batch", "2", "--crop", "128"]
    assert main(["train", *common, "--cache", str(tmp_path / "one")]) == 0
    key_one, one = _manifest(tmp_path / "one", capfd)
    assert main(["train", *common, "--cache", str(tmp_path / "two"), "--nproc", "2"]) == 0
    key_two, two = _manifest(tmp_path / "two", capfd)
    assert key_one == key_two  # how many processes trained it is not part of what the model is
    assert two["metrics"]["processes"] == 2 and one["metrics"]["processes"] == 1
    assert two["metrics"]["steps"] == one["metrics"]["steps"] == 80
    # The same batches and global batch-norm statistics: only the order of floating-point sums differs, which
    # Adam's first steps amplify (17.47 against 17.20 dB here; per-process batch norm gave 15.88).
    assert abs(two["metrics"]["train_psnr_db"] - one["metrics"]["train_psnr_db"]) < 0.75
    # A second run finds the model: every process ends at once, nothing trains.
    assert main(["train", *common, "--cache", str(tmp_path / "two"), "--nproc", "2"]) == 0
    assert _manifest(tmp_path / "two", capfd)[0] == key_two


def test_a_batch_that_does_not_split_is_refused_before_any_process_starts(tiny_shot, tmp_path, capfd):
    code = main(["train", tiny_shot["plates"], "--steps", "5", "--batch", "3", "--nproc", "2",
                 "--cache", str(tmp_path / "c")])
    assert code == ParameterError.exit_code
    assert "--batch 3: must be a multiple of --nproc 2" in capfd.readouterr().err
    assert not (tmp_path / "c").exists()


def test_machines_meeting_through_a_file_say_so_when_the_first_never_comes(tiny_shot, tmp_path, capfd):
    meeting = str(tmp_path / "rendezvous" / "job.json")
    common = ["train", tiny_shot["plates"], "--steps", "5", "--cache", str(tmp_path / "c"), "--nnodes", "2",
              "--rdzv-file", meeting]
    assert main([*common, "--rdzv-timeout", "1"]) == ParameterError.exit_code  # no --node-rank: refused at once
    assert "needs --nnodes N (2 or more) and this machine's --node-rank" in capfd.readouterr().err
    assert main([*common, "--node-rank", "1", "--rdzv-timeout", "1"]) == 5
    assert "machine 0 of the training did not write its address within 1 s" in capfd.readouterr().err


def test_the_first_machine_publishes_an_address_the_others_read(tmp_path, monkeypatch):
    from vsae.core.training.data_parallel import publish_address, read_address

    monkeypatch.setenv("VSAE_TRAIN_ADDRESS", "trainer-07.farm")
    path = str(tmp_path / "rendezvous" / "job.json")
    address = publish_address(path)
    host, port = address.rsplit(":", 1)
    assert host == "trainer-07.farm" and 0 < int(port) < 65536
    assert read_address(path, timeout_s=1) == address
