"""SharedLock: one holder across processes and machines, through nothing but files."""

import json
import multiprocessing
import os
import time

import pytest

from vsae.core.shared_lock import SharedLock
from vsae.errors import CacheError


def _hold(path, seconds, started):
    with SharedLock(path, beat_s=0.05):
        started.set()
        time.sleep(seconds)


def test_a_second_process_waits_and_nothing_is_left_behind(tmp_path):
    path = str(tmp_path / "locks" / "key.lock")
    started = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(path, 1.0, started))
    holder.start()
    assert started.wait(30)
    lock = SharedLock(path, poll_s=0.05)
    assert not lock.try_acquire()
    waited = []
    start = time.monotonic()
    lock.acquire(on_wait=lambda: waited.append(True))
    assert waited and time.monotonic() - start > 0.3
    lock.release()
    holder.join()
    assert os.listdir(tmp_path / "locks") == []


def test_a_holder_that_died_on_this_machine_is_taken_over_at_once(tmp_path):
    path = tmp_path / "key.lock"
    dead = multiprocessing.Process(target=time.sleep, args=(0,))
    dead.start()
    dead.join()
    path.write_text(json.dumps({"host": SharedLock(str(path)).owner["host"], "pid": dead.pid, "token": "x"}))
    lock = SharedLock(str(path), stale_s=3600)
    assert lock.try_acquire()
    assert lock.holder() == lock.owner
    lock.release()
    assert not path.exists()


def test_a_holder_on_another_machine_whose_heartbeat_stopped_is_taken_over_after_stale_s(tmp_path):
    path = tmp_path / "key.lock"
    path.write_text(json.dumps({"host": "render-node-17", "pid": 4242, "token": "x"}))
    lock = SharedLock(str(path), stale_s=0.4, poll_s=0.05, timeout_s=10)
    assert not lock.try_acquire()  # alive as far as anyone can tell, until its file stops moving for stale_s
    start = time.monotonic()
    lock.acquire()
    assert 0.35 < time.monotonic() - start < 5
    lock.release()


def test_a_live_heartbeat_is_never_taken_over(tmp_path):
    path = str(tmp_path / "key.lock")
    holder = SharedLock(path, beat_s=0.05)
    holder.owner["host"] = "render-node-17"  # seen as another machine's: only the heartbeat says it lives
    assert holder.try_acquire()
    with pytest.raises(CacheError, match="held by"):
        SharedLock(path, stale_s=0.5, poll_s=0.05).acquire(timeout_s=1.5)
    holder.release()
    assert not os.path.exists(path)
