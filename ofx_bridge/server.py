"""The render server the OFX shim talks to (``vsae serve``): one process per user, shared by every plugin instance and
host render thread, that keeps shot models loaded between renders.

Control runs over a Unix socket only its user can open (its folder 0700, the socket 0600); pixels through POSIX shared
memory (see ``protocol``). A render is a conversation: the shim sends ``render`` with the node, its parameters and
the clips' frame range; the node renders through a ``RenderContext`` whose ``fetch`` asks the shim for each source
frame it reads (the shim fetches it from the host and puts it in shared memory); the server answers ``done`` with the
output in a segment of its own, unlinked once the shim acknowledges. While a render works the server sends ``wait``
every few seconds, so the shim can tell a long render from a dead server and poll the host's abort meanwhile.

Renders run the node definitions the CLI runs, on the same pixels, so a frame rendered through a host matches the
CLI's (tests/ofx_bridge). A missing shot model is trained only when the instance asks for it (its ``VSAE Train``
parameter); otherwise the error tells the artist how to train it.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import secrets
import signal
import socket
import socketserver
import stat
import sys
import threading
import time
from collections import OrderedDict

import numpy as np

from vsae.core.io.sequence import check_colorspace, from_scene_linear, to_scene_linear
from vsae.core.model.inference import LatentCache
from vsae.errors import Aborted, InputError, ParameterError, VsaeError
from vsae.ofx_bridge.host_pixels import frame_from_pixels, pixel_encoding, pixels_from_frame
from vsae.ofx_bridge.protocol import (MalformedMessage, Message, ProtocolError, default_socket_path, private_folder,
                                      receive, send)
from vsae.ofx_bridge.shared_memory import (check_image_size, new_segment, read_segment, remove_stale_segments,
                                           unlink_segment)

KEEPALIVE_S = 2.0  # the shim's per-message time-out is far longer; this only proves the server is alive
REPLY_TIMEOUT_S = 120.0  # how long a server waits for the shim's frames (hosts may decode slowly)
LATENT_CACHE = 512  # latents of source frames kept across renders (a few MB at 512x256)
# Bounds on what one request may ask for: a clip of a million frames (11 hours at 24 fps); frame sides are bounded
# in shared_memory.
MAX_CLIP_FRAMES = 1_000_000


class Request:
    """A render, frames_needed or region request, parsed and validated by the node's own parameters."""

    def __init__(self, msg: Message):
        from vsae.plugin.nodes import NODES, load_node

        name = msg["node"]
        if name not in NODES:
            raise ParameterError(f"node {name!r}: not a vsae node (this bridge knows {', '.join(NODES)})")
        self.node = load_node(name)
        raw = {}
        for fields in msg.all("param"):
            pname, value = fields[0], (fields[1] if len(fields) > 1 else "")
            if value == "" and self.node.param(pname).default is None:
                value = None  # an empty field of an "automatic" parameter
            raw[pname] = value
        self.params = self.node.resolve(raw)
        self.scale = float(msg.get("scale", "1"))
        if self.scale != 1.0:  # a proxy render: lengths in pixels shrink with the frames
            self.params = self.node.at_scale(self.params, self.scale)
        first, last = (int(round(float(v))) for v in msg.all("range")[0][:2])
        if last < first:
            raise InputError(f"source clip: frame range {first}-{last} is empty")
        if last - first + 1 > MAX_CLIP_FRAMES:
            raise InputError(f"source clip: frame range {first}-{last} holds more than {MAX_CLIP_FRAMES} frames")
        self.source_frames = range(first, last + 1)  # lazy: a long clip costs no list
        self.connected = frozenset(f[0] for f in msg.all("connected") if f)
        self.time = int(round(float(msg.get("time", first))))
        size = msg.all("size")
        self.size = (int(size[0][0]), int(size[0][1])) if size else None
        if self.size is not None:
            check_image_size(*self.size, "size")
        self.instance = msg.get("instance", "")
        self.model_ref = (msg.get("model", ""), msg.get("shot", ""), msg.get("plate_frames", ""),
                          msg.get("training", ""))
        self.train = msg.get("train", "0") == "1"
        # How the host's pixels are encoded: decoded to scene-linear on the way in, encoded back on the way out.
        self.encoding = pixel_encoding(msg.get("colorspace", "auto"), msg.get("host_colorspace"))
        try:
            check_colorspace(self.encoding, "vsae_colorspace")
        except ParameterError as exc:
            raise ParameterError(f"vsae_colorspace: {exc}") from None


