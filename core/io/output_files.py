"""Where outputs may go: never onto an input, only into a folder that can take them, with the modes the umask gives.

Every command that writes files plans its output paths first and checks them here, before it reads a pixel or
trains a step: an output that resolves to a file of any input clip (source, plates, keys, mattes), or that would add
frames to an input's own sequence, is refused with one line naming both. Files and folders vsae creates follow the
process umask like any other tool's (a studio sets group bits with its umask; tempfile's 0600/0700 would lock
other users' farm tasks out).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from typing import Callable

from vsae.errors import OutputError

# name.<digits>.ext: the frame number sits right before the extension (Nuke's and fileseq's convention)
_NUMBERED = re.compile(r"^(.*?)(-?\d+)(\.[^.]+)$")


def current_umask() -> int:
    """The process umask, read without changing it (``os.umask`` sets it while reading: a race with other threads)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def follow_umask(path: str, folder: bool = False) -> None:
    """Give a file (0666) or folder (0777) made by ``mkstemp``/``mkdtemp`` (0600/0700) the mode the umask allows."""
    os.chmod(path, (0o777 if folder else 0o666) & ~current_umask())


def write_atomic(path: str, write: Callable[[str], None]) -> None:
    """``write(tmp)`` writes a temp file beside ``path`` (same extension); it gets the umask's mode and is renamed
    into place whole. A reader sees the old file or the new one, never half of one; a failure leaves nothing."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=os.path.splitext(path)[1],
                               dir=folder)
    os.close(fd)
    try:
        write(tmp)
        follow_umask(tmp)  # mkstemp and safetensors make files 0600 whatever the umask
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str, text: str) -> None:
    """``text`` into ``path`` as ``write_atomic`` writes (a reader sees the old file or the new one)."""

    def write(tmp: str) -> None:
        with open(tmp, "w") as fh:
            fh.write(text)

    write_atomic(path, write)


def _sequence_key(path: str) -> tuple | None:
    """(real folder, name before the frame number, extension) of a numbered file; None for an unnumbered one."""
    m = _NUMBERED.match(os.path.basename(path))
    if not m:
        return None
    return os.path.realpath(os.path.dirname(os.path.abspath(path))), m.group(1), m.group(3).lower()


def check_outputs(outputs: Iterable[str], inputs: Iterable) -> None:
    """Refuse outputs that would overwrite or extend an input, or that cannot be written.

    outputs: file paths about to be written. inputs: every ShotSequence the command reads (source, plates, keys,
    mattes). Raises OutputError with one line naming the output and the input it collides with; nothing is written.
    """
    outputs = list(outputs)
    by_path: dict[str, tuple[str, int, str]] = {}
    by_inode: dict[tuple[int, int], tuple[str, int, str]] = {}
    sequences: dict[tuple, str] = {}
    for seq in inputs:
        if seq is None:
            continue
        for frame, path in seq.files().items():
            real = os.path.realpath(path)
            by_path.setdefault(real, (seq.label, frame, path))
            try:
                st = os.stat(path)
                by_inode.setdefault((st.st_dev, st.st_ino), (seq.label, frame, path))
            except OSError:
                pass
            key = _sequence_key(real)
            if key is not None:
                sequences.setdefault(key, seq.label)
    for out in outputs:
        real = os.path.realpath(out)
        hit = by_path.get(real)
        if hit is None and os.path.exists(out):
            st = os.stat(out)
            hit = by_inode.get((st.st_dev, st.st_ino))
        if hit is not None:
            label, frame, path = hit
            raise OutputError(f"output {out} is frame {frame} of the input {label} ({path}): refusing to overwrite "
                              f"an input; write the output elsewhere")
        key = _sequence_key(real)
        if key is not None and key in sequences:
            raise OutputError(f"output {out} would write into the input sequence {sequences[key]}: refusing to "
                              f"overwrite or extend an input; write the output elsewhere")
    for folder in sorted({os.path.dirname(os.path.abspath(p)) for p in outputs}):
        check_writable_folder(folder)
    for out in outputs:
        if os.path.isdir(out):
            raise OutputError(f"output {out}: is a folder")


def check_writable_folder(folder: str) -> None:
    """The folder exists and can take new files, or it can be created (its nearest existing parent can)."""
    probe = os.path.abspath(folder)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise OutputError(f"output folder {folder}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        what = "output folder" if probe == os.path.abspath(folder) else f"output folder {folder}: its parent"
        raise OutputError(f"{what} {probe} is not writable")
