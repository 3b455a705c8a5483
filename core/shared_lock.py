"""A lock many machines can share through a network file system (the model cache on a farm's NFS or SMB share).

fcntl and flock locks are silently no-ops on NFS mounted without locking, so the lock is a file created with
O_CREAT | O_EXCL (atomic on every network file system in use) that names its holder. While held, a thread touches
it every ``beat_s`` seconds. A waiter takes over a lock whose holder is gone: on the same machine, a process that
no longer exists; elsewhere, a file whose modification time has not moved for ``stale_s`` seconds of the waiter's
own clock (so clocks that disagree between machines do not matter). Released, the file is removed: nothing is left.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid

from vsae.errors import CacheError


class SharedLock:
    """One holder at a time across processes and machines.

    >>> lock = SharedLock("/tmp/vsae-doctest.lock", timeout_s=5)
    >>> with lock:
    ...     os.path.exists("/tmp/vsae-doctest.lock")
    True
    >>> os.path.exists("/tmp/vsae-doctest.lock")
    False
    """

    def __init__(self, path: str, timeout_s: float = 6 * 3600, beat_s: float = 30.0, stale_s: float = 300.0,
                 poll_s: float = 0.5):
        self.path = path
        self.timeout_s, self.beat_s, self.stale_s, self.poll_s = timeout_s, beat_s, stale_s, poll_s
        self.owner = {"host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex}
        self._stop: threading.Event | None = None
        self._watch: tuple[tuple, float] | None = None  # (lock file state, when this waiter first saw it)

    # --- holding ---------------------------------------------------------------------------------------------
    def try_acquire(self) -> bool:
        """Take the lock if it is free (or its holder is gone); False when someone else holds it."""
        if self._create():
            return True
        stale = self._stale_state()
        if stale is not None and self._take_over(stale):
            return self._create()
        return False

    def acquire(self, timeout_s: float | None = None, on_wait=None) -> None:
        """Wait for the lock; ``on_wait()`` is called once when it is held by someone else. CacheError after
        ``timeout_s`` (default: the lock's)."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        start = time.monotonic()
        waited = False
        while not self.try_acquire():
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            if time.monotonic() - start >= timeout_s:
                raise CacheError(f"{self.path}: held by {self.holder() or 'another process'} for more than "
                                 f"{timeout_s:.0f}s")
            time.sleep(self.poll_s)

    def release(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self._stop = None
        try:
            if self.holder() == self.owner:  # never remove a lock someone took over from us
                os.unlink(self.path)
        except OSError:
            pass

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def holder(self) -> dict | None:
        """Who holds the lock (host, pid, token), None when nobody does or the file cannot be read yet."""
        try:
            with open(self.path) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return None

    # --- inside -------------------------------------------------------------------------------------------------
    def _create(self) -> bool:
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)  # the umask decides the mode
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as fh:
            json.dump(self.owner, fh)
        self._stop = threading.Event()
        threading.Thread(target=self._beat, args=(self._stop,), daemon=True, name="vsae-lock-heartbeat").start()
        return True

    def _beat(self, stop: threading.Event) -> None:
        while not stop.wait(self.beat_s):
            try:
                os.utime(self.path)
            except OSError:
                return

    def _state(self) -> tuple | None:
        """(holder, modification time) of the lock file; None when there is none."""
        try:
            seen = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return None
        return json.dumps(self.holder(), sort_keys=True), seen

    def _stale_state(self) -> tuple | None:
        """The lock file's state when its holder is gone, else None."""
        state = self._state()
        if state is None:
            return None  # released meanwhile: the next try creates it
        holder = self.holder()
        if holder is not None and holder.get("host") == self.owner["host"]:
            try:
                os.kill(int(holder["pid"]), 0)
            except ProcessLookupError:
                return state  # died on this machine without releasing
            except (OSError, ValueError, KeyError):
                pass
        watched = self._watch
        if watched is None or watched[0] != state:
            self._watch = (state, time.monotonic())  # new holder, or its heartbeat moved: alive
            return None
        return state if time.monotonic() - watched[1] >= self.stale_s else None

    def _take_over(self, stale: tuple) -> bool:
        """Remove the stale lock, if it is still the one found stale. Waiters that find it stale at once take turns
        through a second lock (``.break``), so none removes a lock another has just taken."""
        breaker = f"{self.path}.break"
        try:
            fd = os.open(breaker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            try:  # a breaker that died within its few milliseconds of work: clear it after a while
                if time.time() - os.stat(breaker).st_mtime > max(self.stale_s, 60.0):
                    os.unlink(breaker)
            except OSError:
                pass
            return False
        os.close(fd)
        try:
            if self._state() != stale:
                return False
            os.unlink(self.path)
            self._watch = None
            return True
        finally:
            os.unlink(breaker)
