"""Training settings: what they accept, and which of them name a different model (the cache key)."""

import dataclasses

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


def test_training_options_are_read_from_one_table_for_the_cli_hosts_and_farm_jobs():
    from vsae.core.settings import TRAINING_OPTIONS, parse_training_options

    fields = {f.name for f in dataclasses.fields(TrainSettings)}
    assert {o.field for o in TRAINING_OPTIONS} <= fields
    s = parse_training_options("--steps 400 --budget 1h --half-width=16 --crop 0 --motion-fade none")
    assert (s.steps, s.budget_s, s.half_width, s.crop, s.motion_fade) == (400, None, 16, None, None)
    assert parse_training_options("") == TrainSettings()
    for text, message in (("--k x", "--k 'x': expected a whole number"), ("--bogus 1", "'--bogus': not one of"),
                          ("--loss l3", "--loss 'l3': expected one of"), ("--budget", "--budget: needs a value"),
                          ("--skip-scale 3", "skip_scale 3")):
        with pytest.raises(ParameterError, match=message):
            parse_training_options(text)
