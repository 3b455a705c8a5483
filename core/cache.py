"""The model cache: one trained model per (shot content, training settings), shared safely by many processes.

Root: ``$VSAE_CACHE``, else the user cache folder (platformdirs). Layout::

    models/<key>/manifest.json          key, source frames, sizes, settings, metrics, versions
                 weights.safetensors    the model (no pickle)
                 encoder.onnx decoder.onnx reproject.onnx
                 latents.safetensors    latent codes of every trained frame, with their frame numbers
    index/<lookup>.json                 cheap lookup: file names + sizes + mtimes + settings -> key
    locks/<key>.lock                    one trainer per key; others wait, then reuse (core.shared_lock: NFS-safe,
                                        removed when released, taken over when its holder is gone)
    partial/<key>/checkpoint.safetensors  a training under way (a killed one resumes from here)
    partial/<key>/progress.jsonl          its loss curve so far (read by the Explore panel)

The key hashes the bytes of every frame file (xxh3-128) with the settings, so a shot copied to another farm node
finds the same model. Hashing reads every file once; the index maps the stat-only identity of the files to the key
so that later look-ups (a node rendering one frame) read no pixels. Entries are built in a temp folder and renamed
into place, so a reader sees a whole entry or none.

Each entry's manifest records an xxh3-128 checksum of every file in it; a file is checked against it once per
process before it is used, so a flipped bit is an error naming the entry, never wrong pixels. One damaged entry is
reported for itself only: listing, ``rm``, ``gc`` and every other entry keep working. A published cache may be
read-only: look-ups never write (the index is an optimisation, skipped when it cannot be written).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
import numpy as np
import xxhash

from vsae import __version__
from vsae.errors import CacheError, ModelNotFound, TrainingError
from vsae.core.io.output_files import follow_umask
from vsae.core.shared_lock import SharedLock
from vsae.core.io.sequence import ShotSequence

CACHE_FORMAT = 1
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
LATENTS = "latents.safetensors"
TRAINING_LOG = "progress.jsonl"  # in partial/<key>/ while a training runs: its loss curve, for the Explore panel
# What a manifest must hold for the entry to be usable (the rest is informative).
MANIFEST_FIELDS = {"key": str, "source": dict, "training_size": list, "settings": dict, "metrics": dict}
_VERIFIED: dict = {}  # (path, size, mtime_ns, inode) -> checksum already checked in this process


def default_root() -> str:
    from platformdirs import user_cache_dir

    return os.environ.get("VSAE_CACHE") or user_cache_dir("vsae", appauthor=False)


def file_checksum(path: str) -> str:
    """xxh3-128 of a file's bytes (several GB/s: a model's files take milliseconds)."""
    h = xxhash.xxh3_128()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class CacheEntry:
    """One cached shot model on disk. ``damage`` says what is wrong with an entry that cannot be used."""

    key: str
    path: str
    manifest: dict
    damage: str | None = None

    @property
    def weights_path(self) -> str:
        return os.path.join(self.path, WEIGHTS)

    def verify(self, names=None, memo: bool = True) -> None:
        """Check files of the entry (default: all its manifest lists) against their recorded checksums.

        Raises CacheError naming the entry and file on a mismatch or a missing file. With ``memo`` a file already
        checked by this process (same size, time and inode) is not read again. Entries made before checksums were
        recorded have none to check.
        """
        sums = self.manifest.get("files") or {}
        for name in (sums if names is None else [n for n in names if n in sums]):
            path = os.path.join(self.path, name)
            try:
                st = os.stat(path)
            except OSError:
                raise CacheError(f"cache entry {self.key}: {name} is missing; remove the entry with "
                                 f"`vsae cache rm {self.key}`") from None
            stamp = (path, st.st_size, st.st_mtime_ns, st.st_ino)
            if memo and _VERIFIED.get(stamp) == sums[name]:
                continue
            if file_checksum(path) != sums[name]:
                raise CacheError(f"cache entry {self.key}: {name} does not match its checksum (damaged on disk); "
                                 f"remove the entry with `vsae cache rm {self.key}` and train again")
            _VERIFIED[stamp] = sums[name]

    def load_model(self, backend: str = "auto", precision: str = "fp32", device: str = "auto"):
        from vsae.core.model.shot_model import ONNX_GRAPHS, ShotModel

        self.verify([WEIGHTS] + [f"{g}.onnx" for g in ONNX_GRAPHS])
        return ShotModel.load(self.weights_path, onnx_dir=self.path, backend=backend, precision=precision,
                              device=device)

    def load_latents(self) -> tuple[list[int], np.ndarray]:
        """Frame numbers and their latents (N, 12k, h, w) float32, as computed when the model was trained."""
        from safetensors.numpy import load_file

        self.verify([LATENTS])
        data = load_file(os.path.join(self.path, LATENTS))
        return [int(f) for f in data["frames"]], data["latents"]


def manifest_damage(manifest, key: str) -> str | None:
    """What makes a manifest unusable (missing or mistyped fields, another key), or None."""
    if not isinstance(manifest, dict):
        return "manifest is not a JSON object"
    for name, kind in MANIFEST_FIELDS.items():
        if not isinstance(manifest.get(name), kind):
            return f"manifest has no valid {name!r}"
    if manifest["key"] != key:
        return f"manifest names another key ({manifest['key']})"
    files = manifest.get("files", {})
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        return "manifest has no valid 'files' checksums"
    source = manifest["source"]
    if not isinstance(source.get("label"), str) or not isinstance(source.get("frames"), list) or len(
            source["frames"]) != 2:
        return "manifest has no valid source label and frames"
    return None


def settings_digest(settings_key: dict) -> str:
    return xxhash.xxh3_64(json.dumps(settings_key, sort_keys=True).encode()).hexdigest()


def state_digest(state: dict) -> str:
    """xxh3-128 of a model's weights (names and bytes), to tell warm starts from different donors apart."""
    h = xxhash.xxh3_128()
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


