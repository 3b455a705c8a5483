"""Open Job Description (the job format of AWS Deadline Cloud, run locally by ``openjd run``): a job template with
a Train step and a Render step whose tasks are the chunks, each depending on the training.

    openjd run job.template.json --step Render --run-dependencies     # the whole job on this machine
    deadline bundle submit JOB_FOLDER                                  # to a Deadline Cloud queue
"""

from __future__ import annotations

import json
import os
from typing import Any

from vsae.plugin.farm import FRAMES, RANK, FarmJob

SPECIFICATION = "jobtemplate-2023-09"
TEMPLATE = "template.json"  # the names Deadline Cloud's job bundles use
PARAMETERS = "parameter_values.json"


def _action(argv: list[str]) -> dict:
    return {"actions": {"onRun": {"command": argv[0], "args": argv[1:]}}}


def job_template(job: FarmJob) -> dict:
    """The job as an Open Job Description template (a dict, JSON-able)."""
    steps = []
    if job.train is not None:
        train: dict[str, Any] = {"name": "Train", "script": _action(job.train)}
        if job.train_machines > 1:  # one task a machine, all at once; each its own rank
            rank = {"name": "Rank", "type": "INT", "range": list(range(job.train_machines))}
            train["parameterSpace"] = {"taskParameterDefinitions": [rank]}
            train["script"] = _action([("{{Task.Param.Rank}}" if word == RANK else word) for word in job.train])
        steps.append(train)
    render = [("{{Task.Param.Frames}}" if word == FRAMES else word) for word in job.render]
    frames = {"name": "Frames", "type": "STRING", "range": list(job.chunks)}  # one task a chunk
    step: dict[str, Any] = {"name": "Render", "parameterSpace": {"taskParameterDefinitions": [frames]},
                            "script": _action(render)}
    if job.train is not None:
        step["dependencies"] = [{"dependsOn": "Train"}]
    steps.append(step)
    template: dict[str, Any] = {"specificationVersion": SPECIFICATION, "name": job.name, "steps": steps}
    if job.environment:
        template["jobEnvironments"] = [{"name": "vsae", "variables": dict(job.environment)}]
    return template


def validate(template: dict) -> bool:
    """Check the template with openjd-model when it is installed (True); False when it is not. Raises
    ParameterError with the model's reason for a template it refuses."""
    try:
        from openjd.model import DecodeValidationError, create_job, decode_job_template
    except ImportError:
        return False
    from vsae.errors import ParameterError

    try:
        create_job(job_template=decode_job_template(template=template), job_parameter_values={})
    except DecodeValidationError as exc:
        raise ParameterError(f"open job description: the template is not valid: {exc}") from None
    return True


def write_job(job: FarmJob, folder: str) -> list[str]:
    """Write the job's template and (empty) parameter values into ``folder`` (a job bundle); returns the paths."""
    from vsae.core.io.output_files import write_text_atomic

    template = job_template(job)
    validate(template)
    paths = []
    for name, body in ((TEMPLATE, template), (PARAMETERS, {"parameterValues": []})):
        paths.append(os.path.join(folder, name))
        write_text_atomic(paths[-1], json.dumps(body, indent=1) + "\n")
    return paths


def submit_command(folder: str) -> list[str]:
    """Deadline Cloud's command that submits the job bundle in ``folder``."""
    return ["deadline", "bundle", "submit", folder]
