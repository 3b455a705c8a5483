#!/usr/bin/env bash
# The Explore panel's tests under PySide2 (Nuke 15 and older) through qtpy, on this Python 3.11 machine.
# PyPI's PySide2 5.15.2.1 wheel is tagged abi3 for CPython 3.5-3.10, so pip will not install it here: it is
# downloaded for 3.10 and unpacked beside the venv instead (Nuke 13-15 run Python 3.7-3.10, where it installs).
# Under 3.11 shiboken2 aborts at interpreter exit, after the tests have reported: the script exits with pytest's
# code before that teardown.
#
#   bash bench/pyside2_panel.sh            # from the repository root, with .venv set up
set -euo pipefail
site="${PYSIDE2_SITE:-/tmp/vsae-pyside2}"
if [ ! -d "$site/PySide2" ]; then
    wheels="$(mktemp -d)"
    .venv/bin/pip download -q --no-deps --only-binary=:all: --python-version 3.10 -d "$wheels" \
        "PySide2==5.15.2.1" "shiboken2==5.15.2.1"
    mkdir -p "$site"
    for w in "$wheels"/*.whl; do (cd "$site" && unzip -q -o "$w"); done
    rm -rf "$wheels"
fi
QT_API=pyside2 QT_QPA_PLATFORM=offscreen PYTHONPATH="$site" .venv/bin/python - <<'PY'
import os
import pytest

rc = pytest.main(["-q", "-p", "no:cacheprovider", "tests/plugin/qt"])
import qtpy

print(f"qtpy binding: {qtpy.API_NAME} {qtpy.QT_VERSION}; pytest exit {int(rc)}", flush=True)
os._exit(int(rc))  # skip shiboken2's teardown, which aborts under Python 3.11
PY
