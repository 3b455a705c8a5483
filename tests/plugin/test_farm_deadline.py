"""Deadline 10 jobs: the files' fields, the tasks run as Deadline runs them, and vsae's Deadline plugin."""

import importlib.util
import shlex
import subprocess
import sys
import types

from tests.conftest import TINY_OPTIONS
from vsae.cli import main
from vsae.plugin.farm.deadline import PLUGIN_FOLDER



def _fields(path):
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def _as_deadline_runs(job_info, plugin_info):
    """Each task's command line: the job's frames cut into ChunkSize tasks, <STARTFRAME>/<ENDFRAME> filled in."""
    frames = [int(f) for part in job_info["Frames"].split(",") for f in
              (range(int(part.split("-")[0]), int(part.split("-")[-1]) + 1))]
    size = int(job_info["ChunkSize"])
    for i in range(0, len(frames), size):
        task = frames[i:i + size]
        arguments = plugin_info["Arguments"].replace("<STARTFRAME>", str(task[0])).replace("<ENDFRAME>", str(task[-1]))
        yield [plugin_info["Executable"], *shlex.split(arguments)]


def test_deadline_jobs_run_task_by_task_render_what_one_process_renders(tiny_shot, tmp_path, capsys):
    cache, job = tmp_path / "cache", tmp_path / "job"
    retime = ["retime", tiny_shot["plates"], "--speed", "0.5", *TINY_OPTIONS, "--cache", str(cache)]
    assert main(["farm", "deadline", *retime, "-o", str(tmp_path / "farm" / "rt.####.exr"), "--chunk", "10",
                 "--priority", "60", "--pool", "comp", "--job-dir", str(job)]) == 0
    assert "deadlinecommand -SubmitMultipleJobs -dependent -job" in capsys.readouterr().out
    train_job, render_job = _fields(job / "train.job_info"), _fields(job / "render.job_info")
    assert train_job["Plugin"] == render_job["Plugin"] == "CommandLine"
    assert (render_job["Frames"], render_job["ChunkSize"], render_job["Priority"], render_job["Pool"]) == \
        ("1001-1023", "10", "60", "comp")
    render_info = _fields(job / "render.plugin_info")
    assert "--render <STARTFRAME>-<ENDFRAME> --no-train" in render_info["Arguments"]
    assert "--progress plain" in render_info["Arguments"]
    for command in [*_as_deadline_runs(train_job, _fields(job / "train.plugin_info")),
                    *_as_deadline_runs(render_job, render_info)]:
        assert subprocess.run(command, capture_output=True).returncode == 0, command
    assert main([*retime, "--no-train", "-o", str(tmp_path / "single" / "rt.####.exr")]) == 0
    for path in sorted((tmp_path / "single").iterdir()):
        assert (tmp_path / "farm" / path.name).read_bytes() == path.read_bytes(), path.name


def test_a_training_on_two_machines_is_two_tasks_whose_frame_is_the_rank(tiny_shot, tmp_path):
    job = tmp_path / "job"
    assert main(["farm", "deadline", "retime", tiny_shot["plates"], *TINY_OPTIONS, "--cache", str(tmp_path / "cache"),
                 "-o", str(tmp_path / "rt.####.exr"), "--train-machines", "2", "--job-dir", str(job)]) == 0
    train_job = _fields(job / "train.job_info")
    assert (train_job["Frames"], train_job["ChunkSize"]) == ("0-1", "1")
    commands = list(_as_deadline_runs(train_job, _fields(job / "train.plugin_info")))
    assert [c[c.index("--node-rank") + 1] for c in commands] == ["0", "1"]
    assert all(c[c.index("--nnodes") + 1] == "2" for c in commands)


class _Event:
    def __init__(self):
        self.handlers = []

    def __iadd__(self, handler):
        self.handlers.append(handler)
        return self


class _StandInDeadlinePlugin:
    """What the plugin uses of Deadline.Plugins.DeadlinePlugin, recording what it is told."""

    def __init__(self):
        self.InitializeProcessCallback = _Event()
        self.RenderExecutableCallback = _Event()
        self.RenderArgumentCallback = _Event()
        self.StdoutHandlers, self.progress, self.failed, self.environment = [], [], [], {}
        self.info = {"Executable": "/usr/bin/vsae", "Arguments": "retime /p.####.exr --render <STARTFRAME>-<ENDFRAME>"}
        self.match = None

    def AddStdoutHandlerCallback(self, pattern):
        handler = types.SimpleNamespace(pattern=pattern, HandleCallback=_Event())
        self.StdoutHandlers.append(handler)
        return handler

    def SetEnvironmentVariable(self, key, value):
        self.environment[key] = value

    def GetPluginInfoEntry(self, key):
        return self.info[key]

    def GetStartFrame(self):
        return 1011

    def GetEndFrame(self):
        return 1020

    def GetRegexMatch(self, index):
        return self.match.group(index)

    def SetProgress(self, value):
        self.progress.append(value)

    def FailRender(self, message):
        self.failed.append(message)

    def feed(self, line):
        import re

        for handler in self.StdoutHandlers:
            self.match = re.search(handler.pattern, line)
            if self.match:
                for callback in handler.HandleCallback.handlers:
                    callback()


def test_the_deadline_plugin_reads_vsae_s_progress_and_errors(monkeypatch):
    deadline = types.ModuleType("Deadline")
    deadline.Plugins = types.SimpleNamespace(DeadlinePlugin=_StandInDeadlinePlugin)
    monkeypatch.setitem(sys.modules, "Deadline", deadline)
    monkeypatch.setitem(sys.modules, "Deadline.Plugins", deadline.Plugins)
    spec = importlib.util.spec_from_file_location("VSAE", f"{PLUGIN_FOLDER}/VSAE/VSAE.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plugin = module.GetDeadlinePlugin()
    for callback in plugin.InitializeProcessCallback.handlers:
        callback()
    assert plugin.environment == {"VSAE_PROGRESS": "plain"}
    assert plugin.RenderArgumentCallback.handlers[0]() == "retime /p.####.exr --render 1011-1020"
    for line in ["Progress: 0%", "Progress: 50%", "wrote 10 frames", "Progress: 100%",
                 "vsae: error: retime: output frame 1030 is outside the output range 1001-1023"]:
        plugin.feed(line)
    assert plugin.progress == [0.0, 50.0, 100.0]
    assert plugin.failed == ["retime: output frame 1030 is outside the output range 1001-1023"]
