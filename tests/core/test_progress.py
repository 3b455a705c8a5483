import io
import json

from vsae.core.progress import PREFIX, Progress


def test_farm_mode_prints_parseable_lines():
    stream = io.StringIO()
    progress = Progress("train", stream=stream, tty=False, interval=0.0)
    progress.update(0.5, step=10, loss=0.25, eta_s=12.0)
    progress.close()
    lines = [ln for ln in stream.getvalue().splitlines() if ln]
    assert lines[0].startswith(PREFIX + " ")
    record = json.loads(lines[0].split(" ", 1)[1])
    assert record == {"task": "train", "done": 0.5, "step": 10, "loss": 0.25, "eta_s": 12.0}


def test_terminal_mode_draws_a_bar_with_the_figures():
    stream = io.StringIO()
    progress = Progress("train", total=100, stream=stream, tty=True)
    progress.update(0.3, bar_position=30, step=30, loss=0.125, psnr=24.5)
    progress.close()
    out = stream.getvalue()
    assert "30/100" in out and "psnr=24.5" in out and PREFIX not in out
