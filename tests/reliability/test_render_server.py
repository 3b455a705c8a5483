"""The render server in shared places: it never removes or empties what it did not create, refuses folders, lock
files and segments that are not privately its user's, and bounds what one request may cost (issue 13: items 2, 5,
6, 12). Each test starts a private server in a folder of its own."""

import os
import socket
import struct
import threading
import time

import numpy as np
import pytest

from vsae.cli import main
from vsae.errors import ParameterError
from vsae.ofx_bridge import server, shared_memory
from vsae.ofx_bridge.protocol import Message, ProtocolError, private_folder, receive, send

from tests.reliability.shared_places import give_to_another_user


def _private(tmp_path, name="run"):
    folder = tmp_path / name
    folder.mkdir(mode=0o700)
    return folder


# --- 2. the socket path ---------------------------------------------------------------------------------------------


def test_a_file_at_the_socket_path_is_never_removed(tmp_path, capsys):
    plate = _private(tmp_path) / "plate.0001.exr"
    plate.write_bytes(b"a plate")
    assert main(["serve", "--socket", str(plate), "--idle", "1s"]) == 2
    assert "exists and is not a socket of yours; refusing to remove it" in capsys.readouterr().err
    assert plate.read_bytes() == b"a plate"


def test_a_folder_others_can_enter_is_refused_and_left_as_it_was(tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    project.mkdir()
    os.chmod(project, 0o755)
    monkeypatch.chdir(project)
    assert main(["serve", "--socket", "serve.sock", "--idle", "1s"]) == 2  # a bare name: the current folder
    assert "others can enter it (mode 755)" in capsys.readouterr().err
    assert os.stat(project).st_mode & 0o777 == 0o755 and os.listdir(project) == []


# --- 5. the socket folder and its lock ------------------------------------------------------------------------------


def test_a_socket_folder_of_another_user_is_refused(tmp_path):
    folder = _private(tmp_path, "vsae-0")
    give_to_another_user(str(folder))  # another user made /tmp/vsae-<uid> first
    with pytest.raises(ParameterError, match="owned by uid 65534, not by you"):
        server.serve(str(folder / "serve.sock"), idle_s=1)
    assert os.listdir(folder) == []


def test_a_symlinked_socket_folder_is_refused(tmp_path):
    target = _private(tmp_path, "elsewhere")
    os.symlink(target, tmp_path / "vsae-link")
    with pytest.raises(ParameterError, match="is a symlink or not a folder"):
        private_folder(str(tmp_path / "vsae-link"))
    made = private_folder(str(tmp_path / "new" / "vsae"))  # a missing folder is made, private
    assert os.stat(made).st_mode & 0o777 == 0o700


def test_a_symlinked_lock_file_never_empties_its_target(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("someone's work")
    folder = _private(tmp_path)
    os.symlink(victim, folder / "serve.sock.lock")
    with pytest.raises(ParameterError, match="cannot open the server's lock file"):
        server.serve(str(folder / "serve.sock"), idle_s=1)
    assert victim.read_text() == "someone's work"


# --- 6. shared memory -----------------------------------------------------------------------------------------------


@pytest.fixture
def segment():
    """A shared-memory segment name of this test's, removed afterwards."""
    name = f"/vsae-h{os.getpid()}-test-{os.urandom(4).hex()}"
    yield name
    for path in ("/dev/shm" + name, "/dev/shm" + name + "-link"):
        if os.path.lexists(path):
            os.unlink(path)


def _make_segment(name, mode=0o600, values=(1.0, 2.0, 3.0, 4.0)):
    path = "/dev/shm" + name
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    os.write(fd, np.asarray(values, np.float32).tobytes())
    os.close(fd)
    os.chmod(path, mode)
    return path


def test_only_private_segments_of_this_user_are_read(segment):
    path = _make_segment(segment)
    assert shared_memory.read_segment(segment, 1, 1, 4).tolist() == [[[1.0, 2.0, 3.0, 4.0]]]
    os.symlink(path, path + "-link")
    with pytest.raises(ProtocolError, match="cannot open"):
        shared_memory.read_segment(segment + "-link", 1, 1, 4)
    os.chmod(path, 0o644)
    with pytest.raises(ProtocolError, match="not a private segment"):
        shared_memory.read_segment(segment, 1, 1, 4)
    os.chmod(path, 0o600)
    give_to_another_user(path)
    with pytest.raises(ProtocolError, match="not a private segment"):
        shared_memory.read_segment(segment, 1, 1, 4)


def test_output_segment_names_cannot_be_guessed():
    state = server.RenderServer()
    names = [state.output_segment((2, 2, 4))[0] for _ in range(3)]
    assert len(set(names)) == 3
    assert all(len(n.rsplit("-", 1)[1]) == 24 for n in names)  # 96 random bits each, no counter to predict


# --- a private server, spoken to as a hostile client would ----------------------------------------------------------


@pytest.fixture
def live_server(tmp_path):
    """(socket path, thread) of a server with a 1.5 s idle time-out, running in this process."""
    path = str(_private(tmp_path) / "serve.sock")
    ready = threading.Event()
    thread = threading.Thread(target=server.serve, args=(path, 1.5, ready.set), daemon=True)
    thread.start()
    assert ready.wait(30)
    yield path, thread
    thread.join(30)


def _connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def _raw(s, body: bytes) -> Message:
    s.sendall(struct.pack("<I", len(body)) + body)
    return receive(s)


def test_a_message_that_is_not_utf8_gets_an_error_and_the_connection_lives(live_server):
    with _connect(live_server[0]) as s:
        reply = _raw(s, b"op\trender\nnode\t\xff\xfe\n")
        assert reply.op == "error" and "not UTF-8" in reply["message"]
        assert _raw(s, b"op\n").op == "error"  # an op line without an op
        send(s, Message("ping"))
        assert receive(s).op == "pong"


@pytest.mark.parametrize("lines, message", [
    ([("range", 0, 10_000_000)], "more than 1000000 frames"),
    ([("range", 1, 10), ("size", 10 ** 6, 10 ** 6)], "out of bounds"),
])
def test_a_request_that_would_cost_too_much_is_refused_at_once(live_server, lines, message):
    request = Message("time_domain", ("node", "retime"), *lines)
    start = time.monotonic()
    with _connect(live_server[0]) as s:
        send(s, request)
        reply = receive(s)
    assert reply.op == "error" and message in reply["message"], reply
    assert time.monotonic() - start < 2.0


def test_a_long_clip_at_a_slow_speed_costs_no_frame_list(live_server):
    start = time.monotonic()
    with _connect(live_server[0]) as s:
        send(s, Message("time_domain", ("node", "retime"), ("param", "speed", "0.01"), ("range", 1, 999_999)))
        reply = receive(s)
    assert reply.op == "time_domain" and reply.all("range")[0] == ("1", str(1 + 999_998 * 100))
    assert time.monotonic() - start < 2.0  # a list of 100 million frames would take many seconds and 3.6 GB


def test_an_idle_connection_is_closed_and_the_server_exits(live_server):
    path, thread = live_server
    with _connect(path) as s:
        start = time.monotonic()
        assert s.recv(1) == b""  # closed by the server, not by us
        assert 1.0 < time.monotonic() - start < 8.0
    thread.join(15)
    assert not thread.is_alive()
