"""On-disk cache of catalogue embeddings.

A cache file holds the embeddings of one list of texts under one encoder. It is named and keyed by a
SHA-256 over the encoder's identity (model, pooling, max length) and a hash of the texts, and it
stores its own key, shape and a checksum of the array bytes. A file that is unreadable, truncated,
mismatched (another key, another shape) or not unit-norm float32 is reported with a warning, deleted
and rebuilt: it is never used. Files are written atomically (:mod:`advrec_gym._io`), so an
interrupted write leaves no half-written cache behind. A cache that cannot be written (a read-only
folder, a full disk, a path that is a file or a folder) costs only the caching: the encoder warns
with :class:`CacheWriteWarning` and returns the embeddings it computed.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from advrec_gym._io import atomic_writer

CACHE_ENV_VAR = "ADVREC_CACHE_DIR"
_FORMAT_VERSION = 1


def default_cache_dir() -> Path:
    """The cache directory: ``$ADVREC_CACHE_DIR`` if set, else ``~/.cache/advrec``."""
    env = os.environ.get(CACHE_ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "advrec"


def texts_hash(texts: Sequence[str]) -> str:
    """SHA-256 of the texts, order-sensitive and unambiguous (length-prefixed)."""
    h = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def cache_key(encoder_identity: str, texts: Sequence[str]) -> str:
    """The key of one (encoder, texts) pair."""
    payload = json.dumps({"encoder": encoder_identity, "texts": texts_hash(texts), "format": _FORMAT_VERSION})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class CacheWarning(UserWarning):
    """A cache file was unusable and is being rebuilt."""


class CacheWriteWarning(CacheWarning):
    """The cache could not be written; the embeddings were computed and are used uncached."""


class EmbeddingCache:
    """A directory of embedding files, one per (encoder identity, texts) key.

    Args:
        directory: where the files live; ``None`` means :func:`default_cache_dir`.
    """

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory).expanduser() if directory is not None else default_cache_dir()

    def path(self, key: str) -> Path:
        return self.directory / f"emb-{key[:40]}.npz"

    def load(self, key: str, num_items: int) -> np.ndarray | None:
        """Return the cached embeddings for ``key``, or ``None`` if absent or unusable."""
        path = self.path(key)
        if not path.exists():
            return None
        if not path.is_file():
            warnings.warn(f"Embedding cache entry {path} is not a file; re-encoding.", CacheWarning, stacklevel=3)
            return None
        try:
            # Open the file ourselves: np.load leaks its handle when the zip is truncated.
            with open(path, "rb") as f, np.load(f, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode("utf-8"))
                emb = np.array(data["embeddings"])
            problem = _check(meta, emb, key, num_items)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            problem = f"unreadable ({type(exc).__name__}: {exc})"
        if problem is None:
            return emb
        warnings.warn(
            f"Embedding cache file {path} is {problem}; deleting it and re-encoding.", CacheWarning, stacklevel=3
        )
        try:
            path.unlink(missing_ok=True)
        except OSError:  # a read-only folder, or a folder in the file's place: the next save will warn
            pass
        return None

    def save(self, key: str, embeddings: np.ndarray, encoder_identity: str) -> Path:
        """Write ``embeddings`` under ``key`` atomically and return the file's path.

        Raises:
            OSError: the file could not be written (nothing is left behind; see :meth:`try_save`).
        """
        emb = np.ascontiguousarray(embeddings, dtype=np.float32)
        meta = {
            "format": _FORMAT_VERSION,
            "key": key,
            "encoder": encoder_identity,
            "shape": list(emb.shape),
            "sha256": hashlib.sha256(emb.tobytes()).hexdigest(),
        }
        path = self.path(key)
        with atomic_writer(path) as f:
            np.savez(f, embeddings=emb, meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8))
        return path

    def try_save(self, key: str, embeddings: np.ndarray, encoder_identity: str) -> Path | None:
        """:meth:`save`, but a failed write is a :class:`CacheWriteWarning` and ``None`` instead of an error."""
        try:
            return self.save(key, embeddings, encoder_identity)
        except OSError as exc:
            warnings.warn(
                f"Could not write the embedding cache under {self.directory} ({type(exc).__name__}: {exc}); "
                f"going on without caching. Set ${CACHE_ENV_VAR} (or pass cache_dir=) to a writable folder "
                "to keep the embeddings for the next run.",
                CacheWriteWarning,
                stacklevel=3,
            )
            return None


def _check(meta: dict, emb: np.ndarray, key: str, num_items: int) -> str | None:
    """Return what is wrong with a loaded cache entry, or None if it can be trusted."""
    if meta.get("format") != _FORMAT_VERSION or meta.get("key") != key:
        return "for another encoder or catalogue (key mismatch)"
    if emb.dtype != np.float32 or emb.ndim != 2 or emb.shape[0] != num_items or list(emb.shape) != meta.get("shape"):
        return f"of the wrong shape or dtype ({emb.dtype}, {emb.shape}; expected float32 with {num_items} rows)"
    if hashlib.sha256(np.ascontiguousarray(emb).tobytes()).hexdigest() != meta.get("sha256"):
        return "corrupt (checksum mismatch)"
    if not np.all(np.isfinite(emb)) or not np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-3):
        return "not made of finite unit-norm vectors"
    return None
