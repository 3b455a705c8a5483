"""The examples in docstrings run: a doctest that drifts from the code fails here."""

import doctest
import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = {"core": "vsae.core", "plugin": "vsae.plugin", "vsae": "vsae", "ofx_bridge": "vsae.ofx_bridge"}
MODULES = sorted(f"{package}.{path.relative_to(ROOT / folder).with_suffix('').as_posix().replace('/', '.')}"
                 for folder, package in PACKAGES.items() for path in (ROOT / folder).rglob("*.py")
                 if ">>> " in path.read_text() and path.name != "__init__.py")


def test_some_modules_carry_examples():
    assert "vsae.core.ops.clean_plate" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
