"""core.model_ref: the one answer to "which model renders this?" for the CLI, the render server and benchmarks."""

import numpy as np
import pytest

from tests.conftest import tiny_settings
from vsae.core.cache import ModelCache
from vsae.core.model_ref import ModelRef, resolve, resolve_entry
from vsae.errors import ModelNotFound, ParameterError


def test_a_ref_names_a_key_or_plates():
    with pytest.raises(ParameterError, match="cache key or the plates"):
        ModelRef()


def test_plates_and_settings_train_once_then_the_key_finds_the_same_model(tiny_shot, cache_dir):
    cache = ModelCache(cache_dir)
    by_plates = ModelRef(shot=tiny_shot["plates"], settings=tiny_settings())
    with pytest.raises(ModelNotFound):
        resolve_entry(by_plates, cache, train=False)
    entry = resolve_entry(by_plates, cache)
    assert resolve_entry(by_plates, cache, train=False).key == entry.key  # found, not trained again
    other = resolve_entry(ModelRef(shot=tiny_shot["plates"], settings=tiny_settings(seed=1)), cache)
    assert other.key != entry.key  # the settings are part of the key: the server no longer assumes defaults
    x = np.zeros((1, 3, 64, 128), np.float32)
    a = resolve(by_plates, cache, train=False, backend="torch").reproject(x)
    b = resolve(ModelRef(key=entry.key[:8]), cache, backend="torch").reproject(x)
    assert np.array_equal(a, b)
