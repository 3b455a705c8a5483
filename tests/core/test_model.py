import numpy as np
import pytest
import torch

from vsae.core.model import ModelConfig, ShotAutoencoder, crop_padding, pad_to_stride
from vsae.core.padding import pad_array
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
