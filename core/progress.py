"""Progress of long work: a bar on a terminal, one JSON line per interval for the farm.

On a TTY a tqdm bar shows steps (or seconds of the budget), loss, PSNR and ETA. Otherwise, every ``interval``
seconds (and at the end) one line goes to stderr:

    vsae-progress {"task": "train", "done": 0.42, "step": 812, "loss": 0.031, "psnr": 27.4, "eta_s": 171.0, ...}

so a render-farm wrapper can parse it with ``line.split(" ", 1)[1]`` and ``json.loads``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

PREFIX = "vsae-progress"


class Progress:
    """Reports a fraction done plus named figures; ``close()`` prints the last report."""

    def __init__(self, task: str, total: float | None = None, unit: str = "step", interval: float = 10.0,
                 stream: TextIO | None = None, tty: bool | None = None):
        self.task = task
        self.stream = stream or sys.stderr
        self.interval = interval
        self.tty = self.stream.isatty() if tty is None else tty
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
        self._fields = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in fields.items()}
        if self._bar is not None:
            if bar_position is not None:
                self._bar.n = bar_position
            self._bar.set_postfix({k: v for k, v in self._fields.items() if k != "eta_s"}, refresh=False)
            self._bar.refresh()
        elif time.monotonic() - self._last_line >= self.interval:
            self._emit()

    def note(self, message: str) -> None:
        """A one-off remark (resuming, waiting on a lock), on its own line in both modes."""
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        else:
            print(f"{PREFIX} {json.dumps({'task': self.task, 'note': message})}", file=self.stream, flush=True)

    def _emit(self) -> None:
        self._last_line = time.monotonic()
        self._pending = False
        record = {"task": self.task, "done": round(self._done, 4), **self._fields}
        print(f"{PREFIX} {json.dumps(record)}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._pending:
            self._emit()


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
