import numpy as np
import pytest
import torch

from tests.conftest import tiny_settings
from vsae.core.io.sequence import open_shot
from vsae.core.settings import parse_duration
from vsae.core.training.trainer import train
from vsae.core.training.frames import load_training_frames
from vsae.errors import ParameterError


@pytest.fixture(scope="module")
def frames(tiny_shot):
    return load_training_frames(open_shot(tiny_shot["plates"]))


def test_training_frames_are_compact_working_values(frames):
    assert frames.dtype == np.float16 and frames.shape == (12, 64, 128, 3)
    assert np.abs(frames).max() < 1.0


def test_training_lowers_the_loss(frames):
    short = train(frames, tiny_settings(steps=2))
    longer = train(frames, tiny_settings(steps=60, k=8))
    assert longer.metrics["train_psnr_db"] > short.metrics["train_psnr_db"] + 3


def test_same_seed_same_weights(frames):
    a = train(frames, tiny_settings())
    b = train(frames, tiny_settings())
    for k in a.state_dict:
        assert torch.equal(a.state_dict[k], b.state_dict[k]), k


def test_with_a_reprojection_skip_the_latent_path_still_learns_to_decode(frames):
    from vsae.core.model.shot_model import ShotModel

    settings = tiny_settings(k=8, steps=60, skip_scale=16)
    x = frames[:4].transpose(0, 3, 1, 2).astype(np.float32)

    def latent_psnr(state):
        model = ShotModel(settings.model_config, state, backend="torch")
        return 10 * np.log10(4.0 / np.mean((model.decode(*model.encode(x)) - x) ** 2)), model  # working range

    before, _ = latent_psnr(train(frames, tiny_settings(k=8, steps=1, skip_scale=16)).state_dict)
    after, model = latent_psnr(train(frames, settings).state_dict)
    assert after > before + 3  # half the frames of every batch trained the latent path alone
    assert np.abs(model.reproject(x) - model.decode(*model.encode(x))).max() > 1e-2  # and the skip was used


def test_stopped_run_resumes_to_the_same_model(frames, tmp_path):
    ckpt = str(tmp_path / "ckpt.safetensors")
    straight = train(frames, tiny_settings(steps=20))
    calls = {"n": 0}

    def stop_after_8():
        calls["n"] += 1
        return calls["n"] == 8

    with pytest.raises(InterruptedError):
        train(frames, tiny_settings(steps=20), checkpoint_path=ckpt, should_stop=stop_after_8)
    resumed = train(frames, tiny_settings(steps=20), checkpoint_path=ckpt)
    assert resumed.steps == 20
    for k in straight.state_dict:
        torch.testing.assert_close(resumed.state_dict[k], straight.state_dict[k], rtol=1e-5, atol=1e-6)


def test_checkpoint_of_other_settings_is_refused(frames, tmp_path):
    ckpt = str(tmp_path / "ckpt.safetensors")
    with pytest.raises(InterruptedError):
        train(frames, tiny_settings(steps=20), checkpoint_path=ckpt, should_stop=lambda: True)
    with pytest.raises(ParameterError, match="other settings"):
        train(frames, tiny_settings(steps=20, lr=1e-3), checkpoint_path=ckpt)


def test_warm_start_needs_matching_shape(frames):
    donor = train(frames, tiny_settings(k=8))
    train(frames, tiny_settings(k=8), init_state=donor.state_dict)
    with pytest.raises(ParameterError, match="do not fit"):
        train(frames, tiny_settings(k=4), init_state=donor.state_dict)


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("300", 300)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "0s", "-5m"])
def test_bad_durations(bad):
    with pytest.raises(ParameterError):
        parse_duration(bad)


@pytest.mark.parametrize("field,value", [("batch", 0), ("crop", 100), ("loss", "ssim"), ("train_scale", 1.5),
                                         ("steps", 0)])
def test_bad_settings(field, value):
    with pytest.raises(ParameterError):
        tiny_settings(**{field: value})


def test_motion_weight_counts_errors_on_moving_pixels_more():
    from vsae.core.training.trainer import _loss

    mean = torch.zeros(1, 3, 8, 8)
    x = torch.zeros(1, 3, 8, 8)
    x[..., :2, :2] = 0.5  # something that moved in: far from the shot's mean frame
    on_moving, on_static = x.clone(), x.clone()
    on_moving[..., 0, 0] += 0.1
    on_static[..., 7, 7] += 0.1
    plain = tiny_settings()
    weighted = tiny_settings(motion_weight=4.0)
    assert torch.isclose(_loss(plain, on_moving, x), _loss(plain, on_static, x))
    assert _loss(weighted, on_moving, x, mean) > 2 * _loss(weighted, on_static, x, mean)


def test_motion_weight_fades_out_by_the_fraction_set():
    from vsae.core.training.trainer import motion_weight_at

    fading = tiny_settings(motion_weight=4.0, motion_fade=0.5)
    assert [motion_weight_at(fading, d) for d in (0.0, 0.25, 0.5, 0.9)] == [4.0, 2.0, 0.0, 0.0]
    held = tiny_settings(motion_weight=4.0, motion_fade=None)
    assert motion_weight_at(held, 0.9) == 4.0
