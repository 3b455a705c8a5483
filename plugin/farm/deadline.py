"""Deadline 10: two jobs for its CommandLine plugin (or vsae's own plugin, ``deadline_plugin/VSAE``, which turns
vsae's ``Progress: 42%`` lines into task progress), the render job dependent on the training job.

    deadlinecommand -SubmitMultipleJobs -dependent -job train.job_info train.plugin_info \
        -job render.job_info render.plugin_info

The render job's frames are the node's output frames; Deadline cuts them into tasks of ``ChunkSize`` and puts each
task's first and last frame where the arguments say ``<STARTFRAME>`` and ``<ENDFRAME>``.
"""

from __future__ import annotations

import os

from vsae.plugin.farm import FRAMES, RANK, FarmJob

PLUGINS = ("CommandLine", "VSAE")
PLUGIN_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deadline_plugin")


def quote(word: str) -> str:
    """One argument as Deadline's argument line takes it: in double quotes when it holds a space or a quote.

    >>> quote("/plates/sh010.####.exr"), quote("/my plates/a.exr")
    ('/plates/sh010.####.exr', '"/my plates/a.exr"')
    """
    if word and not any(c in word for c in ' \t"'):
        return word
    return '"' + word.replace('"', '\\"') + '"'


def _info(fields: dict) -> str:
    return "".join(f"{key}={value}\n" for key, value in fields.items() if value not in (None, ""))


def job_files(job: FarmJob, frames: str, chunk: int, plugin: str = "CommandLine", priority: int | None = None,
              pool: str | None = None, group: str | None = None) -> dict[str, str]:
    """The job's files by name (``train.job_info`` ... ``render.plugin_info``): text in Deadline's key=value form.
    frames: the render's output frames as Deadline's Frames field takes them (``1001-1199``); chunk: frames a task."""
    from vsae.errors import ParameterError

    if plugin not in PLUGINS:
        raise ParameterError(f"--deadline-plugin {plugin!r}: expected one of {', '.join(PLUGINS)}")
    common = {"Plugin": plugin, "BatchName": job.name, "Priority": priority, "Pool": pool, "Group": group}
    for i, (key, value) in enumerate(sorted(job.environment.items())):
        common[f"EnvironmentKeyValue{i}"] = f"{key}={value}"
    files = {}
    if job.train is not None:
        # One task a training machine (its task number is its rank); a worker runs one task at a time.
        files["train.job_info"] = _info({**common, "Name": f"{job.name} (train)",
                                         "Frames": f"0-{job.train_machines - 1}" if job.train_machines > 1 else "0",
                                         "ChunkSize": "1"})
        train = [("<STARTFRAME>" if w == RANK else quote(w)) for w in job.train[1:]]
        files["train.plugin_info"] = _info({"Executable": job.train[0], "Arguments": " ".join(train),
                                            "ShellExecute": "False"})
    render = [("<STARTFRAME>-<ENDFRAME>" if w == FRAMES else quote(w)) for w in job.render[1:]]
    files["render.job_info"] = _info({**common, "Name": f"{job.name} (render)", "Frames": frames,
                                      "ChunkSize": str(chunk)})
    files["render.plugin_info"] = _info({"Executable": job.render[0], "Arguments": " ".join(render),
                                         "ShellExecute": "False"})
    return files


def write_job(job: FarmJob, folder: str, plugin: str = "CommandLine", priority: int | None = None,
              pool: str | None = None, group: str | None = None) -> list[str]:
    """Write the job files into ``folder``; returns their paths, job info before plugin info, training first."""
    from vsae.core.io.output_files import write_text_atomic

    paths = []
    for name, text in job_files(job, job.frames, job.chunk, plugin, priority, pool, group).items():
        paths.append(os.path.join(folder, name))
        write_text_atomic(paths[-1], text)
    return paths


def submit_command(paths: list[str]) -> list[str]:
    """The deadlinecommand line that submits the jobs (``write_job``'s files), each dependent on the one before."""
    command = ["deadlinecommand", "-SubmitMultipleJobs", "-dependent"]
    for job_info, plugin_info in zip(paths[0::2], paths[1::2]):
        command += ["-job", job_info, plugin_info]
    return command
