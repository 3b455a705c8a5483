"""Render-farm jobs: "train the shot's model, then render the node in chunks", described once (``FarmJob``) and
written for each farm's own format (``openjd``: Open Job Description, the job format of AWS Deadline Cloud;
``deadline``: Deadline 10's job files).

A job's commands are vsae command lines: the training step trains by steps (never by a clock, so every task finds
the same cache key) into a cache every task reaches; each render task renders a chunk of the node's output frames
with ``--render FRAMES --no-train``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

FRAMES = "{frames}"  # stands for a chunk's frame range in ``FarmJob.render``
RANK = "{rank}"  # stands for a training task's machine number (0 .. train_machines - 1) in ``FarmJob.train``


@dataclass
class FarmJob:
    """One node render as farm work.

    name: the job's name. train: the training command (argv), None when the render needs no model. render: the
    render command (argv) with ``FRAMES`` where a chunk's range goes. frames: every frame the render makes (a range
    text); chunk: frames a task; chunks: their range texts (``1001-1010``), one task each, in frame order.
    environment: variables every task needs (a shared cache, thread counts). train_machines: training tasks that
    run at once on that many machines and train one model together (``RANK`` in ``train`` is each one's number).
    """

    name: str
    train: list[str] | None
    render: list[str]
    frames: str
    chunk: int
    chunks: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    train_machines: int = 1

    def render_command(self, chunk: str) -> list[str]:
        """The render argv of one chunk."""
        return [chunk if word == FRAMES else word for word in self.render]

    def train_command(self, rank: int) -> list[str]:
        """The training argv of machine ``rank``."""
        return [str(rank) if word == RANK else word for word in self.train or []]


def chunk_frames(frames: Sequence[int], size: int) -> list[list[int]]:
    """Frames in order, cut into runs of ``size`` (the last may be shorter).

    >>> chunk_frames([1, 2, 3, 4, 5], 2)
    [[1, 2], [3, 4], [5]]
    """
    if size < 1:
        from vsae.errors import ParameterError

        raise ParameterError(f"--chunk {size}: expected 1 or more frames a task")
    frames = list(frames)
    return [frames[i:i + size] for i in range(0, len(frames), size)]
