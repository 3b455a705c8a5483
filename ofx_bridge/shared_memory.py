"""POSIX shared memory for pixels between the OFX shim and the render server: segments of this user only, never
through a symlink, never readable by anyone else, and the stale ones of a dead process removed."""

from __future__ import annotations

import mmap
import os
import stat

import numpy as np

from vsae.errors import ProtocolError

# Bounds on one frame: a 64k side, a gigapixel.
MAX_SIDE = 65536
MAX_PIXELS = 32768 * 32768


def _segment_path(name: str) -> str:
    if not name.startswith("/") or "/" in name[1:] or len(name) < 2:
        raise ProtocolError(f"shared memory name {name!r}: expected /name")
    return "/dev/shm" + name


def check_image_size(width: int, height: int, what: str) -> None:
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE and width * height <= MAX_PIXELS):
        raise ProtocolError(f"{what}: size {width}x{height} is out of bounds")


def _open_own(path: str, flags: int) -> int:
    """Open a segment without following a symlink; it must be a plain file of this user that nobody else can open."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise ProtocolError(f"shared memory {path}: cannot open ({exc.strerror})") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        os.close(fd)
        raise ProtocolError(f"shared memory {path}: not a private segment of this user; refused")
    return fd


def read_segment(name: str, width: int, height: int, components: int) -> np.ndarray:
    """(height, width, components) float32 over the shared-memory segment ``name`` (rows top to bottom).

    No copy: the array holds the mapping, which outlives the name (the shim unlinks it once we answer) and goes
    when the array does. The segment must be this user's and private (see ``_open_own``)."""
    check_image_size(width, height, f"shared memory {name}")
    count = width * height * components
    fd = _open_own(_segment_path(name), os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size < count * 4:
            raise ProtocolError(f"shared memory {name}: {size} bytes, {count * 4} expected")
        mm = mmap.mmap(fd, max(1, count * 4), prot=mmap.PROT_READ)
    finally:
        os.close(fd)
    return np.frombuffer(mm, np.float32, count).reshape(height, width, components)


def new_segment(name: str, shape: tuple) -> np.ndarray:
    """A new segment ``name`` (mode 0600) and a writable float32 array of ``shape`` over it, to fill in place."""
    nbytes = max(4, int(np.prod(shape)) * 4)
    fd = _open_own(_segment_path(name), os.O_CREAT | os.O_EXCL | os.O_RDWR)
    try:
        os.ftruncate(fd, nbytes)
        # Pages faulted in at once: a 4K frame is 32k pages, touched one by one they cost more than the copy.
        mm = mmap.mmap(fd, nbytes, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0))
    finally:
        os.close(fd)
    return np.frombuffer(mm, np.float32, int(np.prod(shape))).reshape(shape)


def unlink_segment(name: str) -> None:
    try:
        os.unlink(_segment_path(name))
    except FileNotFoundError:
        pass


def remove_stale_segments() -> list[str]:
    """Unlink this user's segments whose process is gone (a killed server or host leaves its segments behind)."""
    removed = []
    try:
        names = os.listdir("/dev/shm")
    except OSError:
        return removed
    for name in names:
        if not name.startswith(("vsae-s", "vsae-h")):
            continue
        try:
            pid = int(name[6:].split("-")[0])
            if os.stat("/dev/shm/" + name).st_uid != os.getuid():
                continue
            os.kill(pid, 0)
        except ProcessLookupError:
            unlink_segment("/" + name)
            removed.append(name)
        except (ValueError, OSError):
            continue
    return removed
