import io
import json

from vsae.core.progress import PREFIX, Progress, TaskProgress


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


def test_a_task_s_phases_never_take_its_progress_back():
    """A render task that has to train first: the render's Progress is made before the training it waits on, and
    the task's figure still only grows (training its first half, rendering the rest)."""
    stream = io.StringIO()
    task = TaskProgress("json", stream=stream)
    render = task.phase("retime", interval=0.0)  # a line each update
    train = task.phase("train", end=0.5, interval=0.0)
    for done in (0.25, 0.5, 1.0):
        train.update(done)
    for done in (0.1, 0.6, 1.0):
        render.update(done)
    figures = [json.loads(line.split(" ", 1)[1])["task_done"] for line in stream.getvalue().splitlines()]
    assert figures == [0.125, 0.25, 0.5, 0.55, 0.8, 1.0]


def test_plain_form_is_one_growing_percent_a_line():
    stream = io.StringIO()
    task = TaskProgress("plain", stream=stream)
    phase = task.phase("reconstruct")
    for done in (0.004, 0.333, 0.333, 0.5, 0.2, 1.0):  # repeats and a step back print nothing
        phase.update(done)
    phase.note("resuming")
    assert stream.getvalue().splitlines() == ["Progress: 0%", "Progress: 33%", "Progress: 50%", "Progress: 100%",
                                              "vsae: reconstruct: resuming"]
