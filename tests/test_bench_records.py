"""bench/README.md's Records section is what bench/records.py makes of bench/results: the tables cannot drift."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_bench_readme_records_match_the_results():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "records.py"), "--check"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def test_one_record_per_benchmark_script():
    """Every JSON in bench/results is the record of a script in bench/ (no one-off result files)."""
    scripts = {p.stem for p in (ROOT / "bench").glob("*.py")}
    records = {p.stem for p in (ROOT / "bench" / "results").glob("*.json")}
    assert records <= scripts, f"results without a benchmark: {sorted(records - scripts)}"