class ModelCache:
    """Find, train and manage shot models under one cache root.

    >>> cache = ModelCache()                                         # doctest: +SKIP
    >>> entry = cache.get_or_train(open_shot("shot.####.exr"), TrainSettings(budget_s=300))  # doctest: +SKIP
    """

    def __init__(self, root: str | None = None, lock_timeout_s: float = 6 * 3600):
        self.root = os.path.abspath(root or default_root())
        self.lock_timeout_s = lock_timeout_s

    # --- paths --------------------------------------------------------------------------------------------------

    def _dir(self, *parts: str) -> str:
        path = os.path.join(self.root, *parts)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"model cache {self.root}: cannot create {path} ({exc.strerror}); set VSAE_CACHE") from exc
        if not os.access(path, os.W_OK):
            raise CacheError(f"model cache {self.root}: {path} is not writable; set VSAE_CACHE")
        return path

    def entry_path(self, key: str) -> str:
        return os.path.join(self.root, "models", key)

    def trainings(self) -> list[tuple[str, str]]:
        """(key, progress log path) of every training under way (or interrupted) in this cache."""
        folder = os.path.join(self.root, "partial")
        if not os.path.isdir(folder):
            return []
        return [(key, os.path.join(folder, key, TRAINING_LOG)) for key in sorted(os.listdir(folder))
                if os.path.exists(os.path.join(folder, key, TRAINING_LOG))]

    def checkpoint_path(self, key: str) -> str:
        return os.path.join(self._dir("partial", key), "checkpoint.safetensors")

    def _lock(self, key: str) -> SharedLock:
        return SharedLock(os.path.join(self._dir("locks"), f"{key}.lock"), timeout_s=self.lock_timeout_s)

    # --- keys ---------------------------------------------------------------------------------------------------

    @staticmethod
    def key_for(content_digest: str, settings_key: dict) -> str:
        payload = json.dumps({"format": CACHE_FORMAT, "content": content_digest, "settings": settings_key},
                             sort_keys=True)
        return xxhash.xxh3_128(payload.encode()).hexdigest()

    def _lookup_path(self, seq: ShotSequence, settings_key: dict) -> str:
        name = xxhash.xxh3_128(f"{seq.stat_key()}\0{settings_digest(settings_key)}".encode()).hexdigest()
        return os.path.join(self.root, "index", f"{name}.json")

    # --- look-up ------------------------------------------------------------------------------------------------

    def read_entry(self, key: str) -> CacheEntry | None:
        """The entry of ``key`` as it is on disk, damaged or not (``damage`` says); None when there is none."""
        path = self.entry_path(key)
        if not os.path.isdir(path):
            return None
        try:
            with open(os.path.join(path, MANIFEST), "rb") as fh:
                manifest = json.loads(fh.read().decode("utf-8"))
        except FileNotFoundError:
            return CacheEntry(key, path, {}, damage="no manifest.json")
        except (OSError, ValueError) as exc:
            return CacheEntry(key, path, {}, damage=f"manifest.json unreadable ({' '.join(str(exc).split())})")
        damage = manifest_damage(manifest, key)
        return CacheEntry(key, path, manifest if damage is None else {}, damage=damage)

    def get(self, key: str) -> CacheEntry | None:
        """The usable entry of ``key``, None when there is none; CacheError naming the entry when it is damaged."""
        entry = self.read_entry(key)
        if entry is not None and entry.damage:
            raise CacheError(f"cache entry {key}: damaged ({entry.damage}); remove it with `vsae cache rm {key}`")
        return entry

    def find(self, seq: ShotSequence, settings_key: dict, hash_content: bool = True) -> CacheEntry | None:
        """The cached model for this shot and settings, or None.

        First by the stat-only index (no file read); then, if ``hash_content``, by hashing the files' bytes.
        """
        entry = self._find_by_stat(seq, settings_key)
        if entry is not None or not hash_content:
            return entry
        key = self.key_for(seq.content_digest(), settings_key)
        entry = self.get(key)
        if entry is not None:
            self._remember(self._lookup_path(seq, settings_key), key)
        return entry

    def _find_by_stat(self, seq: ShotSequence, settings_key: dict) -> CacheEntry | None:
        try:
            with open(self._lookup_path(seq, settings_key)) as fh:
                key = json.load(fh)["key"]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no record (or no cache yet)
        if not isinstance(key, str) or not key.isalnum():
            return None  # a damaged record: the content hash finds the entry
        return self.get(key)

    def _remember(self, lookup: str, key: str) -> None:
        """Record a look-up in the index, if the cache can be written (a published cache may be read-only)."""
        tmp = f"{lookup}.tmp-{uuid.uuid4().hex}"
        try:
            os.makedirs(os.path.dirname(lookup), exist_ok=True)
            with open(tmp, "w") as fh:
                json.dump({"key": key}, fh)
            os.replace(tmp, lookup)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    # --- training -----------------------------------------------------------------------------------------------

    def get_or_train(self, seq: ShotSequence, settings, train: bool = True, init_state: dict | None = None,
                     progress=None) -> CacheEntry:
        """The model for ``seq`` trained with ``settings``; trains it if missing and ``train`` is set.

        Many processes may call this at once for the same shot: one trains under the key's lock, the others wait
        on it and then load what it wrote. Raises ModelNotFound when missing and ``train`` is False.
        """
        settings_key = settings.key_dict()
        if init_state is not None:  # a warm-started model is another model: the donor's weights join the key
            settings_key["init"] = state_digest(init_state)
        entry = self._find_by_stat(seq, settings_key)
        if entry is not None:
            return entry
        key = self.key_for(seq.content_digest(), settings_key)
        entry = self.get(key)
        if entry is None and not train:
            raise ModelNotFound(f"{seq.label}: no trained model in the cache {self.root} for these settings; "
                                f"train one with `vsae train`")
        if entry is None:
            self._dir("models")  # an unwritable cache fails here, before minutes of training
            entry = self._train_locked(key, seq, settings, init_state, progress)
        self._remember(self._lookup_path(seq, settings_key), key)
        return entry

    def _train_locked(self, key, seq, settings, init_state, progress) -> CacheEntry:
        lock = self._lock(key)

        def waiting():
            if progress is not None:
                progress.note(f"another process is training this shot; waiting for it (lock {key}.lock)")

        try:
            lock.acquire(on_wait=waiting)
        except CacheError as exc:
            raise CacheError(f"{seq.label}: waited {self.lock_timeout_s:.0f}s for another process training "
                             f"this shot (lock {key}.lock)") from exc
        try:
            entry = self.get(key)  # the process we waited for has written it
            return entry if entry is not None else self._train_entry(key, seq, settings, init_state, progress)
        finally:
            lock.release()

    def _train_entry(self, key, seq, settings, init_state, progress) -> CacheEntry:
        from vsae.core.model.shot_model import ShotModel
        from vsae.core.training.frames import load_training_frames, streams
        from vsae.core.training.trainer import train

        ckpt = self.checkpoint_path(key)
        # A long shot is streamed from a file in the training's own folder (removed with it), not held in memory.
        store = os.path.join(os.path.dirname(ckpt), "frames.npy") if streams(seq, settings.train_scale) else None
        frames = load_training_frames(seq, settings.train_scale, store=store)
        if progress is not None and os.path.exists(ckpt):
            progress.note(f"resuming from checkpoint {ckpt}")
        from vsae.core.progress import TrainingLog

        log = TrainingLog(os.path.join(os.path.dirname(ckpt), TRAINING_LOG), inner=progress, label=seq.label)
        try:
            result = train(frames, settings, checkpoint_path=ckpt, init_state=init_state, progress=log)
        except TrainingError:
            shutil.rmtree(os.path.dirname(ckpt), ignore_errors=True)  # a diverged run is not one to resume or show
            raise
        tmp = tempfile.mkdtemp(prefix=f".{key}.", dir=self._dir("models"))
        try:
            follow_umask(tmp, folder=True)  # other users' farm tasks read the models one task trained
            model = ShotModel(settings.model_config, result.state_dict,
                              meta={"key": key, "source": seq.label, "settings": settings.to_dict()})
            model.save(os.path.join(tmp, WEIGHTS))
            from vsae.core.model.export import export_onnx

            export_onnx(model, tmp)
            _save_latents(model, frames, seq.frames, os.path.join(tmp, LATENTS))
            manifest = self._manifest(key, seq, settings, frames, result)
            for name in os.listdir(tmp):  # safetensors writes 0600 whatever the umask
                follow_umask(os.path.join(tmp, name))
            manifest["files"] = {name: file_checksum(os.path.join(tmp, name)) for name in sorted(os.listdir(tmp))}
            with open(os.path.join(tmp, MANIFEST), "w") as fh:
                json.dump(manifest, fh, indent=2)
            follow_umask(os.path.join(tmp, MANIFEST))
            os.replace(tmp, self.entry_path(key))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(os.path.dirname(ckpt), ignore_errors=True)
        return CacheEntry(key, self.entry_path(key), manifest)

    def _manifest(self, key, seq, settings, frames, result) -> dict:
        import torch

        width, height = seq.size
        return {
            "format": CACHE_FORMAT,
            "key": key,
            "source": {"label": seq.label, "frames": [seq.frames[0], seq.frames[-1]], "count": len(seq),
                       "frame_list": seq.frames, "first_file": seq.path(seq.frames[0]),
                       "width": width, "height": height},
            "training_size": [int(frames.shape[2]), int(frames.shape[1])],
            "settings": settings.to_dict(),
            "metrics": result.metrics,
            "versions": {"vsae": __version__, "torch": torch.__version__, "python": platform.python_version()},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    # --- management ---------------------------------------------------------------------------------------------

    def keys(self) -> list[str]:
        """Every entry's key (its folder name), damaged or not."""
        root = os.path.join(self.root, "models")
        if not os.path.isdir(root):
            return []
        return [name for name in sorted(os.listdir(root))
                if not name.startswith(".") and os.path.isdir(os.path.join(root, name))]

    def entries(self, include_damaged: bool = False) -> list[CacheEntry]:
        """Every entry; damaged ones (``entry.damage`` set) only when asked for."""
        out = [self.read_entry(key) for key in self.keys()]
        return [e for e in out if e is not None and (include_damaged or not e.damage)]

    def resolve_key(self, key_prefix: str) -> str:
        """The key that starts with ``key_prefix`` (at least 6 characters, unambiguous), damaged entries included."""
        matches = [k for k in self.keys() if k.startswith(key_prefix)]
        if len(key_prefix) < 6 or len(matches) != 1:
            why = "no entry" if not matches else "give at least 6 characters" if len(key_prefix) < 6 else "ambiguous"
            raise CacheError(f"cache key {key_prefix!r}: {why} in {self.root}")
        return matches[0]

    def resolve(self, key_prefix: str) -> CacheEntry:
        """The usable entry whose key starts with ``key_prefix``; CacheError naming it when it is damaged."""
        key = self.resolve_key(key_prefix)
        entry = self.get(key)
        if entry is None:
            raise CacheError(f"cache entry {key}: removed while it was being read")
        return entry

    def verify(self) -> list[tuple[str, str | None]]:
        """(key, problem) for every entry: its manifest, and every file read again against its checksum; problem
        is None for a sound entry."""
        report = []
        for key in self.keys():
            entry = self.read_entry(key)
            if entry is None:  # removed since keys() listed it
                continue
            problem = entry.damage
            if problem is None:
                try:
                    entry.verify(memo=False)
                except CacheError as exc:
                    problem = str(exc).split(": ", 1)[1]
            report.append((key, problem))
        return report

    def import_entry(self, folder: str) -> CacheEntry:
        """Bring a model's entry folder from elsewhere (another cache's ``models/KEY``, sent once to a receiver)
        into this cache under its own key. The folder's manifest and every file it lists are checked (regular
        files, no links, checksums) before anything is copied; the copy is published atomically and follows the
        umask. An entry already here under that key is kept (the key names the content)."""
        import re
        import stat

        def regular(path: str, what: str) -> None:
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                raise CacheError(f"cache import {folder}: {what} is missing") from None
            if not stat.S_ISREG(mode):
                raise CacheError(f"cache import {folder}: {what} is not a regular file (links are not followed)")

        if not os.path.isdir(folder) or os.path.islink(folder):
            raise CacheError(f"cache import {folder}: not a folder (a model's entry folder, models/KEY)")
        regular(os.path.join(folder, MANIFEST), MANIFEST)
        try:
            with open(os.path.join(folder, MANIFEST), "rb") as fh:
                manifest = json.loads(fh.read().decode("utf-8"))
        except (OSError, ValueError) as exc:
            raise CacheError(f"cache import {folder}: {MANIFEST} unreadable ({' '.join(str(exc).split())})") from None
        key = manifest.get("key") if isinstance(manifest, dict) else None
        if not isinstance(key, str) or not re.fullmatch(r"[0-9a-zA-Z_-]{6,128}", key):
            raise CacheError(f"cache import {folder}: {MANIFEST} names no valid key")
        damage = manifest_damage(manifest, key)
        files = manifest.get("files") or {}
        if damage or WEIGHTS not in files:
            raise CacheError(f"cache import {folder}: {damage or 'manifest lists no ' + WEIGHTS}")
        for name in files:
            if os.path.basename(name) != name or name.startswith(".") or name == MANIFEST:
                raise CacheError(f"cache import {folder}: {MANIFEST} lists {name!r}, not a file of the folder")
            regular(os.path.join(folder, name), name)
        with self._lock(key):
            existing = self.read_entry(key)
            if existing is not None and not existing.damage:
                return existing
            tmp = tempfile.mkdtemp(prefix=f".{key}.", dir=self._dir("models"))
            try:
                follow_umask(tmp, folder=True)
                for name, checksum in files.items():  # the copies are what is checked: the folder may change
                    shutil.copyfile(os.path.join(folder, name), os.path.join(tmp, name), follow_symlinks=False)
                    if not stat.S_ISREG(os.lstat(os.path.join(tmp, name)).st_mode):
                        raise CacheError(f"cache import {folder}: {name} is not a regular file")
                    if file_checksum(os.path.join(tmp, name)) != checksum:
                        raise CacheError(f"cache import {folder}: {name} does not match its checksum")
                    follow_umask(os.path.join(tmp, name))
                with open(os.path.join(tmp, MANIFEST), "w") as out:  # the manifest checked above, as it was read
                    json.dump(manifest, out, indent=2)
                follow_umask(os.path.join(tmp, MANIFEST))
                if existing is not None:  # a damaged entry under the key: replaced by the sound one
                    self.remove_unlocked(key)
                os.replace(tmp, self.entry_path(key))
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return CacheEntry(key, self.entry_path(key), manifest)

    def remove(self, key: str) -> None:
        with self._lock(key):
            self.remove_unlocked(key)

    def remove_unlocked(self, key: str) -> None:
        """``remove`` for a caller that holds the key's lock."""
        trash = os.path.join(self._dir("models"), f".rm-{key}-{uuid.uuid4().hex}")
        os.replace(self.entry_path(key), trash)  # atomic: readers see the entry or nothing
        shutil.rmtree(trash, ignore_errors=True)

    def gc(self, older_than_s: float | None = None) -> list[str]:
        """Remove temp folders, stale index records, abandoned checkpoints; with ``older_than_s``, also entries
        created longer ago than that. Returns what was removed."""
        removed = []
        models = os.path.join(self.root, "models")
        for name in os.listdir(models) if os.path.isdir(models) else []:
            path = os.path.join(models, name)
            if name.startswith(".") and time.time() - os.path.getmtime(path) > 3600:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        index = os.path.join(self.root, "index")
        for name in os.listdir(index) if os.path.isdir(index) else []:
            path = os.path.join(index, name)
            try:
                with open(path) as fh:
                    alive = os.path.isdir(self.entry_path(json.load(fh)["key"]))
            except (OSError, ValueError, KeyError):
                alive = False
            if not alive:
                os.unlink(path)
                removed.append(path)
        partial = os.path.join(self.root, "partial")
        for key in os.listdir(partial) if os.path.isdir(partial) else []:
            lock = self._lock(key)
            if not lock.try_acquire():
                continue  # a training holds it
            try:
                if time.time() - os.path.getmtime(os.path.join(partial, key)) > 7 * 86400:
                    shutil.rmtree(os.path.join(partial, key), ignore_errors=True)
                    removed.append(os.path.join(partial, key))
            finally:
                lock.release()
        for entry in self.entries(include_damaged=True):
            if entry.damage and time.time() - os.path.getmtime(entry.path) > 3600:
                self.remove(entry.key)  # an unusable manifest (entries appear whole, so this is damage, not a write)
                removed.append(entry.path)
            elif older_than_s is not None and not entry.damage and (
                    time.time() - os.path.getmtime(os.path.join(entry.path, MANIFEST)) > older_than_s):
                self.remove(entry.key)
                removed.append(entry.path)
        return removed


def _save_latents(model, frames: np.ndarray, numbers: list[int], path: str) -> None:
    from safetensors.numpy import save_file

    # Lazily, into one array: no float32 copy of the shot, no second copy of the latents.
    latents = model.encode_batches((f.transpose(2, 0, 1) for f in frames), count=len(frames))
    save_file({"frames": np.asarray(numbers, dtype=np.int64), "latents": latents.astype(np.float32)}, path)
