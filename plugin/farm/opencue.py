"""OpenCue: the job as an outline (opencue-pyoutline) of two Shell layers, render depending on train, serialised to
the job specification Cuebot takes. Chunks are OpenCue's own: a render frame runs its chunk's range, given by the
``#FRAME_START#`` and ``#FRAME_END#`` tokens.

    python -c "import opencue; opencue.api.launchSpec(open('job.xml').read())"   # submit (pycue, a Cuebot)
"""

from __future__ import annotations

import os
import re
import shlex
import sys

from vsae.plugin.farm import FRAMES, RANK, FarmJob

SPEC = "job.xml"
CHUNK_RANGE = "#FRAME_START#-#FRAME_END#"
FRAME = "#IFRAME#"  # a frame's number: a training machine's rank


def _outline_module():
    try:
        import outline
        import outline.cuerun
        from outline.backend import cue
        from outline.modules.shell import Shell
    except ImportError as exc:
        from vsae.errors import ParameterError

        raise ParameterError(f"farm opencue: opencue-pyoutline is not installed ({exc}); "
                             "pip install opencue-pyoutline") from None
    return outline, cue, Shell


def job_name(text: str) -> str:
    """A name OpenCue takes (letters, digits, underscores).

    >>> job_name("vsae retime sh010.####.exr")
    'vsae_retime_sh010'
    """
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", text.split(".")[0])).strip("_")


def job_spec(job: FarmJob, show: str, shot: str, user: str | None = None, priority: int | None = None) -> str:
    """The OpenCue job specification (XML text) of ``job``; no Cuebot is needed to make it."""
    outline, cue, Shell = _outline_module()
    ol = outline.Outline(job_name(job.name), shot=shot, show=show)
    render = Shell("render", command=[CHUNK_RANGE if w == FRAMES else shlex.quote(w) for w in job.render],
                   range=job.frames, chunk=job.chunk)
    if job.train is not None:
        train = Shell("train", command=[FRAME if w == RANK else shlex.quote(w) for w in job.train],
                      range=f"0-{job.train_machines - 1}" if job.train_machines > 1 else "1", chunk=1)
        ol.add_layer(train)
        render.depend_all(train)
    ol.add_layer(render)
    for key, value in job.environment.items():
        ol.set_env(key, value, pre=True)  # pre: sent to the cue with the job
    options: dict[str, object] = {"nomail": True}
    if user:
        options["user"] = user
    if priority is not None:
        options["priority"] = priority
    return cue.serialize_simple(outline.cuerun.OutlineLauncher(ol, **options))


def write_job(job: FarmJob, folder: str, show: str, shot: str, priority: int | None = None) -> list[str]:
    """Write the job specification into ``folder``; returns its path (in a list, as the other farms' do)."""
    from vsae.core.io.output_files import write_text_atomic

    path = os.path.join(folder, SPEC)
    write_text_atomic(path, job_spec(job, show, shot, priority=priority))
    return [path]


def submit_command(paths: list[str]) -> list[str]:
    """The command that hands the specification to Cuebot through pycue."""
    return [sys.executable, "-c", f"import opencue; opencue.api.launchSpec(open({paths[0]!r}).read())"]
