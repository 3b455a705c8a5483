import os

import numpy as np
import pytest

from vsae.core.io.sequence import Frame, open_shot, parse_frames, read_image, write_image
from vsae.errors import InputError, OutputError, ParameterError

from tests.standins import write_raw_exr


def _write_seq(folder, frames, size=(32, 16), value=0.25, ext="exr", pixel_type="half"):
    for f in frames:
        rgb = np.full((size[1], size[0], 3), value, np.float32)
        write_image(os.path.join(folder, f"shot.{f:04d}.{ext}"), Frame(rgb=rgb, pixel_type=pixel_type))


def test_patterns_hash_printf_and_folder_name_the_same_frames(tmp_path):
    _write_seq(tmp_path, range(1001, 1006))
    for spec in ("shot.####.exr", "shot.%04d.exr", "shot.1001-1005#.exr", ""):
        seq = open_shot(os.path.join(tmp_path, spec) if spec else str(tmp_path))
        assert seq.frames == [1001, 1002, 1003, 1004, 1005], spec


def test_frame_range_with_step(tmp_path):
    _write_seq(tmp_path, range(1001, 1011))
    seq = open_shot(os.path.join(tmp_path, "shot.####.exr"), frames="1001-1010x2")
    assert seq.frames == [1001, 1003, 1005, 1007, 1009]
    assert parse_frames("1,5,9") == [1, 5, 9]
    with pytest.raises(ParameterError, match="not a frame range"):
        parse_frames("ten")


def test_missing_frame_is_named(tmp_path):
    _write_seq(tmp_path, [1001, 1002, 1004])
    with pytest.raises(InputError, match=r"frame 1003 is missing \(.*shot\.1003\.exr\)"):
        open_shot(os.path.join(tmp_path, "shot.####.exr"))
    with pytest.raises(InputError, match="frame 1003 is missing"):
        open_shot(os.path.join(tmp_path, "shot.####.exr"), frames="1001-1004")


def test_empty_folder_and_unknown_type(tmp_path):
    with pytest.raises(InputError, match="no image sequence"):
        open_shot(str(tmp_path))
    with pytest.raises(InputError, match="unsupported file type"):
        open_shot(os.path.join(tmp_path, "shot.####.xyz"))


def test_corrupt_file_is_named(tmp_path):
    bad = tmp_path / "shot.1001.exr"
    bad.write_bytes(b"this is not an exr" * 10)
    with pytest.raises(InputError, match="shot.1001.exr: cannot read"):
        read_image(str(bad))


def test_nan_pixels_are_refused(tmp_path):
    rgb = np.zeros((8, 8, 3), np.float32)
    rgb[2, 3, 1] = np.nan
    rgb[4, 4, 0] = np.inf
    path = str(tmp_path / "nan.exr")
    write_raw_exr(path, rgb, ["R", "G", "B"])
    with pytest.raises(InputError, match="nan.exr: 2 colour values are NaN or Inf"):
        read_image(path)
    with pytest.raises(OutputError, match="2 rendered values are NaN or Inf; not written"):
        write_image(str(tmp_path / "out.exr"), Frame(rgb=rgb, pixel_type="float"))
    assert sorted(os.listdir(tmp_path)) == ["nan.exr"]


@pytest.mark.parametrize("pixel_type", ["half", "float"])
def test_exr_round_trip_keeps_values_above_one(tmp_path, pixel_type):
    rng = np.random.default_rng(1)
    rgb = (rng.random((16, 24, 3)) * 20 - 1).astype(np.float32)
    if pixel_type == "half":
        rgb = rgb.astype(np.float16).astype(np.float32)
    alpha = rng.random((16, 24, 1)).astype(np.float32) * 0.5 + 0.5
    path = str(tmp_path / "a.exr")
    write_image(path, Frame(rgb=rgb, pixel_type=pixel_type))
    frame = read_image(path)
    assert frame.pixel_type == pixel_type
    np.testing.assert_array_equal(frame.rgb, rgb)
    write_image(path, Frame(rgb=rgb, alpha=alpha.astype(np.float16).astype(np.float32), pixel_type="float"))
    frame = read_image(path)
    np.testing.assert_allclose(frame.rgb, rgb, rtol=1e-6)  # straight colour back after premultiplied storage
    assert frame.alpha is not None and frame.alpha.shape == (16, 24, 1)


def test_png16_round_trip_is_bit_exact(tmp_path):
    import OpenImageIO as oiio

    values = (np.arange(16 * 24 * 3, dtype=np.int64) * 56 % 65536).astype(np.uint16).reshape(16, 24, 3)
    src = str(tmp_path / "src.png")
    out = oiio.ImageOutput.create(src)
    out.open(src, oiio.ImageSpec(24, 16, 3, oiio.UINT16))
    out.write_image(values)
    out.close()
    frame = read_image(src)
    assert frame.pixel_type == "uint16"
    dst = str(tmp_path / "dst.png")
    write_image(dst, frame)
    back = oiio.ImageInput.open(dst)
    got = back.read_image(oiio.UINT16)
    back.close()
    np.testing.assert_array_equal(got, values)


def test_png8_round_trip_is_bit_exact(tmp_path):
    values = (np.arange(16 * 24 * 3) % 256).astype(np.float32).reshape(16, 24, 3) / 255
    path = str(tmp_path / "a.png")
    write_image(path, Frame(rgb=values, pixel_type="uint8"), colorspace="linear")
    frame = read_image(path)
    write_image(str(tmp_path / "b.png"), frame)
    back = read_image(str(tmp_path / "b.png"), colorspace="linear").rgb
    np.testing.assert_array_equal(np.round(back * 255), np.round(values * 255))


