"""The shim <-> server wire format, without a compiler or a host."""

import socket

import pytest

from vsae.ofx_bridge.protocol import Message, ProtocolError, receive, send


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