class RenderServer:
    """Shot models, latents and per-instance state shared by all connections."""

    def __init__(self, idle_s: float = 1800.0):
        self.idle_s = idle_s  # a connection silent this long is closed (it would keep the server alive for ever)
        self.models: dict = {}
        self.model_locks: dict = {}
        self.lock = threading.Lock()
        self.latent_cache = LatentCache(LATENT_CACHE)
        self.instance_caches: OrderedDict = OrderedDict()
        self.local = threading.local()  # the render running on this thread (see routed_fetch)
        self.free_segments: list = []  # (name, array) of output segments the shim is done with, for reuse
        self.instance_locks: dict = {}
        self.active = 0
        self.last_activity = time.monotonic()

    # --- models -------------------------------------------------------------------------------------------------
    def shot_model(self, request: Request):
        from vsae.core.cache import ModelCache
        from vsae.core.model_ref import ModelRef, resolve
        from vsae.core.settings import parse_training_options
        from vsae.errors import ModelNotFound

        key = request.model_ref
        model_key, shot, plate_frames, training = key
        if not model_key and not shot:
            raise ParameterError("vsae_shot: set VSAE Shot to the plates the shot model was trained on "
                                 "(or VSAE Model to a cache key)")
        with self.lock:
            if key in self.models:
                return self.models[key]
            lock = self.model_locks.setdefault(key, threading.Lock())
        with lock:  # one load per model, however many render threads ask at once
            if key not in self.models:
                if model_key:  # a key names one model whole: the training settings are not read
                    ref = ModelRef(key=model_key)
                else:
                    try:
                        settings = parse_training_options(training)
                    except ParameterError as exc:
                        raise ParameterError(f"vsae_training: {exc}") from None
                    ref = ModelRef(shot=shot, frames=plate_frames or None, settings=settings)
                try:
                    model = resolve(ref, ModelCache(None), train=request.train, backend="auto",
                                    precision=os.environ.get("VSAE_RENDER_PRECISION", "fp32"),
                                    device=os.environ.get("VSAE_DEVICE", "auto"))
                except ModelNotFound as exc:
                    if model_key:
                        raise
                    raise ModelNotFound(f"{exc} (or turn on VSAE Train to train it from the host)") from None
                with self.lock:
                    self.models[key] = model
        return self.models[key]

    def cached_latents(self, model, frames: list, fetch) -> np.ndarray:
        """Latents of source frames, kept across renders under the pixels' hash (a changed upstream re-encodes)."""
        return self.latent_cache.latents(model, [fetch("source", f).rgb for f in frames])

    def routed_fetch(self, name: str, frame: int):
        """Fetch through the render running on this thread. State a node keeps across renders (mask_propagate's
        chains, in ``context.cache``) holds this function, not one render's connection, which is gone next time."""
        return self.local.fetch(name, frame)

    def instance_cache(self, instance: str) -> dict:
        with self.lock:
            cache = self.instance_caches.setdefault(instance, {})
            self.instance_caches.move_to_end(instance)
            while len(self.instance_caches) > 64:
                self.instance_caches.popitem(last=False)
            return cache

    # --- output segments ----------------------------------------------------------------------------------------
    def output_segment(self, shape: tuple) -> tuple[str, np.ndarray]:
        """A segment for an output of ``shape``: one the shim has finished with if any fits (its pages are already
        there: a fresh 1080p segment costs more to fault in than to fill), else a new one."""
        with self.lock:
            for i, (name, array) in enumerate(self.free_segments):
                if array.shape == shape:
                    return self.free_segments.pop(i)
        # Unpredictable: a name another process made in advance can neither fail this render nor be read by it.
        return f"/vsae-s{os.getpid()}-{secrets.token_hex(12)}", None

    def return_segment(self, name: str, array) -> None:
        with self.lock:
            self.free_segments.append((name, array))
            while len(self.free_segments) > 4:
                unlink_segment(self.free_segments.pop(0)[0])

    def close(self) -> None:
        with self.lock:
            for name, _ in self.free_segments:
                unlink_segment(name)
            self.free_segments.clear()

    # --- ops ----------------------------------------------------------------------------------------------------
    def frames_needed(self, request: Request) -> Message:
        needed = request.node.frames_needed(request.time, request.params, request.source_frames)
        reply = Message("frames")
        for name, frames in needed.items():
            if name in request.connected or name == request.node.inputs[0].name:
                reply.add("input", name, *frames)
        return reply

    def time_domain(self, request: Request) -> Message:
        frames = request.node.output_frames(request.params, request.source_frames)
        return Message("time_domain").add("range", frames[0], frames[-1])

    def region(self, request: Request) -> Message:
        if request.size is None:
            raise ProtocolError("region: no size line")
        return Message("region").add("window", *request.node.output_window(request.params, *request.size))

    def render(self, request: Request, channel: Channel) -> None:
        from vsae.plugin.node import RenderContext

        frames: dict = {}

        colour = {clip.name for clip in request.node.inputs if not clip.is_matte}  # mattes are data

        def fetch(name: str, frame: int):
            if name not in request.connected:
                raise InputError(f"input {name}: not connected")
            if (name, frame) not in frames:
                got = channel.fetch(name, frame)
                if request.encoding != "linear" and name in colour:
                    got = dataclasses.replace(got, rgb=to_scene_linear(got.rgb, request.encoding,
                                                                       f"input {name} frame {frame}"))
                frames[(name, frame)] = got
            return frames[(name, frame)]

        # An instance's state is kept per clip range and model: another range or model starts afresh.
        state_key = "|".join([request.instance, str(request.source_frames[0]), str(request.source_frames[-1]),
                              *request.model_ref, ",".join(sorted(request.connected))])
        context = RenderContext(
            fetch=self.routed_fetch, source_frames=request.source_frames,
            shot_model=lambda: self.shot_model(request),
            latents=lambda wanted: self.cached_latents(self.shot_model(request), list(wanted), fetch),
            abort=lambda: channel.closed, cache=self.instance_cache(state_key),
            connected=request.connected)
        with self.lock:
            instance_lock = self.instance_locks.setdefault(state_key, threading.Lock())
        self.local.fetch = fetch
        try:
            if request.node.stateful:  # its state is not for two threads at once; other instances run alongside
                with instance_lock:
                    out = request.node.render(request.time, request.params, context)
            else:
                out = request.node.render(request.time, request.params, context)
        finally:
            self.local.fetch = None
        height, width = out.rgb.shape[:2]
        if request.size is not None:
            x0, y0, x1, y1 = request.node.output_window(request.params, *request.size)
            if (x1 - x0, y1 - y0) != (width, height):
                raise VsaeError(f"{request.node.name}: rendered {width}x{height}, its output window is "
                                f"{x1 - x0}x{y1 - y0}")
        else:
            x0, y0, x1, y1 = 0, 0, width, height
        if request.encoding != "linear":
            out = dataclasses.replace(out, rgb=from_scene_linear(out.rgb, request.encoding, request.node.name))
        name, array = self.output_segment((height, width, 4))
        if array is None:
            array = new_segment(name, (height, width, 4))
        try:
            pixels_from_frame(out, array)
            channel.send(Message("done").add("shm", name).add("size", width, height)
                         .add("window", x0, y0, x1, y1))
            reply = channel.receive(REPLY_TIMEOUT_S)
            if reply.op != "ack":
                raise ProtocolError(f"expected ack, got {reply.op}")
        finally:
            self.return_segment(name, array)  # the shim has copied it, or is gone


