"""vsae: video-specific autoencoders for compositing (retime, upres, clean plate, mask propagation)."""
from setuptools import setup

# One importable package, ``vsae``, whose layers live in the top-level folders the design card names.
PACKAGES = {
    "vsae": "vsae",
    "vsae.cli": "vsae/cli",
    "vsae.core": "core",
    "vsae.core.io": "core/io",
    "vsae.core.model": "core/model",
    "vsae.core.training": "core/training",
    "vsae.core.ops": "core/ops",
    "vsae.core.demo": "core/demo",
    "vsae.plugin": "plugin",
    "vsae.plugin.nodes": "plugin/nodes",
    "vsae.plugin.farm": "plugin/farm",
    "vsae.plugin.qt": "plugin/qt",
    "vsae.ofx_bridge": "ofx_bridge",
}

setup(
    name="vsae",
    version="0.1.0",
    description=__doc__,
    python_requires=">=3.9",
    packages=list(PACKAGES),
    package_dir=PACKAGES,
    # The OFX shim is built from source at install time (`vsae install ofx`).
    package_data={"vsae.ofx_bridge": ["include/*.h", "shim/*.cpp"],
                  "vsae.plugin.farm": ["deadline_plugin/VSAE/*"],
                  "vsae.core.training": ["priors/*.safetensors", "priors/*.json"]},  # the shipped prior
    install_requires=[
        # torch is pinned by install/bootstrap.sh (CPU wheel); a looser range here never pulls a CUDA build
        # on a machine that already has a torch.
        "torch>=2.1",
        "numpy>=1.23",
        "opencv-python-headless>=4.8",
        "onnx>=1.15",
        "OpenImageIO>=2.5",
        "fileseq>=2.0",
        "safetensors>=0.4",
        "filelock>=3.12",
        "platformdirs>=3.0",
        "tqdm>=4.60",
        "xxhash>=3.0",
    ],
    extras_require={
        # ONNX Runtime's CPU and GPU builds install the same module and cannot live side by side: pick one extra.
        "cpu": ["onnxruntime>=1.17"],
        "gpu": ["onnxruntime-gpu>=1.17"],
        # PySide6 6.12.0 drops a reference to None on every call that returns nothing (Python 3.11 then aborts
        # at exit): tests/plugin/qt checks for it.
        "qt": ["qtpy>=2.4", "PySide6-Essentials>=6.5,<6.12"],
        # ruff and mypy pinned: a newer release's new checks must not fail a build nobody changed.
        "test": ["pytest>=7", "ruff==0.17.5", "mypy==2.4.1", "openjd-cli==0.8.0", "opencue-pyoutline==1.37.0",
                 "packaging"],
        # Farm submission: OpenJD templates are checked with openjd-model; OpenCue jobs are built with pyoutline
        # (which imports packaging without declaring it).
        "farm": ["openjd-model>=0.13", "opencue-pyoutline>=1.37", "packaging"],
        # Benchmarks only: PyAV's H.264/H.265 encoders, the baselines of bench/conform_quality.py.
        "bench": ["av>=12"],
    },
    entry_points={"console_scripts": ["vsae = vsae.cli:main"]},
)
