import json
import os
import stat
import subprocess
import sys

import pytest

from tests.conftest import tiny_settings
from vsae.core.training import trainer
from vsae.core.cache import ModelCache
from vsae.core.io.sequence import ShotSequence, open_shot
from vsae.errors import CacheError, ModelNotFound


def test_second_call_hits_without_training_or_hashing(tiny_shot, cache_dir, monkeypatch):
    seq = open_shot(tiny_shot["plates"])
    cache = ModelCache()
    first = cache.get_or_train(seq, tiny_settings())
    for name in ("weights.safetensors", "encoder.onnx", "decoder.onnx", "reproject.onnx", "latents.safetensors"):
        assert os.path.isfile(os.path.join(first.path, name)), name
    manifest = json.load(open(os.path.join(first.path, "manifest.json")))
    assert manifest["source"]["count"] == 12 and manifest["settings"]["steps"] == 12

    def no(*_a, **_k):
        raise AssertionError("a cache hit must neither train nor read the frames")

    monkeypatch.setattr(trainer, "train", no)
    monkeypatch.setattr(ShotSequence, "content_digest", no)
    second = ModelCache().get_or_train(open_shot(tiny_shot["plates"]), tiny_settings())
    assert second.key == first.key
    frames, latents = second.load_latents()
    assert frames == seq.frames and latents.shape == (12, 48, 1, 2)


def test_copied_shot_finds_the_model_by_content(tiny_shot, cache_dir, tmp_path):
    import shutil

    entry = ModelCache().get_or_train(open_shot(tiny_shot["plates"]), tiny_settings())
    copy = shutil.copytree(os.path.dirname(tiny_shot["plates"]), tmp_path / "copy")
    found = ModelCache().find(open_shot(os.path.join(copy, "shot.####.exr")), tiny_settings().key_dict())
    assert found is not None and found.key == entry.key


def test_other_settings_other_model_and_no_train_fails(tiny_shot, cache_dir):
    seq = open_shot(tiny_shot["plates"])
    ModelCache().get_or_train(seq, tiny_settings())
    with pytest.raises(ModelNotFound, match="no trained model"):
        ModelCache().get_or_train(seq, tiny_settings(steps=13), train=False)


def test_an_entry_imported_from_another_cache_is_checked_before_it_is_copied(tiny_shot, cache_dir, tmp_path):
    import shutil

    entry = ModelCache().get_or_train(open_shot(tiny_shot["plates"]), tiny_settings())
    receiver = ModelCache(str(tmp_path / "receiver"))
    imported = receiver.import_entry(entry.path)
    assert imported.key == entry.key and receiver.resolve(entry.key).load_model() is not None
    assert receiver.import_entry(entry.path).path == imported.path  # already there: kept
    # A damaged copy, a linked file and a folder that is no entry are refused, and nothing lands in the cache.
    other = ModelCache(str(tmp_path / "other"))
    damaged = shutil.copytree(entry.path, tmp_path / "damaged")
    with open(damaged / "weights.safetensors", "r+b") as fh:
        fh.seek(-4, os.SEEK_END)
        fh.write(b"XXXX")
    with pytest.raises(CacheError, match="weights.safetensors does not match its checksum"):
        other.import_entry(str(damaged))
    linked = shutil.copytree(entry.path, tmp_path / "linked")
    os.remove(linked / "latents.safetensors")
    os.symlink(os.path.join(entry.path, "latents.safetensors"), linked / "latents.safetensors")
    with pytest.raises(CacheError, match="latents.safetensors is not a regular file"):
        other.import_entry(str(linked))
    with pytest.raises(CacheError, match="manifest.json is missing"):
        other.import_entry(str(tmp_path))
    assert other.keys() == []


def test_a_long_shot_is_streamed_from_the_training_folder_and_trains_the_same_model(tiny_shot, tmp_path,
                                                                                    monkeypatch):
    from safetensors.numpy import load_file

    from vsae.core.training import frames as training_frames

    held = ModelCache(str(tmp_path / "held")).get_or_train(open_shot(tiny_shot["plates"]), tiny_settings())
    monkeypatch.setenv("VSAE_TRAIN_HOLD_MB", "0.1")  # the 12 tiny frames (0.6 MB) count as a long shot
    stores = []
    load = training_frames.load_training_frames
    monkeypatch.setattr(training_frames, "load_training_frames",
                        lambda seq, scale=1.0, store=None: stores.append(store) or load(seq, scale, store))
    cache = ModelCache(str(tmp_path / "streamed"))
    streamed = cache.get_or_train(open_shot(tiny_shot["plates"]), tiny_settings())
    assert stores and stores[0].startswith(os.path.join(cache.root, "partial", streamed.key))
    assert not os.path.exists(os.path.join(cache.root, "partial", streamed.key))  # removed with the training
    a, b = load_file(held.weights_path), load_file(streamed.weights_path)
    assert streamed.key == held.key and all((a[k] == b[k]).all() for k in a)


def test_remove_and_gc(tiny_shot, cache_dir):
    cache = ModelCache()
    entry = cache.get_or_train(open_shot(tiny_shot["plates"]), tiny_settings())
    assert cache.resolve(entry.key[:8]).key == entry.key
    cache.remove(entry.key)
    assert cache.entries() == []
    removed = cache.gc()
    assert any("index" in p for p in removed), "the stale index record goes too"
    with pytest.raises(CacheError, match="no entry"):
        cache.resolve(entry.key[:8])


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only permissions")
def test_unwritable_cache_is_one_clear_error(tiny_shot, tmp_path):
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(stat.S_IRUSR | stat.S_IXUSR)
    with pytest.raises(CacheError, match="not writable|cannot create"):
        ModelCache(str(root)).get_or_train(open_shot(tiny_shot["plates"]), tiny_settings())


def test_unwritable_cache_path_is_one_clear_error(tiny_shot, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(CacheError, match="cannot create"):
        ModelCache(str(blocker / "cache")).get_or_train(open_shot(tiny_shot["plates"]), tiny_settings())


def test_two_processes_one_trains_the_other_waits_and_reuses(tiny_shot, cache_dir):
    cmd = [sys.executable, "-m", "vsae.cli", "train", tiny_shot["plates"], "--steps", "300", "--k", "4",
           "--batch", "2", "--crop", "64", "--checkpoint-every", "3600"]
    env = {**os.environ, "VSAE_CACHE": cache_dir}
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    keys = {out.split()[1] for out, _ in outs}
    assert len(keys) == 1
    trained = [err.count('"step"') > 0 for _, err in outs]
    assert sorted(trained) == [False, True], "exactly one process trains"
    assert len(ModelCache(cache_dir).entries()) == 1


def test_warm_start_is_its_own_model(tiny_shot, cache_dir):
    seq = open_shot(tiny_shot["plates"])
    cold = ModelCache().get_or_train(seq, tiny_settings())
    donor = cold.load_model().state
    warm = ModelCache().get_or_train(seq, tiny_settings(), init_state=donor)
    assert warm.key != cold.key
    assert ModelCache().get_or_train(seq, tiny_settings(), init_state=donor, train=False).key == warm.key
