"""The dependency direction: core knows no host, Qt or OFX; plugin/ and the CLI load without torch."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + (node.module or ""))
    return names


def test_core_imports_no_higher_layer():
    forbidden = ("plugin", "ofx_bridge", "qtpy", "PySide2", "PySide6", "cli")
    for path in (ROOT / "core").glob("*.py"):
        for name in _imports(path):
            assert not any(part in forbidden for part in name.lstrip(".").split(".")), f"{path.name} imports {name}"


def test_cli_and_plugin_load_without_torch_or_onnxruntime():
    code = ("import sys; sys.modules['torch'] = None; sys.modules['onnxruntime'] = None\n"
            "import vsae.cli, vsae.plugin, vsae.core, vsae.core.sequence, vsae.core.colour\n"
            "from vsae.plugin.nodes import all_nodes\n"
            "assert all_nodes()\n"
            "vsae.cli.build_parser()\n")
    subprocess.run([sys.executable, "-c", code], check=True)
