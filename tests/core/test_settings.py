"""Training settings: what they accept, and which of them name a different model (the cache key)."""

import pytest

from vsae.core.settings import TrainSettings
from vsae.errors import ParameterError


def test_options_added_later_keep_the_keys_of_models_cached_before_them():
    key = TrainSettings().key_dict()
    assert "half_width" not in key and "skip_scale" not in key and key["degrade_kinds"] is None
    assert TrainSettings(half_width=16).key_dict()["half_width"] == 16
    assert TrainSettings(skip_scale=8).key_dict() != key


def test_settings_that_only_change_how_a_run_is_watched_or_spread_are_not_in_the_key():
    assert TrainSettings(nproc=2, eval_frames=3, checkpoint_every_s=5).key_dict() == TrainSettings().key_dict()


def test_model_options_are_checked_when_the_settings_are_made():
    with pytest.raises(ParameterError, match="skip_scale 3"):
        TrainSettings(skip_scale=3)
    with pytest.raises(ParameterError, match="half_width"):
        TrainSettings(arch="paper", half_width=8)
