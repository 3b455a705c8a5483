"""Outputs never land on inputs, and nothing is written or trained before every check has passed (issue 13: items
1, 4, 7, 12, 13)."""

import os
import time

import numpy as np
import pytest
import xxhash

from vsae.cli import main
from vsae.core.io.sequence import Frame, read_image, write_image

from tests.standins import write_raw_exr
from tests.reliability.shared_places import read_only

TINY = ["--steps", "12", "--k", "4", "--batch", "2", "--crop", "64"]


def _shot(folder, name="a", frames=range(1, 5), size=(64, 64), odd=None, ext="exr"):
    """A 4-frame sequence in ``folder``; ``odd`` = (frame, (w, h)) gives one frame another size."""
    os.makedirs(folder, exist_ok=True)
    for f in frames:
        w, h = odd[1] if odd and odd[0] == f else size
        rgb = np.full((h, w, 3), 0.1 * f, np.float32)
        rgb[:, : w // 2] += 0.3  # some structure
        write_image(os.path.join(folder, f"{name}.{f:04d}.{ext}"),
                    Frame(rgb=rgb, pixel_type="half" if ext == "exr" else "uint8"))
    return os.path.join(folder, f"{name}.####.{ext}")


def _snapshot(folder) -> dict:
    """Every file under ``folder`` and the hash of its bytes."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder)] = xxhash.xxh3_64_hexdigest(open(path, "rb").read())
    return out


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


# --- 1. an output that names the input -----------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["ow/a.####.exr", "ow/a.%04d.exr", "./ow/a.####.exr", "ow/../ow/a.####.exr",
                                    "linked/a.####.exr", "ow/a.#.exr"])
def test_reconstruct_onto_its_own_plates_is_refused_before_any_work(tmp_path, cache_dir, monkeypatch, capsys,
                                                                     output):
    monkeypatch.chdir(tmp_path)
    _shot("ow")
    os.symlink("ow", "linked")
    before = _snapshot("ow")
    assert main(["reconstruct", "ow/a.####.exr", *TINY, "-o", output]) == 2
    err = _one_line_error(capsys)
    assert "refusing to overwrite" in err and "a." in err, err
    assert _snapshot("ow") == before  # not one plate touched, nothing left beside them
    assert not os.path.exists(cache_dir)  # and nothing trained


@pytest.mark.parametrize("node_args", [
    ["retime", "--method", "blend"],
    ["retime", "--method", "blend", "--output-first", "5001"],  # new numbers, but inside the plates' sequence
    ["clean_plate", "--boxes", "1:2,2,20,20", "--iterations", "0"],
])
def test_a_node_writing_into_its_source_sequence_is_refused(tmp_path, cache_dir, capsys, node_args):
    plates = _shot(tmp_path / "p")
    before = _snapshot(tmp_path / "p")
    assert main([node_args[0], plates, *TINY, *node_args[1:], "-o", str(tmp_path / "p" / "a.####.exr")]) == 2
    assert "refusing to overwrite" in _one_line_error(capsys)
    assert _snapshot(tmp_path / "p") == before


def test_outputs_onto_the_model_plates_or_the_keys_are_refused(tmp_path, cache_dir, capsys):
    plates = _shot(tmp_path / "plates")
    low = _shot(tmp_path / "low", size=(32, 32))
    before = _snapshot(tmp_path)
    assert main(["upres", low, "--plates", plates, "--factor", "2", *TINY,
                 "-o", str(tmp_path / "plates" / "a.####.exr")]) == 2
    assert "input" in _one_line_error(capsys)
    keys = _shot(tmp_path / "keys", name="k", frames=[1], ext="png")
    assert main(["mask_propagate", plates, "--keys", keys, "--key-frames", "1", *TINY,
                 "-o", keys]) == 2
    assert "refusing to overwrite" in _one_line_error(capsys)
    assert {k: v for k, v in _snapshot(tmp_path).items() if k in before} == before


def test_encode_never_writes_its_sidecar_over_the_latents(tmp_path, cache_dir, capsys):
    plates = _shot(tmp_path / "p")
    assert main(["encode", plates, *TINY, "-o", str(tmp_path / "x.json")]) == 2
    assert ".npy" in _one_line_error(capsys)
    assert not os.path.exists(cache_dir)


# --- 4. a node that would fail part-way fails before its first write ------------------------------------------------


def test_frames_of_different_sizes_fail_before_any_frame_is_written(tmp_path, cache_dir, capsys):
    plates = _shot(tmp_path / "p", odd=(3, (48, 64)))
    out = tmp_path / "out"
    assert main(["retime", plates, "--method", "blend", "--speed", "0.5", *TINY, "-o", str(out / "r.####.exr")]) == 2
    assert "frame 3 is 48x64" in _one_line_error(capsys)
    assert not out.exists()


def test_no_train_without_a_model_fails_before_frame_one_is_written(tmp_path, cache_dir, capsys):
    plates = _shot(tmp_path / "p")
    out = tmp_path / "out"
    # Frame 1 passes through without the model; frame 2 needs it: the missing model must stop the render first.
    assert main(["retime", plates, "--speed", "0.5", "--no-train", *TINY, "-o", str(out / "r.####.exr")]) == 3
    assert "no trained model" in _one_line_error(capsys)
    assert not out.exists()


@pytest.mark.parametrize("output, message", [("x.####.mov", "cannot write '.mov'"), ("x.exr", "frame field")])
def test_a_bad_output_pattern_fails_before_training(tmp_path, cache_dir, capsys, output, message):
    plates = _shot(tmp_path / "p")
    assert main(["upres", plates, "--factor", "2", *TINY, "-o", str(tmp_path / output)]) == 2
    assert message in _one_line_error(capsys)
    assert not os.path.exists(cache_dir)


def test_a_folder_that_cannot_be_written_is_named_before_any_work(tmp_path, cache_dir, capsys):
    plates = _shot(tmp_path / "p")
    locked = tmp_path / "locked"
    locked.mkdir()
    with read_only(str(locked)):
        assert main(["retime", plates, "--method", "blend", *TINY, "-o", str(locked / "r.####.exr")]) == 2
        assert "locked is not writable" in _one_line_error(capsys)
        assert main(["retime", plates, "--method", "blend", *TINY, "-o", str(locked / "sub" / "r.####.exr")]) == 2
        assert "its parent" in _one_line_error(capsys)
    assert os.listdir(locked) == []


# --- 7. created files follow the umask ------------------------------------------------------------------------------


@pytest.mark.parametrize("umask, file_mode, folder_mode", [(0o002, 0o664, 0o775), (0o022, 0o644, 0o755)])
def test_outputs_and_cache_entries_follow_the_umask(tmp_path, cache_dir, umask, file_mode, folder_mode):
    plates = _shot(tmp_path / "p")
    old = os.umask(umask)
    try:
        assert main(["reconstruct", plates, *TINY, "-o", str(tmp_path / "out" / "r.####.exr")]) == 0
        assert main(["encode", plates, *TINY, "--no-train", "-o", str(tmp_path / "lat.npy")]) == 0
    finally:
        os.umask(old)
    written = [tmp_path / "out" / "r.0001.exr", tmp_path / "lat.npy", tmp_path / "lat.json"]
    models = os.path.join(cache_dir, "models")
    (entry,) = [os.path.join(models, k) for k in os.listdir(models)]
    written += [os.path.join(entry, name) for name in os.listdir(entry)]
    for path in written:
        assert oct(os.stat(path).st_mode & 0o777) == oct(file_mode), path
    assert oct(os.stat(entry).st_mode & 0o777) == oct(folder_mode)


# --- 12. clean errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "--seed -1"),
    (["--lr", "inf"], "--lr inf"),
    (["--motion-weight", "inf"], "--motion-weight inf"),
    (["--lr", "nan"], "--lr nan"),
])
def test_bad_training_numbers_are_one_line_before_any_work(tmp_path, cache_dir, capsys, args, message):
    plates = _shot(tmp_path / "p")
    assert main(["reconstruct", plates, *TINY, *args, "-o", str(tmp_path / "o" / "r.####.exr")]) == 2
    assert message in _one_line_error(capsys)
    assert not os.path.exists(cache_dir) and not (tmp_path / "o").exists()


# --- 13. smaller ---------------------------------------------------------------------------------------------------


def test_an_inf_channel_the_render_drops_does_not_refuse_the_shot(tmp_path, cache_dir, capsys):
    os.makedirs(tmp_path / "p")
    for f in (1, 2):
        pixels = np.concatenate([np.full((64, 64, 3), 0.2 * f, np.float32), np.full((64, 64, 1), np.inf)], axis=2)
        write_raw_exr(str(tmp_path / "p" / f"z.{f:04d}.exr"), pixels, ["R", "G", "B", "Z"])
    plates = str(tmp_path / "p" / "z.####.exr")
    assert main(["reconstruct", plates, *TINY, "-o", str(tmp_path / "o" / "r.####.exr")]) == 0
    capsys.readouterr()
    assert main(["reconstruct", plates, *TINY, "--keep-channels", "-o", str(tmp_path / "k" / "r.####.exr")]) == 2
    assert "Z values are NaN or Inf" in _one_line_error(capsys)


def test_a_two_channel_exr_keeps_both_channels(tmp_path):
    rg = np.stack([np.full((8, 8), 0.25, np.float32), np.full((8, 8), 0.75, np.float32)], axis=2)
    write_raw_exr(str(tmp_path / "rg.exr"), rg, ["R", "G"])
    frame = read_image(str(tmp_path / "rg.exr"))
    assert np.allclose(frame.rgb[..., 0], 0.25) and np.allclose(frame.rgb[..., 1], 0.75)
    assert np.all(frame.rgb[..., 2] == 0) and frame.alpha is None
    ya = np.stack([np.full((8, 8), 0.5, np.float32), np.full((8, 8), 1.0, np.float32)], axis=2)
    write_raw_exr(str(tmp_path / "ya.exr"), ya, ["Y", "A"])
    grey = read_image(str(tmp_path / "ya.exr"))
    assert np.allclose(grey.rgb, 0.5) and np.allclose(grey.alpha, 1.0)  # grey + alpha stays grey + alpha


def test_two_renders_of_a_frame_are_byte_identical(tmp_path):
    import OpenImageIO as oiio

    frame = Frame(rgb=np.random.default_rng(0).uniform(0, 2, (16, 16, 3)).astype(np.float32), pixel_type="half")
    write_image(str(tmp_path / "a.exr"), frame)
    time.sleep(1.1)  # EXR's DateTime has one-second resolution
    write_image(str(tmp_path / "b.exr"), frame)
    assert (tmp_path / "a.exr").read_bytes() == (tmp_path / "b.exr").read_bytes()
    inp = oiio.ImageInput.open(str(tmp_path / "a.exr"))
    assert "DateTime" not in [a.name for a in inp.spec().extra_attribs]
    inp.close()


def test_an_alpha_only_matte_still_reads(tmp_path):
    write_raw_exr(str(tmp_path / "a.exr"), np.full((4, 4, 1), 0.5, np.float32), ["A"])
    frame = read_image(str(tmp_path / "a.exr"), premultiplied=False)
    assert np.allclose(frame.rgb, 0.5) and np.allclose(frame.alpha, 0.5)  # its grey is the matte itself
