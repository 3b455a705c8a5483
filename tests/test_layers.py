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
    for path in (ROOT / "core").rglob("*.py"):
        for name in _imports(path):
            assert not any(part in forbidden for part in name.lstrip(".").split(".")), f"{path.name} imports {name}"


# Inside core, each concern builds only on those listed before it (a module may use its own concern's modules).
CORE_LAYERS = (
    "errors", "colour", "settings", "progress", "metrics", "io", "shared_lock",  # data, pixels and files
    "model",  # the network and the ways to run it
    "ops",  # the nodes' operations, over a model
    "training",  # fitting a model (it trains on the operations' own degradations)
    "cache", "model_ref",  # which model: trained once, shared, resolved
    "explore", "demo",  # whole jobs over a shot and its model
)


def _core_concern(module: str) -> str:
    parts = module.split(".")
    return parts[2] if parts[:2] == ["vsae", "core"] and len(parts) > 2 else "errors"


def test_core_concerns_build_only_on_lower_ones():
    level = {concern: i for i, concern in enumerate(CORE_LAYERS)}
    for path in (ROOT / "core").rglob("*.py"):
        own = path.relative_to(ROOT / "core").with_suffix("").parts[0]
        if own == "__init__":
            continue
        for name in _imports(path):
            if name.startswith("vsae.core.") or name in ("vsae", "vsae.errors"):
                used = _core_concern(name)
                assert used == own or level[used] < level[own], \
                    f"core/{path.relative_to(ROOT / 'core')} ({own}) imports {name} ({used}), not below it"


def test_package_imports_are_absolute():
    """Imports name the module they mean (vsae.core.ops.retime), so a reader and a tool find it from any file."""
    for folder in ("core", "plugin", "vsae", "ofx_bridge"):
        for path in (ROOT / folder).rglob("*.py"):
            relative = [name for name in _imports(path) if name.startswith(".")]
            assert not relative, f"{path.relative_to(ROOT)} imports {relative}"


def test_plugin_never_imports_torch_or_onnxruntime_itself():
    """Nodes reach the network only through core operations (not even a lazy import of torch in a render)."""
    for path in (ROOT / "plugin").rglob("*.py"):
        for name in _imports(path):
            assert name.split(".")[0] not in ("torch", "onnxruntime"), f"{path.relative_to(ROOT)} imports {name}"


def test_every_error_is_declared_in_vsae_errors_under_one_base():
    import vsae.errors

    for folder in ("core", "plugin", "vsae", "ofx_bridge"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "vsae" / "errors.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef):
                    bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                    assert not any(b.endswith(("Error", "Exception")) for b in bases), \
                        f"{path.relative_to(ROOT)}: {node.name} is an error outside vsae/errors.py"
    errors = [v for v in vars(vsae.errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert all(issubclass(e, vsae.errors.VsaeError) for e in errors)


# Each benchmark of a node imports the node's operation from the package, and none of the pieces it is built from:
# a benchmark that assembles the pieces itself measures a copy, not the code that ships.
BENCH_OPERATIONS = {
    "retime_quality.py": ("retime_inbetween", ("flow_warps", "hybrid_inbetween", "interpolate_latents")),
    "clean_plate_quality.py": ("clean_plate", ("temporal_fill", "surround_fill", "reproject_fill", "hole_matte")),
    "canvas_seams.py": ("extend", ("reproject_canvas", "pad_canvas", "match_held_area", "seam_keep")),
    "upres_quality.py": ("upres", ("reproject", "keep_low_frequencies")),
    "mask_propagate_quality.py": ("MaskPropagation", ("Propagation", "hypercolumns", "grid_to_mask", "refine_matte")),
}


def _imported_names(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for a in node.names}


def test_benchmarks_measure_the_shipped_operation():
    for bench, (operation, pieces) in BENCH_OPERATIONS.items():
        names = _imported_names(ROOT / "bench" / bench)
        assert operation in names, f"bench/{bench} does not call {operation}"
        assert not names & set(pieces), f"bench/{bench} rebuilds {operation} from {sorted(names & set(pieces))}"


def test_cli_and_plugin_load_without_torch_or_onnxruntime():
    code = ("import sys; sys.modules['torch'] = None; sys.modules['onnxruntime'] = None\n"
            "import vsae.cli, vsae.plugin, vsae.core, vsae.core.io.sequence, vsae.core.colour\n"
            "from vsae.plugin.nodes import all_nodes\n"
            "assert all_nodes()\n"
            "vsae.cli.build_parser()\n")
    subprocess.run([sys.executable, "-c", code], check=True)
