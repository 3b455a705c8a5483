"""A studio's shared model cache: farm tasks of different users (one group, umask 002, a setgid cache folder)
train into it and read what the others trained, without a permission error. Needs root (to become the users)."""

import multiprocessing
import os
import shutil
import tempfile

import pytest

from tests.conftest import TINY

GROUP = 100  # "users"
ARTISTS = (65534, 65533)


def _task(uid, plates, cache_root, seed, read_key, results):
    """One user's farm task: every import done as root first (this interpreter's files are root's alone), then as
    ``uid`` in GROUP with umask 002: read ``read_key``'s model, then train a model of its own."""
    from vsae.core.cache import ModelCache
    from vsae.core.io.sequence import open_shot
    from vsae.core.model.inference import to_bchw
    from vsae.core.settings import TrainSettings

    seq = open_shot(plates)
    frame = to_bchw(seq.read(seq.frames[0]).rgb)
    with tempfile.TemporaryDirectory() as scratch:  # warm up: every lazy import a training and a render make
        ModelCache(scratch).get_or_train(seq, TrainSettings(**TINY)).load_model().reproject(frame)
    try:
        os.setgroups([GROUP])
        os.setgid(GROUP)
        os.setuid(uid)
        os.umask(0o002)
        cache = ModelCache(cache_root)
        if read_key:
            cache.get(read_key).load_model().reproject(frame)
        entry = cache.get_or_train(seq, TrainSettings(**{**TINY, "seed": seed}))
        results.put((uid, entry.key, None))
    except Exception as exc:  # the parent reports it
        results.put((uid, None, f"{type(exc).__name__}: {exc}"))


def _run_as(uid, plates, cache_root, seed, read_key):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    task = context.Process(target=_task, args=(uid, plates, cache_root, seed, read_key, results))
    task.start()
    outcome = results.get(timeout=300)
    task.join(60)
    return outcome


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming two other users needs root")
def test_two_users_train_into_one_cache_and_read_each_other_s_models():
    from vsae.core.demo.procedural import ProceduralShot

    shared = tempfile.mkdtemp(prefix="vsae-studio-", dir="/tmp")
    try:
        os.chmod(shared, 0o755)
        plates = ProceduralShot(width=128, height=64, frames=6).write(os.path.join(shared, "shot"))["plates"]
        cache_root = os.path.join(shared, "cache")
        os.mkdir(cache_root)
        os.chown(cache_root, 0, GROUP)
        os.chmod(cache_root, 0o2775)  # the studio's set-up: group-writable, new folders keep the group
        first, second = ARTISTS
        uid, key_a, error = _run_as(first, plates, cache_root, seed=1, read_key=None)
        assert error is None, error
        uid, key_b, error = _run_as(second, plates, cache_root, seed=2, read_key=key_a)
        assert error is None, error
        uid, again, error = _run_as(first, plates, cache_root, seed=2, read_key=key_b)
        assert error is None and again == key_b  # found, not trained again
        owners = {os.stat(os.path.join(cache_root, "models", k)).st_uid for k in (key_a, key_b)}
        assert owners == set(ARTISTS)
        assert os.listdir(os.path.join(cache_root, "locks")) == []  # no lock left behind
    finally:
        shutil.rmtree(shared, ignore_errors=True)
