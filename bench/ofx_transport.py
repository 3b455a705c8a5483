"""OFX bridge transport: what a float RGBA frame's round trip through the bridge costs (host image -> shim -> shared
memory -> render server -> shared memory -> shim -> host image), against the render time of Upres and Retime.

    python bench/ofx_transport.py [--sizes 1920x1080,3840x2160] [--frames 5]

Everything runs through the project's test host, the release build of the shim and one `vsae serve`:
Each frame renders twice and the second render counts: the host then has the source frames in memory, as a
host's frame cache would (the test host reads raw files from disk on first use).
- transport: the render action's wall time for Retime at speed 1 (every output frame is a source frame handed back
  bit for bit: one frame in, one out, no model work), median over frames after a warm-up render;
- Retime: method latent at half speed (two neighbours encoded, then cached; one decode), median over in-betweens;
- Upres: 2x from half size to the given size, 5 iterations (tiles of 1024 at 4K), median over frames.
The baseline in this process: one memcpy of the frame (numpy copy), median of 5. Target (issue 5): transport at
1080p <= 15% of the render time. The model: the default architecture (fast, k=32) after 10 training steps on a
small procedural shot; speed does not depend on the weights.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import cv2
import numpy as np

from common import median_time, save_results


def frames_at(size: tuple[int, int], count: int) -> dict:
    import cv2

    from vsae.core.demo.procedural import ProceduralShot

    shot = ProceduralShot(width=512, height=288, frames=count)
    out = {}
    for i in range(count):
        rgb = cv2.resize(shot.render(float(i))[0], size, interpolation=cv2.INTER_CUBIC)
        out[1001 + i] = np.concatenate([rgb, np.ones(rgb.shape[:2] + (1,), np.float32)], axis=2)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1920x1080,3840x2160")
    ap.add_argument("--frames", type=int, default=5)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="vsae-ofx-bench-") as root:
        os.environ["VSAE_CACHE"] = os.path.join(root, "cache")
        os.environ["VSAE_SOCKET"] = os.path.join(root, "sock", "serve.sock")
        from vsae.core.cache import ModelCache
        from vsae.core.demo.procedural import ProceduralShot
        from vsae.core.io.sequence import open_shot
        from vsae.core.settings import TrainSettings
        from tests.ofx_bridge.host_driver import TestHost

        plates = ProceduralShot(width=512, height=288, frames=6).write(os.path.join(root, "shot"))["plates"]
        entry = ModelCache(None).get_or_train(open_shot(plates, None, "auto"),
                                              TrainSettings(steps=10, budget_s=None, crop=256))
        host = TestHost(os.path.join(root, "host"))
        common = {"vsae_model": entry.key}
        rows = []
        try:
            for size_text in args.sizes.split(","):
                w, h = map(int, size_text.split("x"))
                n = args.frames if w * h <= 1920 * 1080 else max(3, args.frames // 2)
                full = frames_at((w, h), n)
                half = {f: cv2.resize(p, (w // 2, h // 2), interpolation=cv2.INTER_AREA) for f, p in full.items()}
                frame = full[1001]
                memcpy_s = median_time(lambda: frame.copy(), repeats=5, warmup=1)

                def timed(node, clip, params, render):
                    # Each frame twice: the second render finds the source in the host's frame cache, as a host's
                    # own cache would have it (the test host reads raw files from disk on first use).
                    run = host.run(f"org.vsae.{node}", {"Source": clip}, {**common, **params},
                                   render=list(render) * 2, keep_outputs=False)
                    if run.returncode != 0:
                        sys.exit(f"bench: {node} at {size_text} failed: {run.lines[-5:]}")
                    return [run.seconds[t] for t in render]

                frames = sorted(full)
                transport = timed("retime", full, {"speed": "1"}, frames)
                retime = timed("retime", full, {"speed": "0.5", "method": "latent"},
                               [1002 + 2 * i for i in range(max(1, min(3, n - 1)))])
                upres = timed("upres", half, {"factor": "2", "iterations": "5",
                                              "tile": "1024" if w * h > 1920 * 1080 else "0"},
                              frames[:max(2, min(3, n))])
                row = {"size": size_text, "memcpy_ms": round(memcpy_s * 1000, 1),
                       "transport_ms": round(statistics.median(transport) * 1000, 1),
                       "retime_latent_ms": round(statistics.median(retime) * 1000, 1),
                       "upres_2x_5it_ms": round(statistics.median(upres) * 1000, 1)}
                row["transport_vs_memcpy"] = round(row["transport_ms"] / row["memcpy_ms"], 1)
                row["transport_share_of_retime"] = round(row["transport_ms"] / row["retime_latent_ms"], 3)
                row["transport_share_of_upres"] = round(row["transport_ms"] / row["upres_2x_5it_ms"], 3)
                rows.append(row)
                print(f"{size_text:>10s} transport {row['transport_ms']:8.1f} ms ({row['transport_vs_memcpy']}x "
                      f"memcpy {row['memcpy_ms']} ms)  retime latent {row['retime_latent_ms']:8.1f} ms "
                      f"({row['transport_share_of_retime']:.1%})  upres 2x/5it {row['upres_2x_5it_ms']:8.1f} ms "
                      f"({row['transport_share_of_upres']:.1%})", flush=True)
        finally:
            from vsae.ofx_bridge.protocol import Message, receive, send
            import signal
            import socket

            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(os.environ["VSAE_SOCKET"])
                    send(s, Message("ping"))
                    os.kill(int(receive(s)["pid"]), signal.SIGTERM)
            except OSError:
                pass
            time.sleep(0.5)
    print(save_results("ofx_transport", {"rows": rows}))


if __name__ == "__main__":
    main()
