"""Conform as a node: sparse low-res proxies and the shot's model give the shot back at full rate and size."""

import cv2
import numpy as np

from tests.test_cli import TINY
from vsae.cli import main
from vsae.core.io.sequence import Frame, open_shot, write_image
from vsae.core.metrics import display_psnr
from vsae.plugin.nodes import load_node


def _proxies(plates, folder, step=3, scale=2):
    """Every ``step``-th plate at 1/``scale`` of the size, numbered as in the shot (what a sender transmits)."""
    shot = open_shot(plates)
    for number in shot.frames[::step]:
        rgb = shot.read(number).rgb
        small = cv2.resize(rgb, (rgb.shape[1] // scale, rgb.shape[0] // scale), interpolation=cv2.INTER_AREA)
        write_image(str(folder / f"proxy.{number:04d}.exr"), Frame(rgb=small, pixel_type="float"))
    return str(folder / "proxy.####.exr")


def test_the_output_runs_every_frame_from_the_first_proxy_to_the_last_at_full_size():
    node = load_node("conform")
    params = node.resolve({"factor": 4})
    assert node.output_frames(params, [1001, 1005, 1009]) == range(1001, 1010)
    assert node.frames_needed(1003, params, [1001, 1005, 1009]) == {"source": [1001, 1005]}
    assert node.frames_needed(1005, params, [1001, 1005, 1009]) == {"source": [1005]}
    assert node.output_window(params, 128, 64) == (0, 0, 512, 256)


def _psnr_per_frame(out, plates):
    conformed, truth = open_shot(out), open_shot(plates)
    return {n: display_psnr(conformed.read(n).rgb, truth.read(n).rgb) for n in conformed.frames}


def test_proxies_and_the_model_give_the_shot_back(tiny_shot, cache_dir, tmp_path):
    from vsae.core.cache import ModelCache
    from vsae.core.model.inference import reconstruct

    plates = tiny_shot["plates"]
    proxies = _proxies(plates, tmp_path)
    out = str(tmp_path / "conform" / "c.####.exr")
    assert main(["conform", proxies, "--plates", plates, *TINY, "--factor", "2", "--depth", "float", "-o", out]) == 0
    assert list(open_shot(out).frames) == list(range(1001, 1011))  # proxies 1001, 1004, 1007, 1010 and all between
    # A proxy frame is Upres's own output; the frames between are new pictures, not held proxies.
    up = str(tmp_path / "upres" / "u.####.exr")
    assert main(["upres", proxies, "--plates", plates, *TINY, "--factor", "2", "--temporal", "0", "--render",
                 "1004", "--depth", "float", "-o", up]) == 0
    conformed = open_shot(out)
    assert np.array_equal(conformed.read(1004).rgb, open_shot(up).read(1004).rgb)
    between = conformed.read(1005).rgb
    assert not any(np.array_equal(between, conformed.read(n).rgb) for n in (1004, 1007))
    # Within the model's quality: no worse than the model's own reconstruction of the full-size plates.
    model = ModelCache(cache_dir).entries()[0].load_model()
    shot = open_shot(plates)
    own = np.mean([display_psnr(reconstruct(model, shot.read(n).rgb, 1), shot.read(n).rgb) for n in range(1001, 1011)])
    assert np.mean(list(_psnr_per_frame(out, plates).values())) > own, own


def test_a_receiver_with_the_model_alone_renders_the_same_frames(tiny_shot, cache_dir, tmp_path):
    """The transmission: the sender's model entry folder is imported into another cache, and the proxies conform
    there by --model KEY, no plates at hand, to the same pixels."""
    from vsae.core.cache import ModelCache

    plates = tiny_shot["plates"]
    proxies = _proxies(plates, tmp_path)
    sent = str(tmp_path / "sent" / "c.####.exr")
    assert main(["conform", proxies, "--plates", plates, *TINY, "--factor", "2", "--render", "1002-1004", "-o",
                 sent]) == 0
    key = ModelCache(cache_dir).keys()[0]
    receiver = str(tmp_path / "receiver")
    assert main(["cache", "import", str(tmp_path / "cache" / "models" / key), "--cache", receiver]) == 0
    got = str(tmp_path / "got" / "c.####.exr")
    assert main(["conform", proxies, "--model", key, "--cache", receiver, "--no-train", "--factor", "2", "--render",
                 "1002-1004", "-o", got]) == 0
    assert all(np.array_equal(open_shot(sent).read(n).rgb, open_shot(got).read(n).rgb) for n in (1002, 1003, 1004))


def test_the_frames_between_proxies_are_made_not_held(tiny_shot, tmp_path):
    """Without the model's reprojections (Upres iterations 0, flow in-betweens) the pipeline alone beats holding
    the nearest proxy, upscaled: the in-betweens follow the motion."""
    plates = tiny_shot["plates"]
    proxies = _proxies(plates, tmp_path)
    out = str(tmp_path / "conform" / "c.####.exr")
    assert main(["conform", proxies, "--factor", "2", "--upres-iterations", "0", "--method", "flow", "--depth",
                 "float", "-o", out]) == 0
    scores = _psnr_per_frame(out, plates)
    truth, proxy = open_shot(plates), open_shot(proxies)
    held = {n: display_psnr(cv2.resize(proxy.read(min(proxy.frames, key=lambda p: abs(p - n))).rgb, (128, 64),
                                       interpolation=cv2.INTER_CUBIC), truth.read(n).rgb) for n in scores}
    between = [n for n in scores if n not in proxy.frames]
    assert np.mean([scores[n] for n in between]) > np.mean([held[n] for n in between]) + 1.0
