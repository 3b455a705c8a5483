"""The render server's side of a request, in process: parameters, pixels, models (no compiler, no host)."""

import numpy as np
import pytest

from vsae.core.cache import ModelCache
from vsae.errors import ModelNotFound, ParameterError
from vsae.ofx_bridge.protocol import Message
from vsae.ofx_bridge.host_pixels import frame_from_pixels, pixels_from_frame
from vsae.ofx_bridge.server import RenderServer, Request


def _render(*params, node="retime"):
    msg = Message("render").add("node", node).add("time", "1002").add("range", "1001", "1012")
    msg.add("connected", "source").add("size", "128", "64")
    for p in params:
        msg.add("param", *p)
    return Request(Message.decode(msg.encode()[4:]))


def test_a_request_is_validated_by_the_nodes_own_parameters():
    request = _render(("speed", "0.5"), ("input_first", ""), ("method", "latent"))
    assert request.params["speed"] == 0.5 and request.params["input_first"] is None  # empty = automatic
    assert list(request.source_frames) == list(range(1001, 1013)) and request.time == 1002 and request.size == (128, 64)
    with pytest.raises(ParameterError, match="speed 0.0: below the minimum"):
        _render(("speed", "0"))
    with pytest.raises(ParameterError, match="not a vsae node"):
        _render(node="sharpen")


def test_host_pixels_become_the_frame_the_cli_would_read():
    rgba = np.array([[[0.2, 0.4, 0.1, 0.5], [0.0, 0.0, 0.0, 0.0]]], np.float32)
    frame = frame_from_pixels(rgba, premultiplied=True)
    np.testing.assert_allclose(frame.rgb[0, 0], [0.4, 0.8, 0.2])  # straight colour inside
    np.testing.assert_allclose(pixels_from_frame(frame), rgba, atol=1e-7)  # premultiplied again on the way out
    matte = frame_from_pixels(np.full((2, 3, 1), 0.25, np.float32), premultiplied=True)
    assert matte.alpha.shape == (2, 3, 1) and matte.rgb.shape == (2, 3, 3)


def test_a_missing_model_is_trained_only_when_the_instance_asks(tiny_shot, cache_dir):
    tiny = "--steps 12 --k 4 --batch 2 --crop 64 --checkpoint-every 3600"  # VSAE Training: seconds, not minutes
    msg = Message("render").add("node", "retime").add("range", "1001", "1012").add("shot", tiny_shot["plates"])
    msg.add("training", tiny)
    state = RenderServer()
    with pytest.raises(ModelNotFound, match="train one with `vsae train`.*VSAE Train"):
        state.shot_model(Request(msg))
    msg.add("train", "1")
    model = state.shot_model(Request(msg))
    assert state.shot_model(Request(msg)) is model  # kept loaded for the next render
    msg.lines[-1] = ("train", "0")
    assert state.shot_model(Request(msg)) is model  # and found without training from now on


def test_the_instance_s_training_options_choose_the_model(tiny_shot, cache_dir):
    """The host's VSAE Training line is part of which model renders: other settings are another model (the server
    no longer assumes the defaults), and a bad option is named."""
    msg = Message("render").add("node", "retime").add("range", "1001", "1012").add("shot", tiny_shot["plates"])
    msg.add("train", "1").add("training", "--steps 12 --k 4 --batch 2 --crop 64")
    state = RenderServer()
    first = state.shot_model(Request(msg))
    msg.lines[-1] = ("training", "--steps 12 --k 4 --batch 2 --crop 64 --seed 1")
    assert state.shot_model(Request(msg)) is not first
    msg.lines[-1] = ("training", "--k four")
    with pytest.raises(ParameterError, match="vsae_training: --k 'four': expected a whole number"):
        state.shot_model(Request(msg))
    key = ModelCache(None).keys()[0]
    msg.add("model", key)  # VSAE Model names one model whole: the training line is not read
    assert state.shot_model(Request(msg)) is not None


