"""Driving the project's OFX test host from Python: frames to raw files, a script, the host's event lines back.

Test code, not shipped: used by tests/ofx_bridge and the transport benchmark; testhost/testhost.cpp beside this file
has the script format.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field

import numpy as np

from vsae.ofx_bridge.bundle import build_bundle, compile_cpp

HERE = os.path.dirname(os.path.abspath(__file__))


def build_testhost(output: str, extra_flags: tuple = ()) -> str:
    """Compile the project's own OFX test host (testhost/testhost.cpp beside this file) to ``output``."""
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    flags = ["-O1", "-g", "-pthread", *extra_flags, "-ldl"]
    compile_cpp([os.path.join(HERE, "testhost", "testhost.cpp")], output, flags)
    return output


@dataclass
class HostRun:
    """What a test-host run printed and wrote: event lines, exit code, and the rendered frames by time."""

    returncode: int
    lines: list[str]
    stderr: str
    outputs: dict = field(default_factory=dict)  # time -> (H, W, 4) float32, top row first
    seconds: dict = field(default_factory=dict)  # time -> wall time of the render action


    def events(self, kind: str) -> list[list[str]]:
        return [line.split(" ")[1:] for line in self.lines if line.split(" ")[0] == kind]

    @property
    def messages(self) -> list[str]:
        return [line for line in self.lines if line.startswith("message ")]

    @property
    def images_outstanding(self) -> int:
        found = self.events("images_outstanding")
        return int(found[-1][0]) if found else -1


def write_raw_frames(folder: str, name: str, frames: dict) -> tuple[str, int, int, int]:
    """frames: number -> (H, W, C) float32 top row first. Returns (pattern, width, height, components)."""
    os.makedirs(folder, exist_ok=True)
    pattern = os.path.join(folder, f"{name}.%04d.raw")
    shape = None
    for number, pixels in frames.items():
        pixels = np.ascontiguousarray(pixels, dtype=np.float32)
        shape = pixels.shape
        pixels.tofile(pattern % number)
    h, w, c = shape
    return pattern, w, h, c


class TestHost:
    """A built bundle and test host in ``folder``; ``run`` drives one plug-in."""

    __test__ = False  # not a pytest class

    def __init__(self, folder: str, host_flags: tuple = (), bundle_flags: tuple = (), wrapper: tuple = ()):
        self.folder = folder
        self.plugins = os.path.join(folder, "plugins")
        self.bundle = build_bundle(self.plugins, extra_flags=bundle_flags)
        self.binary = build_testhost(os.path.join(folder, "vsae-testhost"), extra_flags=host_flags)
        self.wrapper = list(wrapper)
        self.count = 0

    def run(self, plugin: str, clips: dict, params: dict, render=(), threads=(), profile: str = "nuke",
            context: str = "filter", rowbytes: str = "negative", abort_after: float | None = None,
            scale: float = 1.0, colourspaces: dict | None = None,
            env: dict | None = None, timeout: float = 600, keep_outputs: bool = True) -> HostRun:
        """clips: OFX clip name -> {frame: pixels}; params: name -> value (text as a host would hold it).
        render: times rendered one after the other; threads: times rendered at once, one host thread each;
        colourspaces: clip name -> the OpenFX 1.5 colourspace a colour-managed host says its images are in."""
        self.count += 1
        work = os.path.join(self.folder, f"run{self.count}")
        os.makedirs(work, exist_ok=True)
        lines = [f"profile\t{profile}", f"plugin\t{plugin}", f"context\t{context}", f"rowbytes\t{rowbytes}"]
        if abort_after is not None:
            lines.append(f"abort\t{abort_after}")
        if scale != 1.0:
            lines.append(f"scale\t{scale}")
        for name, frames in clips.items():
            pattern, w, h, c = write_raw_frames(work, name, frames)
            lines.append(f"clip\t{name}\t{pattern}\t{min(frames)}\t{max(frames)}\t{w}\t{h}\t{c}")
        for name, value in params.items():
            lines.append(f"param\t{name}\t{value}")
        for name, space in (colourspaces or {}).items():
            lines.append(f"colourspace\t{name}\t{space}")
        out_pattern = os.path.join(work, "out.%04d.raw")
        for t in render:
            lines.append(f"render\t{t}\t{out_pattern % t}")
        if threads:
            lines.append("threads\t" + out_pattern + "\t" + "\t".join(str(t) for t in threads))
        script = os.path.join(work, "script.txt")
        with open(script, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        result = subprocess.run([*self.wrapper, self.binary, script], capture_output=True, text=True,
                                timeout=timeout, env={**os.environ, "OFX_PLUGIN_PATH": self.plugins, **(env or {})})
        run = HostRun(result.returncode, result.stdout.splitlines(), result.stderr)
        for fields in run.events("render"):
            time, status, w, h = float(fields[0]), int(fields[2]), int(fields[4]), int(fields[5])
            run.seconds[int(time)] = float(fields[7])
            path = out_pattern % int(time)
            if status == 0 and os.path.exists(path):
                if keep_outputs:
                    run.outputs[int(time)] = np.fromfile(path, np.float32).reshape(h, w, 4)
                os.unlink(path)
        return run
