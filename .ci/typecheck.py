"""mypy over the packages pyproject.toml names ([tool.mypy] packages), seen as the installed package sees them.

The package's folders are mapped onto one package, vsae, by setup.py's PACKAGES (core/ is vsae.core). mypy reads
folders, not that mapping, so this lays the mapping out as links in a temporary folder, runs mypy there and
prints its findings with the repository's own paths. Usage: .venv/bin/python .ci/typecheck.py
"""

import ast
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]


def package_folders() -> dict[str, str]:
    """setup.py's PACKAGES literal: dotted package name -> folder relative to the repository."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PACKAGES":
            return ast.literal_eval(node.value)
    raise SystemExit("setup.py has no PACKAGES mapping")


def lay_out(folders: dict[str, str], into: pathlib.Path) -> dict[str, str]:
    """Links under ``into`` that make each package's folder appear where its dotted name puts it. Returns
    {laid-out path prefix: repository folder} for translating mypy's paths back."""
    prefixes = {}
    for name in sorted(folders, key=lambda n: n.count(".")):
        parent, _, last = name.rpartition(".")
        if parent and folders[name] == f"{folders[parent]}/{last}":
            continue  # already inside its parent's folder
        target = into / name.replace(".", "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not parent:  # the top package: its folder's own entries, so mapped sub-packages can sit beside them
            target.mkdir()
            for entry in (ROOT / folders[name]).iterdir():
                if entry.name != "__pycache__" and entry.name not in {n.rsplit(".", 1)[-1] for n in folders}:
                    (target / entry.name).symlink_to(entry)
        else:
            target.symlink_to(ROOT / folders[name], target_is_directory=True)
        prefixes[name.replace(".", "/") + "/"] = folders[name] + "/"
    return prefixes


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="vsae-typecheck-") as tmp:
        prefixes = lay_out(package_folders(), pathlib.Path(tmp))
        result = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                                 "--cache-dir", str(ROOT / ".mypy_cache")], cwd=tmp, capture_output=True, text=True)
    for line in (result.stdout + result.stderr).splitlines():
        for laid, folder in sorted(prefixes.items(), key=lambda kv: -len(kv[0])):
            if line.startswith(laid):
                line = folder + line[len(laid):]
                break
        print(line)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
