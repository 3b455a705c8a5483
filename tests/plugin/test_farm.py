"""Farm jobs: a node render as a training task and chunked render tasks, run here as a farm would run them."""

import argparse
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import TINY_OPTIONS
from vsae.cli import main
from vsae.plugin.farm import FarmJob, chunk_frames
from vsae.plugin.farm.openjd import job_template, validate

OPENJD = shutil.which("openjd", path=os.path.dirname(sys.executable)) or shutil.which("openjd")


def test_chunks_cover_the_frames_in_order():
    assert chunk_frames(range(1001, 1024), 10) == [list(range(1001, 1011)), list(range(1011, 1021)),
                                                   [1021, 1022, 1023]]


def test_a_job_is_a_valid_open_job_description_with_render_depending_on_training():
    pytest.importorskip("openjd.model")
    job = FarmJob(name="vsae retime sh010", train=["vsae", "train", "/plates/sh010.####.exr", "--steps", "4000"],
                  render=["vsae", "retime", "/plates/sh010.####.exr", "--render", "{frames}", "--no-train"],
                  frames="1001-1020", chunk=10, chunks=["1001-1010", "1011-1020"])
    template = job_template(job)
    assert validate(template)
    train, render = template["steps"]
    assert render["dependencies"] == [{"dependsOn": "Train"}]
    assert render["parameterSpace"]["taskParameterDefinitions"][0]["range"] == ["1001-1010", "1011-1020"]
    assert "{{Task.Param.Frames}}" in render["script"]["actions"]["onRun"]["args"]


