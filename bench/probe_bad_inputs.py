"""Run every bad input the README promises to refuse through the installed ``vsae`` and print one table row each:
the input, the exit code, the message, and what it left behind (files new, changed or gone anywhere in the work
folder: inputs, outputs, the model cache; the cache's empty lock files aside). A row is clean when the exit code is
the one promised and nothing was left behind that should not be. Tiny shots and 12-step models: about two minutes on
two cores.

    python bench/probe_bad_inputs.py [--markdown]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import xxhash

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from vsae.core.io.sequence import Frame, write_image  # noqa: E402

TINY = ["--steps", "12", "--k", "4", "--batch", "2", "--crop", "64"]


def vsae(*args, env=None):
    p = subprocess.run([sys.executable, "-m", "vsae.cli", *map(str, args)], capture_output=True, text=True,
                       env={**os.environ, **(env or {})}, timeout=600)
    lines = [ln for ln in p.stderr.strip().splitlines() if not ln.startswith("vsae-progress")]
    return p.returncode, (lines[-1] if lines else p.stdout.strip().splitlines()[-1] if p.stdout.strip() else "")


def snapshot(root: str) -> dict:
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            with open(path, "rb") as fh:
                out[os.path.relpath(path, root)] = xxhash.xxh3_64_hexdigest(fh.read())
    return out


def shot(folder, name="a", sizes=None, frames=range(1, 5), raw=None):
    os.makedirs(folder, exist_ok=True)
    for f in frames:
        w, h = (sizes or {}).get(f, (64, 64))
        rgb = np.full((h, w, 3), 0.1 * f, np.float32)
        rgb[:, : w // 2] += 0.3
        path = os.path.join(folder, f"{name}.{f:04d}.exr")
        if raw is not None:
            raw(path, rgb, f)
        else:
            write_image(path, Frame(rgb=rgb, pixel_type="half"))
    return os.path.join(folder, f"{name}.####.exr")


def raw_exr(path, pixels, names):
    import OpenImageIO as oiio

    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2], oiio.FLOAT)
    spec.channelnames = tuple(names)
    out = oiio.ImageOutput.create(path)
    out.open(path, spec)
    out.write_image(np.ascontiguousarray(pixels, np.float32))
    out.close()


def cases(work: str):
    """(what, setup -> command args, expected exit, files that may appear). Each setup runs inside ``work``."""
    plates = shot(os.path.join(work, "plates"))
    cache = os.path.join(work, "cache")
    env = {"VSAE_CACHE": cache}
    assert vsae("train", plates, *TINY, env=env)[0] == 0
    key = sorted(os.listdir(os.path.join(cache, "models")))[0]
    os.symlink("plates", os.path.join(work, "linked"))
    sized = shot(os.path.join(work, "sized"), sizes={3: (48, 64)})
    nan = shot(os.path.join(work, "nan"), raw=lambda p, rgb, f: raw_exr(p, np.where(
        np.arange(rgb.size).reshape(rgb.shape) == 7, np.nan, rgb) if f == 2 else rgb, "RGB"))
    zinf = shot(os.path.join(work, "zinf"), raw=lambda p, rgb, f: raw_exr(
        p, np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), np.inf)], axis=2), "RGBZ"))
    gap = shot(os.path.join(work, "gap"), frames=[1, 2, 4])
    corrupt = shot(os.path.join(work, "corrupt"))
    with open(corrupt.replace("####", "0002"), "wb") as fh:
        fh.write(b"\0garbage" * 40)
    private = os.path.join(work, "private")
    os.mkdir(private, 0o700)
    with open(os.path.join(private, "plate.exr"), "wb") as fh:
        fh.write(b"not a socket")
    open_folder = os.path.join(work, "open")
    os.mkdir(open_folder)
    os.chmod(open_folder, 0o755)
    victim = os.path.join(work, "victim.txt")
    with open(victim, "w") as fh:
        fh.write("someone's work")
    os.symlink(victim, os.path.join(private, "s.sock.lock"))
    out = os.path.join(work, "out")

    def damage_manifest(name, body):
        def setup():
            clone = os.path.join(cache, "models", name)
            shutil.copytree(os.path.join(cache, "models", key), clone)
            with open(os.path.join(clone, "manifest.json"), "wb") as fh:
                fh.write(body.replace(b"KEY", name.encode()))
        return setup

    def flip(name):
        def setup():
            path = os.path.join(cache, "models", key, name)
            st = os.stat(path)
            with open(path, "r+b") as fh:
                fh.seek(st.st_size - 100)
                b = fh.read(1)
                fh.seek(st.st_size - 100)
                fh.write(bytes([b[0] ^ 0x10]))
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        return setup

    def bad_checkpoint():  # the checkpoint of the model `--seed 9` trains, truncated
        from vsae.core.cache import ModelCache
        from vsae.core.io.sequence import open_shot
        from vsae.core.settings import TrainSettings

        settings = TrainSettings(k=4, budget_s=None, steps=12, batch=2, crop=64, seed=9)
        c = ModelCache(cache)
        path = c.checkpoint_path(c.key_for(open_shot(plates).content_digest(), settings.key_dict()))
        with open(path, "wb") as fh:
            fh.write(b"\x10\0\0\0\0\0\0\0{truncated")

    def linked_entry():  # a model's entry folder to import, its weights a link to a file elsewhere
        sent = os.path.join(work, "sent")
        shutil.copytree(os.path.join(cache, "models", key), sent)
        os.remove(os.path.join(sent, "weights.safetensors"))
        os.symlink(os.path.join(cache, "models", key, "weights.safetensors"), os.path.join(sent, "weights.safetensors"))

    locked = os.path.join(work, "locked")
    os.mkdir(locked)

    rows = [
        ("output pattern names the input (####)", None, ["reconstruct", plates, *TINY, "-o", plates], 2),
        ("output names the input through %04d", None,
         ["reconstruct", plates, *TINY, "-o", plates.replace("####", "%04d")], 2),
        ("output names the input through ./", None,
         ["reconstruct", plates, *TINY, "-o", os.path.join(work, "plates", ".", "a.####.exr")], 2),
        ("output names the input through a symlinked folder", None,
         ["reconstruct", plates, *TINY, "-o", os.path.join(work, "linked", "a.####.exr")], 2),
        ("retime output extends the input sequence", None,
         ["retime", plates, "--method", "blend", "--output-first", "5001", *TINY, "-o", plates], 2),
        ("upres output onto the model's plates", None,
         ["upres", sized.replace("sized", "plates"), "--plates", plates, *TINY, "-o", plates], 2),
        ("encode -o x.json (sidecar over the latents)", None,
         ["encode", plates, *TINY, "-o", os.path.join(out, "x.json")], 2),
        ("frames of different sizes (retime)", None,
         ["retime", sized, "--method", "blend", *TINY, "-o", os.path.join(out, "r.####.exr")], 2),
        ("--no-train and no model (retime)", None,
         ["retime", plates, "--no-train", *TINY, "--seed", "3", "-o", os.path.join(out, "r.####.exr")], 3),
        ("output of a type vsae cannot write (upres .mov)", None,
         ["upres", plates, "--factor", "2", *TINY, "--seed", "4", "-o", os.path.join(out, "u.####.mov")], 2),
        ("an EXR compression OpenEXR does not know (zip:10)", None,
         ["upres", plates, *TINY, "--seed", "11", "--compression", "zip:10", "-o", os.path.join(out, "u.####.exr")],
         2),
        ("output pattern without a frame field", None,
         ["reconstruct", plates, *TINY, "-o", os.path.join(out, "r.exr")], 2),
        ("--lr inf", None, ["reconstruct", plates, *TINY, "--lr", "inf", "-o", os.path.join(out, "r.####.exr")], 2),
        ("--motion-weight inf", None,
         ["reconstruct", plates, *TINY, "--motion-weight", "inf", "-o", os.path.join(out, "r.####.exr")], 2),
        ("--seed -1", None, ["reconstruct", plates, *TINY, "--seed", "-1", "-o", os.path.join(out, "r.####.exr")], 2),
        ("training that diverges (--lr 1e30)", None,
         ["reconstruct", plates, *TINY, "--lr", "1e30", "-o", os.path.join(out, "r.####.exr")], 5),
        ("a missing frame", None, ["reconstruct", gap, *TINY, "-o", os.path.join(out, "r.####.exr")], 2),
        ("a corrupt frame", None, ["reconstruct", corrupt, *TINY, "-o", os.path.join(out, "r.####.exr")], 2),
        ("NaN pixels", None, ["reconstruct", nan, *TINY, "-o", os.path.join(out, "r.####.exr")], 2),
        ("Z=Inf channel kept (--keep-channels)", None,
         ["reconstruct", zinf, *TINY, "--keep-channels", "-o", os.path.join(out, "z.####.exr")], 2),
        ("serve --socket on a plate", None, ["serve", "--socket", os.path.join(private, "plate.exr")], 2),
        ("serve in a folder others can enter", None, ["serve", "--socket", os.path.join(open_folder, "s.sock")], 2),
        ("serve with its lock file symlinked to a victim", None,
         ["serve", "--socket", os.path.join(private, "s.sock")], 2),
        ("loop output onto the plates", None,
         ["loop", plates, "--loop-first", "1", "--loop-last", "3", "--method", "blend", *TINY, "-o", plates], 2),
        ("loop_first outside the shot", None,
         ["loop", plates, "--loop-first", "90", "--loop-last", "93", *TINY, "-o", os.path.join(out, "l.####.exr")], 2),
        ("conform output onto its proxies", None, ["conform", plates, "--plates", plates, *TINY, "-o", plates], 2),
        ("cache import of an entry whose weights are a link", linked_entry,
         ["cache", "import", os.path.join(work, "sent"), "--cache", os.path.join(work, "receiver")], 3),
        ("damaged manifest: cache show", damage_manifest("0" * 32, b"{"), ["cache", "show", "0" * 32], 3),
        ("damaged manifest: cache list (others still listed)", None, ["cache", "list"], 0),
        ("manifest missing keys: cache verify", damage_manifest("1" * 32, b'{"key": "KEY"}'), ["cache", "verify"],
         3),
        ("damaged entries: cache rm", None, ["cache", "rm", "0" * 32], 0),
        ("damaged entries: cache gc", None, ["cache", "gc"], 0),
        ("bit flip in weights.safetensors", flip("weights.safetensors"),
         ["reconstruct", plates, "--model", key, "-o", os.path.join(out, "r.####.exr")], 3),
        ("bit flip in decoder.onnx", flip("decoder.onnx"),
         ["reconstruct", plates, "--model", key, "-o", os.path.join(out, "r.####.exr")], 3),
        ("output folder not writable", None,
         ["retime", plates, "--method", "blend", *TINY, "-o", os.path.join(locked, "r.####.exr")], 2),
        ("damaged checkpoint: discarded, training starts again (accepted)", bad_checkpoint,
         ["train", plates, *TINY, "--seed", "9"], 0),
        ("Z=Inf channel dropped (accepted)", None,
         ["reconstruct", zinf, *TINY, "-o", os.path.join(out, "z.####.exr")], 0),
    ]
    return rows, env, locked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="vsae-probe-")
    try:
        rows, env, locked = cases(work)
        results = []
        with read_only(locked):
            for what, setup, command, expected in rows:
                if setup is not None:
                    setup()
                before = snapshot(work)
                code, message = vsae(*command, env=env)
                after = snapshot(work)
                changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
                # Accepted inputs write outputs and models; cache commands change the cache: that is their job.
                allowed = ("out", "cache") if "(accepted)" in what or what.startswith(("damaged", "manifest")) else ()
                # Lock files are the cache's coordination (empty, kept, as filelock keeps them), not output.
                left = [p for p in changed if not (allowed and p.startswith(allowed)) and not p.startswith(
                    "cache/locks/")]
                clean = code == expected and not left
                results.append((what, code, expected, message.replace(work, "…"), left, clean))
                if what.startswith("bit flip"):
                    setup()  # the same bit flipped again: the file is whole for the cases after
        print_table(results, args.markdown)
        return 0 if all(r[-1] for r in results) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def read_only(path: str):
    """A read-only bind mount as root (mode bits do not stop root), chmod a-w otherwise."""
    if os.geteuid() != 0:
        os.chmod(path, 0o555)
        try:
            yield
        finally:
            os.chmod(path, 0o755)
        return
    subprocess.run(["mount", "--bind", path, path], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", path], check=True)
        yield
    finally:
        subprocess.run(["umount", path], check=True)


def print_table(results, markdown: bool) -> None:
    if markdown:
        print("| bad input | exit (promised) | message | left behind | clean |")
        print("|---|---|---|---|---|")
    for what, code, expected, message, left, clean in results:
        left_text = ", ".join(left) if left else "nothing"
        message = message if len(message) <= 150 else message[:147] + "..."
        if markdown:
            message = message.replace("|", "\\|")
            print(f"| {what} | {code} ({expected}) | {message} | {left_text} | {'yes' if clean else '**NO**'} |")
        else:
            print(f"{'ok ' if clean else 'BAD'} {what:52s} exit {code} ({expected})  {message}  [left: {left_text}]")


if __name__ == "__main__":
    sys.exit(main())
