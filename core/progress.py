"""Progress of long work: a bar on a terminal, one JSON line per interval for the farm.

On a TTY a tqdm bar shows steps (or seconds of the budget), loss, PSNR and ETA. Otherwise, every ``interval``
seconds (and at the end) one line goes to stderr:

    vsae-progress {"task": "train", "done": 0.42, "step": 812, "loss": 0.031, "psnr": 27.4, "eta_s": 171.0, ...}

so a render-farm wrapper can parse it with ``line.split(" ", 1)[1]`` and ``json.loads``.

A process's work is one farm task: ``TaskProgress`` gives its phases (training, then rendering) one stream whose
``task_done`` never goes back, and a plain form farms read with a regular expression:

    Progress: 42%
"""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

PREFIX = "vsae-progress"
MODES = ("auto", "bar", "json", "plain", "openjd")
LINE_MODES = {"plain": "Progress: {}%", "openjd": "openjd_progress: {}.0"}  # a farm's own progress line


class Progress:
    """Reports a fraction done plus named figures; ``close()`` prints the last report."""

    def __init__(self, task: str, total: float | None = None, unit: str = "step", interval: float = 10.0,
                 stream: TextIO | None = None, tty: bool | None = None, owner: TaskProgress | None = None):
        self.task = task
        self.stream = stream or sys.stderr
        self.interval = interval
        self.tty = self.stream.isatty() if tty is None else tty
        self.owner = owner  # the task this is a phase of: its plain form and task_done
        self.span: tuple[float | None, float] = (None, 1.0)  # the task's share it covers: from where it starts
        self._last_line = 0.0
        self._pending = False  # figures updated since the last line
        self._fields: dict = {}
        self._done = 0.0
        self._bar = None
        if self.tty:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=unit, desc=task, file=self.stream, dynamic_ncols=True, leave=True)

    def update(self, done: float, bar_position: float | None = None, **fields) -> None:
        """done: fraction in [0, 1]; bar_position: steps (or seconds) for the bar; fields: figures to show."""
        self._done = done
        self._pending = True
        if self.owner is not None:
            self.owner.advance(self, done)
        self._fields = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in fields.items()}
        if self._bar is not None:
            if bar_position is not None:
                self._bar.n = bar_position
            self._bar.set_postfix({k: v for k, v in self._fields.items() if k != "eta_s"}, refresh=False)
            self._bar.refresh()
        elif self.owner is not None and self.owner.mode in LINE_MODES:
            self.owner.print_plain()
        elif time.monotonic() - self._last_line >= self.interval:
            self._emit()

    def note(self, message: str) -> None:
        """A one-off remark (resuming, waiting on a lock), on its own line in both modes."""
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        elif self.owner is not None and self.owner.mode in LINE_MODES:
            print(f"vsae: {self.task}: {message}", file=self.stream, flush=True)
        else:
            print(f"{PREFIX} {json.dumps({'task': self.task, 'note': message})}", file=self.stream, flush=True)

    def _emit(self) -> None:
        self._last_line = time.monotonic()
        self._pending = False
        record = {"task": self.task, "done": round(self._done, 4), **self._fields}
        if self.owner is not None:
            record["task_done"] = round(self.owner.done, 4)
        print(f"{PREFIX} {json.dumps(record)}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.owner is not None and self.owner.mode in LINE_MODES:
            self.owner.print_plain()
        elif self._pending:
            self._emit()


class TaskProgress:
    """The progress of one process's work (a farm task) as phases that report one after another.

    A phase covers the task from where the task stands when the phase first reports to its ``end`` (a fraction
    of the task): a render task that first has to train gives training the first half, so the task's figure
    (``done``, ``task_done`` in the JSON lines, the percent of the plain form) never goes back. mode: bar (a
    tqdm bar per phase), json (``vsae-progress`` lines), plain (``Progress: 42%``, a line each time the whole
    percent grows), openjd (the same as ``openjd_progress: 42.0``, which Open Job Description runtimes read), or
    auto (bar on a terminal, else json).

    >>> import io
    >>> task = TaskProgress("plain", stream=io.StringIO())
    >>> train = task.phase("train", end=0.5); train.update(1.0); train.close()
    >>> render = task.phase("render"); render.update(0.5); render.close()
    >>> task.stream.getvalue().split()[-2:]
    ['Progress:', '75%']
    """

    def __init__(self, mode: str = "auto", stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        if mode not in MODES:
            from vsae.errors import ParameterError

            raise ParameterError(f"--progress {mode!r}: expected one of {', '.join(MODES)}")
        self.mode = ("bar" if self.stream.isatty() else "json") if mode == "auto" else mode
        self.done = 0.0
        self._printed = -1

    def phase(self, name: str, total: float | None = None, unit: str = "step", end: float = 1.0,
              interval: float = 10.0) -> Progress:
        """The Progress of a phase that ends at ``end`` of the task (a phase made early, such as the render's
        before a training it may wait for, starts where the task stands when it first reports)."""
        progress = Progress(name, total=total, unit=unit, interval=interval, stream=self.stream,
                            tty=self.mode == "bar", owner=self)
        progress.span = (None, min(end, 1.0))
        return progress

    def advance(self, phase: Progress, phase_done: float) -> None:
        """``phase`` is ``phase_done`` through: the task moves on (never back)."""
        start, end = phase.span
        if start is None:
            start = self.done
            phase.span = (start, max(start, end))
        where = start + (phase.span[1] - start) * min(max(phase_done, 0.0), 1.0)
        self.done = max(self.done, where)

    def print_plain(self) -> None:
        percent = int(self.done * 100 + 1e-9)
        if percent > self._printed:
            self._printed = percent
            # on stdout, which farms' log parsers read (Deadline's stdout handlers); the bar and JSON lines keep stderr
            print(LINE_MODES[self.mode].format(percent), file=sys.stdout if self.stream is sys.stderr else self.stream,
                  flush=True)


class TrainingLog:
    """Wraps a Progress (or nothing) and appends its figures to a JSON-lines file, at most once per ``interval``
    seconds and at the end, so that another process (the Explore panel) can draw the loss curve of a training.

    Each line: {"label": ..., "t": seconds since start, "done": fraction, "step": ..., "loss": ..., "psnr": ...}.
    """

    def __init__(self, path: str, inner: Progress | None = None, label: str = "", interval: float = 1.0):
        self.path = path
        self.inner = inner
        self.label = label
        self.interval = interval
        self._start = time.monotonic()
        self._last = -interval
        self._record: dict | None = None

    def update(self, done: float, bar_position: float | None = None, **fields) -> None:
        if self.inner is not None:
            self.inner.update(done, bar_position, **fields)
        self._record = {"label": self.label, "t": round(time.monotonic() - self._start, 2), "done": round(done, 4),
                        **{k: (round(v, 5) if isinstance(v, float) else v) for k, v in fields.items()}}
        if time.monotonic() - self._last >= self.interval or done >= 1.0:
            self._write()

    def note(self, message: str) -> None:
        if self.inner is not None:
            self.inner.note(message)

    def _write(self) -> None:
        self._last = time.monotonic()
        try:
            with open(self.path, "a") as fh:  # one short line per write: a reader never sees half a record
                fh.write(json.dumps(self._record) + "\n")
        except OSError:
            pass  # the curve is a nicety; training goes on without it

    def close(self) -> None:
        if self._record is not None:
            self._write()
        if self.inner is not None:
            self.inner.close()


def read_training_log(path: str) -> list[dict]:
    """The records of a TrainingLog file (a partial last line is skipped)."""
    records = []
    try:
        with open(path) as fh:
            for line in fh:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
    except OSError:
        pass
    return records