def test_print_range_says_what_a_render_makes_and_reads_without_training(tiny_shot, cache_dir, capsys):
    assert main(["retime", tiny_shot["plates"], "--speed", "0.5", "--print-range", "--render", "1003-1004"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan == {"node": "retime", "output": "1001-1023", "render": "1003-1004", "count": 2,
                    "needs": {"source": "1002-1003"}, "model": True}
    assert main(["clean_plate", tiny_shot["plates"], "--boxes", "10,10,30,30", "--print-range"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == "1001-1012"


def test_a_farm_job_trains_by_steps_only(tiny_shot, cache_dir, tmp_path, capsys):
    code = main(["farm", "openjd", "--job-dir", str(tmp_path / "job"), "retime", tiny_shot["plates"], "--speed", "0.5",
                 "--budget", "5m", "-o", str(tmp_path / "out" / "rt.####.exr")])
    assert code == 2 and "give --steps" in capsys.readouterr().err
    assert not (tmp_path / "job").exists()


@pytest.mark.skipif(OPENJD is None, reason="openjd-cli is not installed (pip install -e '.[test]')")
def test_the_whole_open_job_runs_here_and_renders_the_frames_a_single_render_makes(tiny_shot, tmp_path):
    """The farm's way (a training task, then chunks in their own processes, by `openjd run`) and one process
    rendering everything write the same bytes."""
    cache, job = tmp_path / "cache", tmp_path / "job"
    retime = ["retime", tiny_shot["plates"], "--speed", "0.5", *TINY_OPTIONS, "--cache", str(cache)]
    assert main(["farm", "openjd", *retime, "-o", str(tmp_path / "farm" / "rt.####.exr"), "--chunk", "8",
                 "--job-dir", str(job)]) == 0
    run = subprocess.run([OPENJD, "run", str(job / "template.json"), "--step", "Render", "--run-dependencies"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:]
    assert main([*retime, "--no-train", "-o", str(tmp_path / "single" / "rt.####.exr")]) == 0
    single = sorted((tmp_path / "single").iterdir())
    assert len(single) == 23
    for path in single:
        assert (tmp_path / "farm" / path.name).read_bytes() == path.read_bytes(), path.name
    assert len(list((cache / "models").iterdir())) == 1  # one model, trained once, found by every chunk


def test_a_render_task_that_trains_reports_one_growing_percent(tiny_shot, cache_dir, tmp_path, capsys):
    """--progress plain, as a farm's log parser reads it: training is the task's first half, the render the rest."""
    assert main(["retime", tiny_shot["plates"], "--speed", "0.5", *TINY_OPTIONS, "--progress", "plain",
                 "-o", str(tmp_path / "rt.####.exr")]) == 0
    percents = [int(line[len("Progress: "):-1]) for line in capsys.readouterr().out.splitlines()
                if line.startswith("Progress: ")]
    assert percents == sorted(set(percents)) and percents[-1] == 100
    assert 50 in percents  # the training's end, then the frames


def test_training_by_steps_makes_the_same_model_in_separate_processes(tiny_shot, tmp_path):
    """What lets every farm task find the training task's model: the same key, and the same weights, bit for bit."""
    weights = []
    for run in ("a", "b"):
        cache = tmp_path / run
        done = subprocess.run([sys.executable, "-m", "vsae.cli", "train", tiny_shot["plates"], *TINY_OPTIONS, "--cache",
                               str(cache)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        (entry,) = (cache / "models").iterdir()
        weights.append((entry.name, load_file(str(entry / "weights.safetensors"))))
    assert weights[0][0] == weights[1][0]  # the key
    assert weights[0][1].keys() == weights[1][1].keys()
    assert all(torch.equal(weights[0][1][name], weights[1][1][name]) for name in weights[0][1])


def _job(tiny_shot, tmp_path, processes=1, machines=1, options=TINY_OPTIONS):
    from vsae.cli import build_parser
    from vsae.cli.farm import build_job

    farm = argparse.Namespace(backend="openjd", chunk=10, name=None, worker_command="vsae", train_processes=processes,
                              train_machines=machines)
    node = build_parser().parse_args(["retime", tiny_shot["plates"], *options, "--cache", str(tmp_path / "cache"),
                                      "-o", str(tmp_path / "o.####.exr")])
    return build_job(farm, node)


def test_render_tasks_write_the_compression_chosen_where_the_job_was_submitted(tiny_shot, tmp_path, monkeypatch):
    monkeypatch.setenv("VSAE_EXR_COMPRESSION", "piz")  # the show's choice, on the submitting machine
    render = _job(tiny_shot, tmp_path).render
    assert render[render.index("--compression") + 1] == "piz"
    render = _job(tiny_shot, tmp_path, options=[*TINY_OPTIONS, "--compression", "dwaa:45"]).render
    assert render[render.index("--compression") + 1] == "dwaa:45"


def test_the_training_task_can_ask_for_data_parallel_processes(tiny_shot, tmp_path):
    job = _job(tiny_shot, tmp_path, processes=2)
    assert job.train[-2:] == ["--nproc", "2"] and job.train[:2] == ["vsae", "train"]


def test_a_training_on_several_machines_is_one_task_a_machine_meeting_through_the_cache(tiny_shot, tmp_path):
    pytest.importorskip("openjd.model")
    options = ["--steps", "12", "--batch", "6"]
    job = _job(tiny_shot, tmp_path, processes=2, machines=3, options=options)
    assert job.train_machines == 3
    words = job.train_command(2)
    assert words[words.index("--nnodes") + 1:][:3] == ["3", "--node-rank", "2"]

    def meeting(words):
        return words[words.index("--rdzv-file") + 1]

    assert meeting(words).startswith(str(tmp_path / "cache" / "rendezvous")) and meeting(words).endswith(".json")
    assert meeting(words) != meeting(_job(tiny_shot, tmp_path, 2, 3, options).train_command(2))  # a file a job
    train = job_template(job)["steps"][0]
    assert validate(job_template(job))
    assert train["parameterSpace"]["taskParameterDefinitions"] == [{"name": "Rank", "type": "INT", "range": [0, 1, 2]}]
    assert "{{Task.Param.Rank}}" in train["script"]["actions"]["onRun"]["args"]


@pytest.mark.parametrize("machines,batch,reason", [(2, "3", "--batch 3: must be a multiple of the 2 training"),
                                                   (13, "26", "12 training frames for 13 training processes")])
def test_a_training_that_cannot_split_is_refused_before_a_file_is_written(tiny_shot, tmp_path, capsys, machines,
                                                                          batch, reason):
    code = main(["farm", "openjd", "--job-dir", str(tmp_path / "job"), "--train-machines", str(machines),
                 "retime", tiny_shot["plates"], "--steps", "12", "--batch", batch, "--cache", str(tmp_path / "c"),
                 "-o", str(tmp_path / "rt.####.exr")])
    assert code == 2 and reason in capsys.readouterr().err
    assert not (tmp_path / "job").exists() and not (tmp_path / "c").exists()


@pytest.mark.skipif(OPENJD is None, reason="openjd-cli is not installed (pip install -e '.[test]')")
def test_two_training_tasks_on_two_workers_train_one_model_then_the_chunks_render(tiny_shot, tmp_path):
    """Two `openjd run` sessions at once, one training task each (as two farm workers run them): they meet through
    the cache, train one model under the key one process would use, and leave no meeting file behind."""
    cache, job = tmp_path / "cache", tmp_path / "job"
    retime = ["retime", tiny_shot["plates"], "--speed", "0.5", *TINY_OPTIONS, "--cache", str(cache)]
    assert main(["farm", "openjd", *retime, "-o", str(tmp_path / "farm" / "rt.####.exr"), "--chunk", "12",
                 "--train-machines", "2", "--job-dir", str(job)]) == 0
    template = str(job / "template.json")
    workers = [subprocess.Popen([OPENJD, "run", template, "--step", "Train", "-tp", f"Rank={rank}"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for rank in (1, 0)]
    for worker in workers:
        out = worker.communicate(timeout=600)[0]
        assert worker.returncode == 0, out[-3000:]
    (entry,) = (cache / "models").iterdir()
    assert json.loads((entry / "manifest.json").read_text())["metrics"]["processes"] == 2
    assert list((cache / "rendezvous").iterdir()) == []
    run = subprocess.run([OPENJD, "run", template, "--step", "Render"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:]
    assert len(list((tmp_path / "farm").iterdir())) == 23
    # One process trains the same key: the key says what the model is, not how many machines made it.
    assert main(["train", tiny_shot["plates"], *TINY_OPTIONS, "--cache", str(tmp_path / "one")]) == 0
    assert [p.name for p in (tmp_path / "one" / "models").iterdir()] == [entry.name]


def test_hyphenated_node_names_and_space_separated_ranges_as_nuke_writes_them(tiny_shot, cache_dir, capsys):
    assert main(["clean-plate", tiny_shot["plates"], "--boxes", "10,10,30,30", "--print-range",
                 "--render", "1001-1002 1005"]) == 0
    assert json.loads(capsys.readouterr().out)["render"] == "1001-1002,1005"
