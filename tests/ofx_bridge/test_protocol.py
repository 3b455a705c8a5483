"""The shim <-> server wire format and the server's reading of a request, without a compiler or a host."""

import socket

import numpy as np
import pytest

from vsae.errors import ParameterError
from vsae.ofx_bridge.protocol import Message, ProtocolError, receive, send
from vsae.ofx_bridge.server import Request, frame_from_pixels, pixels_from_frame


def test_fields_with_tabs_newlines_and_backslashes_survive():
    msg = Message("render").add("param", "curve", "1001:1001,\n1100:1050\t\\x").add("empty")
    back = Message.decode(msg.encode()[4:])
    assert back.lines == msg.lines
    assert back.all("param") == [("curve", "1001:1001,\n1100:1050\t\\x")]
    assert back.get("missing", "d") == "d"


def test_messages_cross_a_socket_and_a_closed_peer_is_an_error():
    a, b = socket.socketpair()
    send(a, Message("ping").add("n", 1))
    assert receive(b).lines == [("op", "ping"), ("n", "1")]
    a.close()
    with pytest.raises(ProtocolError, match="closed"):
        receive(b)


def _render(*params, node="retime"):
    msg = Message("render").add("node", node).add("time", "1002").add("range", "1001", "1012")
    msg.add("connected", "source").add("size", "128", "64")
    for p in params:
        msg.add("param", *p)
    return Request(Message.decode(msg.encode()[4:]))


def test_a_request_is_validated_by_the_nodes_own_parameters():
    request = _render(("speed", "0.5"), ("input_first", ""), ("method", "latent"))
    assert request.params["speed"] == 0.5 and request.params["input_first"] is None  # empty = automatic
    assert request.source_frames == list(range(1001, 1013)) and request.time == 1002 and request.size == (128, 64)
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