def test_extra_channels_kept_by_choice(tmp_path):
    import OpenImageIO as oiio

    path = str(tmp_path / "aovs.exr")
    pix = np.random.default_rng(0).random((8, 8, 5)).astype(np.float32)
    spec = oiio.ImageSpec(8, 8, 5, oiio.FLOAT)
    spec.channelnames = ("R", "G", "B", "A", "Z")
    out = oiio.ImageOutput.create(path)
    out.open(path, spec)
    out.write_image(pix)
    out.close()
    assert read_image(path).extra == {}
    kept = read_image(path, keep_extra=True)
    np.testing.assert_array_equal(kept.extra["Z"], pix[:, :, 4])


def test_write_leaves_no_partial_file_on_error(tmp_path):
    path = str(tmp_path / "out.exr")
    with pytest.raises(ParameterError):
        write_image(path, Frame(rgb=np.zeros((4, 4, 3), np.float32)), pixel_type="int7")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("compression,lossless", [("zip", True), ("zip:1", True), ("piz", True), ("none", True),
                                                  ("dwaa:45", False), ("b44", False)])
def test_exr_compression_is_written_as_asked(tmp_path, compression, lossless):
    import OpenImageIO as oiio

    yy, xx = np.mgrid[0:24, 0:40].astype(np.float32)
    rgb = np.dstack([0.2 + xx / 10, 1.5 + np.sin(yy / 3), 0.05 + (xx * yy) / 300]).astype(np.float32)
    rgb += np.random.default_rng(0).normal(0, 0.002, rgb.shape).astype(np.float32)  # grain: no format is exact by luck
    path = str(tmp_path / "c.exr")
    write_image(path, Frame(rgb=rgb, pixel_type="half"), compression=compression)
    assert oiio.ImageInput.open(path).spec().get_string_attribute("compression") == compression.split(":")[0]
    back, exact = read_image(path).rgb, rgb.astype(np.float16).astype(np.float32)
    assert np.array_equal(back, exact) == lossless
    np.testing.assert_allclose(back, exact, rtol=0.05, atol=0.01)


@pytest.mark.parametrize("name,says", [("zipp", "expected one of zip, zips, piz"), ("zip:0", "a whole number 1 to 9"),
                                       ("piz:3", "piz takes no level"), ("dwaa:x", "a number above 0")])
def test_an_unknown_compression_is_refused_before_a_file_is_written(tmp_path, name, says):
    """OpenImageIO itself would write zip under any name it does not know."""
    with pytest.raises(ParameterError, match=says):
        write_image(str(tmp_path / "c.exr"), Frame(rgb=np.zeros((4, 4, 3), np.float32)), compression=name)
    assert os.listdir(tmp_path) == []


def test_movie_frames_numbered_from_zero(tmp_path):
    import cv2

    path = str(tmp_path / "clip.mp4")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 24, (64, 32))
    if not writer.isOpened():
        pytest.skip("this OpenCV build has no mp4v encoder")
    for i in range(6):
        writer.write(np.full((32, 64, 3), 40 * i, np.uint8))
    writer.release()
    seq = open_shot(path, frames="1-4")
    assert seq.frames == [1, 2, 3, 4] and seq.size == (64, 32)
    assert seq.read(3).rgb.mean() > seq.read(1).rgb.mean()
    with pytest.raises(InputError, match="frame 9 is outside the movie"):
        open_shot(path, frames="9")


@pytest.mark.parametrize("ext,pixel_type", [("tif", "uint8"), ("tif", "uint16"), ("dpx", "uint16"), ("jpg", "uint8"),
                                            ("png", "uint8")])
def test_integer_formats_keep_their_depth(tmp_path, ext, pixel_type):
    rgb = np.linspace(0, 1, 16 * 24 * 3, dtype=np.float32).reshape(16, 24, 3)
    path = str(tmp_path / f"a.{ext}")
    write_image(path, Frame(rgb=rgb, pixel_type=pixel_type))
    frame = read_image(path)
    assert frame.pixel_type == pixel_type
    # JPEG is lossy; the others only quantise display values (half a code value, through the sRGB curve)
    tolerance = 0.08 if ext == "jpg" else 0.006 if pixel_type == "uint8" else 1e-4
    assert np.abs(frame.rgb - rgb).max() < tolerance


def test_named_colour_space_goes_through_ocio(tmp_path, monkeypatch):
    path = str(tmp_path / "grey.png")
    write_image(path, Frame(rgb=np.full((4, 4, 3), 0.5, np.float32), pixel_type="uint8"), colorspace="linear")
    monkeypatch.delenv("OCIO", raising=False)
    with pytest.raises(ParameterError, match=r"needs \$OCIO"):
        read_image(path, colorspace="sRGB - Texture")
    monkeypatch.setenv("OCIO", "ocio://default")  # OpenColorIO's built-in config: no file to ship
    via_ocio = read_image(path, colorspace="sRGB - Texture").rgb
    np.testing.assert_allclose(via_ocio, read_image(path, colorspace="srgb").rgb, atol=1e-3)


def test_the_files_encoding_is_part_of_the_shots_identity(tmp_path):
    _write_seq(tmp_path, [1, 2], ext="png", pixel_type="uint8")
    auto = open_shot(os.path.join(tmp_path, "shot.####.png"))
    linear = open_shot(os.path.join(tmp_path, "shot.####.png"), colorspace="linear")
    assert auto.stat_key() != linear.stat_key() and auto.content_digest() != linear.content_digest()
    assert linear.read(1).rgb.mean() > auto.read(1).rgb.mean()  # sRGB 0.25 decodes darker than linear 0.25
