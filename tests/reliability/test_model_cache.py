"""The shared model cache: one damaged entry stays that entry's problem, flipped bits are caught, a read-only
published cache serves renders (issue 13: items 8, 9, 10, 12)."""

import json
import os

import pytest

from vsae.cli import main
from vsae.core import cache as cache_module
from vsae.core.cache import ModelCache

from tests.reliability.shared_places import read_only

TINY = ["--steps", "12", "--k", "4", "--batch", "2", "--crop", "64"]


@pytest.fixture
def two_models(tiny_shot, cache_dir, capsys):
    """Keys of two cached models of the tiny shot (seeds 0 and 1)."""
    keys = []
    for seed in ("0", "1"):
        assert main(["train", tiny_shot["plates"], *TINY, "--seed", seed]) == 0
        keys.append(capsys.readouterr().out.split()[1])
    return keys


def _lines(capsys):
    captured = capsys.readouterr()
    return captured.out.strip().splitlines(), captured.err.strip()


@pytest.mark.parametrize("damage", [b"{", b'{"key": "KEY"}', b"\xff\xfe not utf-8"])
def test_one_damaged_manifest_is_that_entrys_problem_only(two_models, tiny_shot, cache_dir, tmp_path, capsys,
                                                          damage):
    bad, good = two_models
    with open(os.path.join(cache_dir, "models", bad, "manifest.json"), "wb") as fh:
        fh.write(damage.replace(b"KEY", bad.encode()))
    assert main(["cache", "list"]) == 0
    out, _ = _lines(capsys)
    assert any(line.startswith(bad) and "DAMAGED" in line for line in out)
    assert any(line.startswith(good) and "DAMAGED" not in line for line in out)
    assert main(["cache", "show", good]) == 0
    assert json.loads(capsys.readouterr().out)["key"] == good
    assert main(["reconstruct", tiny_shot["plates"], "--model", good, "--render", "1001",
                 "-o", str(tmp_path / "r.####.exr")]) == 0
    capsys.readouterr()
    assert main(["cache", "show", bad]) == 3
    _, err = _lines(capsys)
    assert f"cache entry {bad}: damaged" in err and f"vsae cache rm {bad}" in err and "\n" not in err
    assert main(["cache", "verify"]) == 3
    out, _ = _lines(capsys)
    assert f"{good}  ok" in out and any(line.startswith(f"{bad}  DAMAGED") for line in out)
    assert main(["cache", "gc"]) == 0
    assert main(["cache", "rm", bad]) == 0
    assert main(["cache", "verify"]) == 0
    assert ModelCache().keys() == [good]


@pytest.mark.parametrize("name", ["weights.safetensors", "decoder.onnx", "latents.safetensors"])
def test_a_flipped_bit_is_refused_naming_the_entry(two_models, tiny_shot, cache_dir, tmp_path, capsys, name):
    key = two_models[0]
    path = os.path.join(cache_dir, "models", key, name)
    st = os.stat(path)
    with open(path, "r+b") as fh:  # one bit, deep in the data, mtime kept: what bit rot looks like
        fh.seek(st.st_size - 100)
        byte = fh.read(1)
        fh.seek(st.st_size - 100)
        fh.write(bytes([byte[0] ^ 0x10]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    cache_module._VERIFIED.clear()  # as a new process would start
    command = ["explore", tiny_shot["plates"], "--model", key, "--report"] if name.startswith("latents") else [
        "reconstruct", tiny_shot["plates"], "--model", key, "--render", "1001", "-o", str(tmp_path / "r.####.exr")]
    assert main(command) == 3
    _, err = _lines(capsys)
    assert f"cache entry {key}: {name} does not match its checksum" in err and "\n" not in err
    assert not (tmp_path / "r.1001.exr").exists()
    assert main(["cache", "verify"]) == 3


def test_a_read_only_published_cache_serves_renders(tiny_shot, cache_dir, tmp_path, capsys):
    import shutil

    assert main(["train", tiny_shot["plates"], *TINY]) == 0
    plates = shutil.copytree(os.path.dirname(tiny_shot["plates"]), tmp_path / "plates")  # new mtimes: not indexed
    pattern = str(plates / os.path.basename(tiny_shot["plates"]))
    with read_only(cache_dir):
        for extra in ([], ["--no-train"]):
            assert main(["reconstruct", pattern, *TINY, *extra, "--render", "1001-1002",
                         "-o", str(tmp_path / f"out{len(extra)}" / "r.####.exr")]) == 0, capsys.readouterr().err
            assert main(["retime", pattern, *TINY, *extra, "--render", "1002",
                         "-o", str(tmp_path / f"rt{len(extra)}" / "r.####.exr")]) == 0, capsys.readouterr().err
        assert main(["explore", pattern, *TINY, "--no-train", "--report"]) == 0  # its map is not stored, just made
        capsys.readouterr()
        # What does need a write says so in one line: a new model in a read-only cache.
        assert main(["train", pattern, *TINY, "--seed", "7"]) == 3
        assert "not writable" in capsys.readouterr().err
