#!/usr/bin/env bash
# Set up vsae on a fresh machine: a virtual environment in .venv with the CPU build of torch and vsae installed
# editable with its test and Qt (PySide6, for the Explore panel) extras. Idempotent: run it again and it only
# checks. Usage: install/bootstrap.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# torch first and pinned: this release resolves to the CPU wheel; an unpinned torch would pull a multi-GB CUDA
# build. For a GPU machine install a CUDA torch yourself first; this line then leaves it alone if it is 2.13.0.
.venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[cpu,test,qt]"
