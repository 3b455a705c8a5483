"""The wire format between the OFX shim and the render server, kept small enough to read and write in plain C.

A message is a 4-byte little-endian length, then that many bytes of UTF-8 text: lines of tab-separated fields, the
first field a key (``op``, ``param``, ``input`` ...); keys may repeat. Backslash, tab and newline inside a field are
escaped as ``\\\\``, ``\\t``, ``\\n``. Pixels never travel here: they go through POSIX shared memory
(``/dev/shm/<name>``), float32 RGBA rows top to bottom, named in the message.

Ops, shim -> server: ``render``, ``frames_needed``, ``region``, ``time_domain``, ``forget`` (an instance's state),
``ping``; during a render ``image`` (the answer to a ``fetch``, or ``abort``) and ``ack``. Server -> shim:
``fetch``, ``wait`` (a keep-alive while work goes on), ``done``, ``frames``, ``region``, ``time_domain``, ``ok``,
``pong``, ``error``.
"""

from __future__ import annotations

import os
import socket
import struct

from vsae.errors import MalformedMessage, ProtocolError

MAX_MESSAGE = 16 << 20  # control messages are small; a longer length means a broken peer
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n"}
_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n"}


def _escape(field) -> str:
    return "".join(_ESCAPES.get(c, c) for c in str(field))


def _unescape(field: str) -> str:
    out, i = [], 0
    while i < len(field):
        c = field[i]
        if c == "\\" and i + 1 < len(field):
            out.append(_UNESCAPES.get(field[i + 1], field[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


class Message:
    """An ordered list of lines, each a key and its fields. ``m["op"]`` is the first field of the first ``op`` line."""

    def __init__(self, op: str, *lines):
        self.lines: list[tuple[str, ...]] = [("op", op)]
        for line in lines:
            self.add(*line)

    def add(self, key: str, *fields) -> Message:
        self.lines.append((key, *(str(f) for f in fields)))
        return self

    @property
    def op(self) -> str:
        return self["op"]

    def all(self, key: str) -> list[tuple[str, ...]]:
        """The fields (without the key) of every line with this key."""
        return [line[1:] for line in self.lines if line[0] == key]

    def get(self, key: str, default=None):
        found = self.all(key)
        return found[0][0] if found and found[0] else default

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise ProtocolError(f"message {self.lines[0][1] if self.lines else '?'}: no {key!r} line")
        return value

    def encode(self) -> bytes:
        body = "".join("\t".join(_escape(f) for f in line) + "\n" for line in self.lines).encode("utf-8")
        return struct.pack("<I", len(body)) + body

    @classmethod
    def decode(cls, body: bytes) -> Message:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessage(f"message is not UTF-8 (byte {exc.start})") from None
        msg = cls.__new__(cls)
        msg.lines = [tuple(_unescape(f) for f in line.split("\t")) for line in text.split("\n") if line]
        if not msg.lines or msg.lines[0][0] != "op" or len(msg.lines[0]) < 2:
            raise MalformedMessage("a message must start with an op line")
        return msg

    def __repr__(self) -> str:
        return f"Message({self.lines!r})"


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        try:
            chunk = sock.recv(n - got)
        except socket.timeout:
            raise ProtocolError("timed out waiting for the peer") from None
        except OSError as exc:
            raise ProtocolError(f"connection lost: {exc}") from None
        if not chunk:
            raise ProtocolError("the peer closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket) -> Message:
    (length,) = struct.unpack("<I", _recv_exact(sock, 4))
    if length > MAX_MESSAGE:
        raise ProtocolError(f"message of {length} bytes: too long")
    return Message.decode(_recv_exact(sock, length))


def send(sock: socket.socket, message: Message) -> None:
    try:
        sock.sendall(message.encode())
    except OSError as exc:
        raise ProtocolError(f"connection lost: {exc}") from None


def private_folder(folder: str) -> str:
    """Make ``folder`` (mode 0700) if it is missing, then check that only this user can enter it: a real folder (not
    a symlink), owned by this user, no access for group or others. Never changes a folder it did not make. Returns
    the folder; raises ParameterError naming it and what is wrong."""
    import stat

    from vsae.errors import ParameterError

    try:
        os.makedirs(os.path.dirname(os.path.abspath(folder)), exist_ok=True)
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ParameterError(f"socket folder {folder}: cannot create it ({exc.strerror})") from None
    st = os.lstat(folder)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise ParameterError(f"socket folder {folder}: is a symlink or not a folder; refusing it (remove it, or set "
                             f"VSAE_SOCKET to a path in a folder only you can enter)")
    if st.st_uid != os.getuid():
        raise ParameterError(f"socket folder {folder}: owned by uid {st.st_uid}, not by you (uid {os.getuid()}); "
                             f"refusing it (set VSAE_SOCKET or XDG_RUNTIME_DIR to a folder of yours)")
    if st.st_mode & 0o077:
        raise ParameterError(f"socket folder {folder}: others can enter it (mode {stat.S_IMODE(st.st_mode):o}); "
                             f"use a folder only you can enter (mode 700)")
    return folder


def default_socket_path() -> str:
    """``$VSAE_SOCKET``, else a socket in a folder only this user can enter (the runtime dir, or /tmp/vsae-UID)."""
    if os.environ.get("VSAE_SOCKET"):
        return os.environ["VSAE_SOCKET"]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    folder = os.path.join(runtime, "vsae") if runtime else f"/tmp/vsae-{os.getuid()}"
    return os.path.join(folder, "serve.sock")
