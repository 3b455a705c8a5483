"""core.model.inference: pixel forms and the latent cache the file renderer and the render server share."""

import numpy as np

from tests.standins import BlurModel
from vsae.core.model.inference import LatentCache, interleaved, planar, reproject_image, to_bchw, to_hwc


class _CountingEncoder:
    """Encodes a frame as its mean working value; counts the frames it was asked to encode."""

    def __init__(self):
        self.encoded = 0

    def encode_batches(self, frames):
        codes = [np.full((4, 1, 1), float(np.mean(f)), np.float32) for f in frames]
        self.encoded += len(codes)
        return np.stack(codes)


def test_pixel_forms_round_trip_and_reproject_image_is_the_batch_path():
    image = np.random.default_rng(0).random((8, 12, 3)).astype(np.float32)
    assert to_bchw(image).shape == (1, 3, 8, 12) and np.array_equal(to_hwc(to_bchw(image)), image)
    model = BlurModel(3)
    assert np.array_equal(reproject_image(model, image, 2), to_hwc(model.reproject(to_bchw(image), 2)))


def test_layout_turns_copy_numpys_transposes_for_every_dtype_and_channel_count():
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float16, np.float64, np.uint8, bool):
        for channels in (1, 3, 4, 7):
            image = (rng.random((5, 9, channels)) * 200).astype(dtype)
            planes = planar(image)
            assert planes.flags.c_contiguous and planes.dtype == image.dtype
            assert np.array_equal(planes, image.transpose(2, 0, 1))
            back = interleaved(planes[:, 1:-1])  # a crop of the planes, as a model's padded output is
            assert back.flags.c_contiguous and np.array_equal(back, image[1:-1])
    bits = rng.integers(0, 2 ** 32, (6, 10, 3), dtype=np.uint64).astype(np.uint32).view(np.float32)  # NaNs too
    assert np.array_equal(to_hwc(to_bchw(bits)).view(np.uint32), bits.view(np.uint32))


def test_the_latent_cache_encodes_the_same_pixels_once_per_model_and_a_changed_frame_again():
    frames = [np.full((4, 6, 3), v, np.float32) for v in (0.1, 0.5, 0.9)]
    cache, model, other = LatentCache(limit=8), _CountingEncoder(), _CountingEncoder()
    first = cache.latents(model, frames[:2])
    again = cache.latents(model, [frames[1].copy(), frames[2]])  # same pixels, another array: not encoded again
    assert model.encoded == 3 and np.array_equal(again[0], first[1]) and again.shape == (2, 4, 1, 1)
    cache.latents(other, frames[:1])
    assert other.encoded == 1  # another model has its own codes
    edited = frames[0].copy()
    edited[0, 0] = 2.0
    cache.latents(model, [edited])
    assert model.encoded == 4


def test_the_latent_cache_keeps_at_most_its_limit():
    cache, model = LatentCache(limit=2), _CountingEncoder()
    frames = [np.full((2, 2, 3), v, np.float32) for v in (0.1, 0.2, 0.3)]
    cache.latents(model, frames)  # asked for three at once: all three come back, then the oldest goes
    cache.latents(model, frames[2:])
    assert model.encoded == 3
    cache.latents(model, frames[:1])
    assert model.encoded == 4
