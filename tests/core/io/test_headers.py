"""Headers: windows and attributes carried from a plate to the frames rendered from it."""

from vsae.core.io.headers import FrameHeader, rendered_header, timecode_plus

TC = "timecode"
PLATE = FrameHeader(origin=(-4, -4), display=(0, 0, 128, 64), encoding="linear",
                    attributes={"smpte:TimeCode": (TC, (0x01000000, 0)), "FramesPerSecond": ("vector2i", (25, 1)),
                                "studio:shot": ("string", "sh010")})


def test_timecode_moves_on_by_whole_frames_and_wraps_at_a_day():
    assert timecode_plus(0x01000000, 24, 25) == 0x01000024  # 01:00:00:24
    assert timecode_plus(0x01000000, 25, 25) == 0x01000100  # 01:00:01:00
    assert timecode_plus(0x23595924, 1, 25) == 0x00000000  # 23:59:59:24 + 1 = midnight
    assert timecode_plus(0x01000040, 1, 30) == 0x01000041  # the drop-frame flag stays


def test_same_size_keeps_the_windows_and_moves_the_timecode_to_its_own_frame():
    header = rendered_header(PLATE, (136, 72), (136, 72), frames_later=3)
    assert (header.origin, header.display) == ((-4, -4), (0, 0, 128, 64))
    assert header.attributes["smpte:TimeCode"] == (TC, (0x01000003, 0))
    assert header.attributes["studio:shot"] == ("string", "sh010")


def test_a_scaled_frame_scales_both_windows_and_a_new_canvas_gets_its_own():
    up = rendered_header(PLATE, (136, 72), (272, 144), 0, scaled=True)
    assert (up.origin, up.display) == ((-8, -8), (0, 0, 256, 128))
    stretched = rendered_header(PLATE, (136, 72), (272, 72), 0, scaled=True)  # each axis by its own factor
    assert (stretched.origin, stretched.display) == ((-8, -4), (0, 0, 256, 64))
    wide = rendered_header(PLATE, (136, 72), (200, 72), 0)
    assert (wide.origin, wide.display) == ((0, 0), (0, 0, 200, 72))