class Channel:
    """One shim connection: sends under a lock (the keep-alive thread sends too), receives on the render thread."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.send_lock = threading.Lock()
        self.closed = False
        self.busy = threading.Event()

    def send(self, msg: Message) -> None:
        with self.send_lock:
            try:
                send(self.sock, msg)
            except ProtocolError:
                self.closed = True
                raise

    def receive(self, timeout: float | None) -> Message:
        self.sock.settimeout(timeout)
        try:
            return receive(self.sock)
        except ProtocolError:
            self.closed = True
            raise

    def fetch(self, name: str, frame: int):
        self.send(Message("fetch").add("input", name).add("frame", frame))
        reply = self.receive(REPLY_TIMEOUT_S)
        if reply.op == "abort":
            raise Aborted()
        if reply.op != "image":
            raise ProtocolError(f"expected image, got {reply.op}")
        if reply.get("missing") is not None:
            raise InputError(f"input {name} frame {frame}: the host gave no image ({reply['missing']})")
        width, height = (int(v) for v in reply.all("size")[0][:2])
        check_image_size(width, height, f"input {name} frame {frame}")
        components = int(reply.get("components", "4"))
        if components not in (1, 3, 4):
            raise InputError(f"input {name} frame {frame}: {components} components (RGBA, RGB or Alpha expected)")
        pixels = read_segment(reply["shm"], width, height, components)
        return frame_from_pixels(pixels, reply.get("premultiplied", "1") == "1")

    def keep_alive(self) -> None:
        """Until the render ends: a ``wait`` every KEEPALIVE_S, so the shim knows the server lives."""
        while not self.busy.wait(KEEPALIVE_S):
            try:
                self.send(Message("wait"))
            except ProtocolError:
                return


def _error(exc: BaseException) -> Message:
    text = str(exc) if isinstance(exc, VsaeError) else f"{type(exc).__name__}: {exc}"
    return Message("error").add("message", " ".join(text.split()))


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        state: RenderServer = self.server.state  # type: ignore[attr-defined]
        channel = Channel(self.request)
        with state.lock:
            state.active += 1
        try:
            while True:
                try:
                    msg = channel.receive(state.idle_s)
                except MalformedMessage as exc:  # the framing held: answer, and keep the connection
                    try:
                        channel.send(_error(exc))
                    except ProtocolError:
                        return
                    continue
                except ProtocolError:
                    return
                started = time.monotonic()
                reply = self._answer(state, channel, msg)
                if reply is not None:
                    try:
                        channel.send(reply)
                    except ProtocolError:
                        return
                print(f"vsae-serve op={msg.op} node={msg.get('node', '')} time={msg.get('time', '')} "
                      f"result={reply.op if reply is not None else 'done'} "
                      f"seconds={time.monotonic() - started:.3f}", file=sys.stderr, flush=True)
        finally:
            with state.lock:
                state.active -= 1
                state.last_activity = time.monotonic()

    @staticmethod
    def _answer(state: RenderServer, channel: Channel, msg: Message) -> Message | None:
        try:
            if msg.op == "ping":
                return Message("pong").add("pid", os.getpid())
            if msg.op == "forget":
                with state.lock:
                    for key in [k for k in state.instance_caches if k.split("|")[0] == msg.get("instance", "")]:
                        state.instance_caches.pop(key)
                return Message("ok")
            if msg.op == "render" and os.environ.get("VSAE_SERVE_FAULT") == "exit-on-render":
                os._exit(70)  # tests: a server that dies in the middle of a render
            request = Request(msg)
            if msg.op == "frames_needed":
                return state.frames_needed(request)
            if msg.op == "region":
                return state.region(request)
            if msg.op == "time_domain":
                return state.time_domain(request)
            if msg.op == "render":
                channel.busy.clear()
                ticker = threading.Thread(target=channel.keep_alive, daemon=True)
                ticker.start()
                try:
                    state.render(request, channel)
                finally:
                    channel.busy.set()
                    ticker.join()
                return None
            return Message("error").add("message", f"unknown op {msg.op!r}")
        except (Aborted, ProtocolError) as exc:
            if isinstance(exc, Aborted) or channel.closed:  # this shim is gone: nobody to answer
                channel.closed = True
                return None
            return _error(exc)
        except Exception as exc:  # every failure becomes the host's error message, never a dead server
            return _error(exc)


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(socket_path: str | None = None, idle_s: float = 1800.0, ready=None) -> int:
    """Serve until idle for ``idle_s`` seconds. Returns 0; also 0 when another server already holds the socket."""
    path = os.path.abspath(socket_path or default_socket_path())
    private_folder(os.path.dirname(path))
    _check_socket_path(path)  # before the lock file is made: a refused path leaves nothing beside it
    lock = _open_lock(path + ".lock")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(lock)
        print(f"vsae-serve: another server holds {path}", file=sys.stderr, flush=True)
        return 0
    try:
        _remove_stale_socket(path)  # we hold the lock: a socket there is a dead server's
        old = os.umask(0o177)  # the socket is born 0600: no window where another user could connect
        try:
            server = _UnixServer(path, _Handler)
        finally:
            os.umask(old)
        server.state = RenderServer(idle_s)  # type: ignore[attr-defined]
        remove_stale_segments()

        def watch_idle():
            state = server.state  # type: ignore[attr-defined]
            while True:
                time.sleep(min(5.0, idle_s))
                with state.lock:
                    idle = state.active == 0 and time.monotonic() - state.last_activity > idle_s
                if idle:
                    server.shutdown()
                    return

        threading.Thread(target=watch_idle, daemon=True).start()
        if threading.current_thread() is threading.main_thread():  # SIGTERM: stop cleanly, segments unlinked
            signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
        print(f"vsae-serve: pid {os.getpid()} listening on {path}", file=sys.stderr, flush=True)
        if ready is not None:
            ready()
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.state.close()  # type: ignore[attr-defined]
            server.server_close()
            try:
                _remove_stale_socket(path)
            except ParameterError:
                pass  # something else took the name since: not ours to remove
    finally:
        os.close(lock)
    return 0


def _open_lock(path: str) -> int:
    """The server's lock file: opened without following a symlink or truncating, and only if it is this user's."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise ParameterError(f"{path}: cannot open the server's lock file ({exc.strerror}); "
                             "refusing to serve") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
        os.close(fd)
        raise ParameterError(f"{path}: the lock file is not a plain file of yours; refusing to serve")
    return fd


def _check_socket_path(path: str) -> bool:
    """True when a socket of this user's is at ``path``, False when nothing is; ParameterError for anything else
    (a plate, a folder, another user's socket), which is never touched."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.getuid():
        raise ParameterError(f"{path}: exists and is not a socket of yours; refusing to remove it (choose another "
                             f"--socket)")
    return True


def _remove_stale_socket(path: str) -> None:
    """Remove a socket this user's server left; anything else at ``path`` is refused, never removed."""
    if _check_socket_path(path):
        os.unlink(path)
