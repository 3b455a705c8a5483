"""CI: the README's pip lines for a CPU and a GPU machine, checked as far as a CPU machine can.

The CPU line is what install/bootstrap.sh ran: ONNX Runtime's CPU build is here and its GPU build is not. The GPU
line resolves (``pip install --dry-run``) to ONNX Runtime's GPU build and not to the CPU one. The two extras name
exclusive packages, and vsae itself requires neither. Exit 1 with one line per failure.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from importlib import metadata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNTIMES = ("onnxruntime", "onnxruntime-gpu")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def main() -> int:
    failures = []
    with open(os.path.join(ROOT, "README.md")) as fh:
        readme = fh.read()
    for extra in ("cpu", "gpu"):
        if f"pip install -e '.[{extra}]'" not in readme:
            failures.append(f"README: no `pip install -e '.[{extra}]'` line")
    by_extra: dict[str, set[str]] = {}
    for requirement in metadata.requires("vsae") or []:
        marker = re.search(r"""extra\s*==\s*['"]([^'"]+)['"]""", requirement)
        name = _name(requirement)
        if name in RUNTIMES:
            by_extra.setdefault(marker.group(1) if marker else "", set()).add(name)
    if by_extra != {"cpu": {"onnxruntime"}, "gpu": {"onnxruntime-gpu"}}:
        failures.append(f"setup.py: ONNX Runtime requirements by extra are {by_extra}; expected onnxruntime in "
                        "[cpu] alone and onnxruntime-gpu in [gpu] alone")
    installed = {}
    for name in RUNTIMES:
        try:
            installed[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    if list(installed) != ["onnxruntime"]:
        failures.append(f"CPU line: ONNX Runtime packages installed are {installed}; expected onnxruntime alone")
    with tempfile.TemporaryDirectory() as work:
        report = os.path.join(work, "report.json")
        run = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet",
                              "--disable-pip-version-check", "--report", report, "-e", ".[gpu]"],
                             cwd=ROOT, capture_output=True, text=True)
        if run.returncode != 0:
            failures.append(f"GPU line: pip could not resolve it: {run.stderr.strip().splitlines()[-1:]}")
        else:
            with open(report) as fh:
                names = {_name(item["metadata"]["name"]) for item in json.load(fh)["install"]}
            if "onnxruntime-gpu" not in names or "onnxruntime" in names:
                failures.append(f"GPU line: resolves to {sorted(n for n in names if n in RUNTIMES)}; expected "
                                "onnxruntime-gpu alone")
    for failure in failures:
        print(f"install lines: {failure}", file=sys.stderr)
    if not failures:
        print(f"install lines: CPU line installed onnxruntime {installed.get('onnxruntime')}; GPU line resolves to "
              "onnxruntime-gpu alone")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
