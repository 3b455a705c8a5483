import numpy as np
import pytest
import torch

from vsae.core.model.autoencoder import ModelConfig, ShotAutoencoder, crop_padding, pad_to_stride
from vsae.core.model.padding import pad_array
from vsae.errors import ParameterError


@pytest.mark.parametrize("h,w", [(64, 64), (1, 1), (37, 101), (270, 480), (480, 854), (65, 127)])
def test_pad_crop_round_trip_is_exact(h, w):
    x = torch.randn(2, 3, h, w)
    padded, pads = pad_to_stride(x)
    assert padded.shape[-2] % 64 == 0 and padded.shape[-1] % 64 == 0
    assert torch.equal(crop_padding(padded, pads), x)


@pytest.mark.parametrize("h,w", [(37, 101), (2, 70), (128, 192)])
def test_numpy_padding_matches_torch(h, w):
    x = np.random.default_rng(0).normal(size=(1, 3, h, w)).astype(np.float32)
    a, pads_a = pad_array(x)
    b, pads_b = pad_to_stride(torch.from_numpy(x))
    assert pads_a == pads_b
    np.testing.assert_array_equal(a, b.numpy())


@pytest.mark.parametrize("arch", ["fast", "paper"])
def test_latent_contract_12k_by_h64_by_w64(arch):
    model = ShotAutoencoder(ModelConfig(arch=arch, k=4)).eval()
    x = torch.zeros(1, 3, 128, 256)
    with torch.no_grad():
        z = model.encode(x)
        y = model.decode(z)
    assert tuple(z.shape) == (1, 48, 2, 4)
    assert tuple(y.shape) == (1, 3, 128, 256)
    assert y.abs().max() < 1.0


def test_bad_config_is_refused():
    with pytest.raises(ParameterError, match="arch"):
        ModelConfig(arch="unet")
    with pytest.raises(ParameterError, match="k 2"):
        ModelConfig(k=2)


def test_half_resolution_stages_keep_the_latent_and_the_six_pixel_code_stages():
    model = ShotAutoencoder(ModelConfig(k=4, half_width=5)).eval()
    x = torch.randn(1, 3, 128, 256)
    with torch.no_grad():
        z, first = model.encode(x), model.hypercolumn_layers()[0](x)
        y = model.decode(z)
    assert tuple(z.shape) == (1, 48, 2, 4) and y.shape == x.shape
    assert len(model.hypercolumn_layers()) == 6 and tuple(first.shape[-2:]) == (32, 64)  # first code stage: h/4
    at_half = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.out_channels == 5]
    assert len(at_half) == 2  # one stage at h/2 in the stem, one in the output


def test_reprojection_skip_starts_as_the_latent_path_and_only_reprojection_uses_it():
    torch.manual_seed(0)
    model = ShotAutoencoder(ModelConfig(k=4, skip_scale=8))
    x = torch.rand(2, 3, 64, 128) * 2 - 1
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model.decode(model.encode(x)))  # a new model: the skip adds nothing
    model.train()
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(5):
        loss = (model(x, torch.ones(2)) - x).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        latent_path = model.decode(model.encode(x))
        assert (model(x) - latent_path).abs().max() > 1e-3  # trained, reprojection carries the finer features
        assert torch.equal(model(x, torch.zeros(2)), latent_path)  # dropped: the latent alone


def test_model_options_that_do_not_apply_are_refused():
    with pytest.raises(ParameterError, match="half_width"):
        ModelConfig(arch="paper", half_width=16)
    with pytest.raises(ParameterError, match="skip_scale 64"):
        ModelConfig(skip_scale=64)
