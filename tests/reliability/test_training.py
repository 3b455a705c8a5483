"""A training that diverges publishes nothing; a damaged checkpoint is discarded, not a traceback (issue 13: items
3 and 11)."""

import os

import numpy as np
import pytest

from tests.conftest import tiny_settings
from vsae.cli import main
from vsae.core.cache import ModelCache
from vsae.core.io.sequence import open_shot
from vsae.core.training.trainer import train
from vsae.errors import TrainingError

TINY = ["--steps", "12", "--k", "4", "--batch", "2", "--crop", "64"]


@pytest.fixture
def frames():
    return np.random.default_rng(0).uniform(-0.5, 0.5, (4, 64, 128, 3)).astype(np.float16)


def test_a_diverging_training_stops_with_a_clear_error(frames):
    with pytest.raises(TrainingError, match="diverged .* lower --lr"):
        train(frames, tiny_settings(lr=1e30))


def test_a_diverged_model_is_neither_cached_nor_rendered(tiny_shot, cache_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["reconstruct", tiny_shot["plates"], *TINY, "--lr", "1e30", "-o", str(out / "r.####.exr")]) == 5
    err = capsys.readouterr().err.strip().splitlines()
    assert "diverged" in err[-1] and err[-1].startswith("vsae: error:")
    assert ModelCache().keys() == [] and not out.exists()


class Notes:
    def __init__(self):
        self.notes = []

    def note(self, message):
        self.notes.append(message)

    def update(self, *a, **k):
        pass


def test_a_damaged_checkpoint_is_discarded_and_the_training_starts_again(tiny_shot, cache_dir):
    seq = open_shot(tiny_shot["plates"])
    settings = tiny_settings()
    cache = ModelCache()
    key = cache.key_for(seq.content_digest(), settings.key_dict())
    ckpt = cache.checkpoint_path(key)
    with open(ckpt, "wb") as fh:
        fh.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}" + os.urandom(64))  # a truncated write, say
    notes = Notes()
    entry = cache.get_or_train(seq, settings, progress=notes)
    assert entry.manifest["metrics"]["steps"] == 12
    assert any("discarding the damaged checkpoint" in n for n in notes.notes), notes.notes
    fresh = ModelCache(os.path.join(cache_dir, "..", "fresh")).get_or_train(seq, settings)
    a, b = entry.load_model(backend="torch").state, fresh.load_model(backend="torch").state
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)  # the same run as one with no checkpoint
