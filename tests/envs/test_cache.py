"""The embedding cache: round trip, corruption recovery, and nothing half-written after a failure.

Most tests use ``CountingEncoder``: a TransformerEncoder whose ``encode`` is a cheap deterministic
function of the text (no model is loaded) and counts its calls. Every test uses its own ``tmp_path``.
"""

from __future__ import annotations

import json
import zlib

import gymnasium as gym
import numpy as np
import pytest

from advrec_gym import Catalogue, EmbeddingCache, TransformerEncoder, default_cache_dir
from advrec_gym import cache as cache_module
from advrec_gym.cache import CacheWarning, cache_key

TEXTS = [f"item number {i}, a short text" for i in range(12)]


class CountingEncoder(TransformerEncoder):
    """Deterministic 16-d unit vectors seeded by each text's CRC; counts calls to ``encode``."""

    def __init__(self, **kwargs):
        super().__init__(None, **kwargs)
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        rows = [np.random.default_rng(zlib.crc32(t.encode())).standard_normal(16) for t in texts]
        emb = np.array(rows, dtype=np.float32)
        return emb / np.linalg.norm(emb, axis=1, keepdims=True)


def _files(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.is_file()) if directory.exists() else []


@pytest.fixture
def primed(tmp_path):
    """A cache directory holding the embeddings of TEXTS; returns (encoder, cache, path, embeddings)."""
    enc = CountingEncoder()
    cache = EmbeddingCache(tmp_path)
    emb = enc.encode_cached(TEXTS, cache)
    path = cache.path(cache_key(enc.identity, TEXTS))
    assert enc.calls == 1 and path.exists()
    return enc, cache, path, emb


# ---------------------------------------------------------------------------- round trip
def test_second_build_loads_without_encoding(primed, monkeypatch):
    enc, cache, path, emb = primed

    def fail(self, texts):
        raise AssertionError("encode() must not run when the cache holds the embeddings")

    monkeypatch.setattr(CountingEncoder, "encode", fail)
    again = CountingEncoder().encode_cached(TEXTS, cache)
    np.testing.assert_array_equal(again, emb)
    assert again.dtype == np.float32
    assert _files(cache.directory) == [path.name]


def test_cache_key_depends_on_texts_order_and_encoder_settings(primed):
    enc, cache, path, _ = primed
    keys = {
        cache_key(enc.identity, TEXTS),
        cache_key(enc.identity, TEXTS[::-1]),
        cache_key(enc.identity, TEXTS[:-1]),
        cache_key(CountingEncoder(pooling="cls").identity, TEXTS),
        cache_key(CountingEncoder(max_length=32).identity, TEXTS),
    }
    assert len(keys) == 5
    # Length-prefixed hashing: moving a character across the boundary of two texts changes the key.
    assert cache_key(enc.identity, ["ab", "c"]) != cache_key(enc.identity, ["a", "bc"])
    other = CountingEncoder(pooling="cls")
    other.encode_cached(TEXTS, cache)
    assert other.calls == 1  # another pooling is another file, not a hit
    assert len(_files(cache.directory)) == 2


def test_cache_directory_from_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVREC_CACHE_DIR", str(tmp_path / "from-env"))
    assert default_cache_dir() == tmp_path / "from-env"
    enc = CountingEncoder()
    enc.encode_cached(TEXTS)  # no directory given: the variable decides
    assert len(_files(tmp_path / "from-env")) == 1
    monkeypatch.delenv("ADVREC_CACHE_DIR")
    assert default_cache_dir().parts[-2:] == (".cache", "advrec")


@pytest.mark.slow
def test_real_catalogue_round_trip(small_catalogue, small_catalogue_args, small_catalogue_cache_dir, monkeypatch):
    def fail(self, texts):
        raise AssertionError("the model must not run when the catalogue's embeddings are cached")

    monkeypatch.setattr(TransformerEncoder, "encode", fail)
    again = Catalogue.synthetic(**small_catalogue_args, cache_dir=small_catalogue_cache_dir)
    np.testing.assert_array_equal(again.embeddings, small_catalogue.embeddings)
    assert again.texts == small_catalogue.texts and again.encoder_identity == small_catalogue.encoder_identity


# ---------------------------------------------------------------------------- corruption recovery
def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path):
    path.write_bytes(b"\x00\xffnot an npz file" * 50)


def _empty(path):
    path.write_bytes(b"")


def _other_key(path):
    # a valid file whose stored key is another catalogue's
    enc = CountingEncoder()
    other = EmbeddingCache(path.parent / "other")
    other_path = other.save(cache_key(enc.identity, TEXTS[:-1] + ["x"]), enc.encode(TEXTS), enc.identity)
    path.write_bytes(other_path.read_bytes())


def _wrong_shape(path):
    enc = CountingEncoder()
    EmbeddingCache(path.parent).save(cache_key(enc.identity, TEXTS), enc.encode(TEXTS[:-1]), enc.identity)


def _not_unit(path):
    enc = CountingEncoder()
    EmbeddingCache(path.parent).save(cache_key(enc.identity, TEXTS), 2.0 * enc.encode(TEXTS), enc.identity)


def _checksum(path):
    with np.load(path) as data:
        emb, meta = np.array(data["embeddings"]), np.array(data["meta"])
    emb[0, 0] += 0.001  # a flipped value under the old checksum
    with open(path, "wb") as f:
        np.savez(f, embeddings=emb, meta=meta)


def _float64(path):
    with np.load(path) as data:
        emb, meta = np.array(data["embeddings"]), json.loads(bytes(data["meta"]))
    with open(path, "wb") as f:
        np.savez(f, embeddings=emb.astype(np.float64), meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))


def _no_meta(path):
    with np.load(path) as data:
        emb = np.array(data["embeddings"])
    with open(path, "wb") as f:
        np.savez(f, embeddings=emb)


CORRUPTIONS = {
    "truncated": (_truncate, "unreadable"),
    "garbage bytes": (_garbage, "unreadable"),
    "empty file": (_empty, "unreadable"),
    "another key": (_other_key, "key mismatch"),
    "wrong shape": (_wrong_shape, "wrong shape"),
    "not unit norm": (_not_unit, "unit-norm"),
    "checksum mismatch": (_checksum, "checksum mismatch"),
    "float64": (_float64, "dtype"),
    "missing meta": (_no_meta, "unreadable"),
}


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_corrupt_cache_file_is_warned_about_and_rebuilt(corruption, primed):
    enc, cache, path, emb = primed
    corrupt, reason = CORRUPTIONS[corruption]
    corrupt(path)
    bad_bytes = path.read_bytes()
    fresh = CountingEncoder()
    with pytest.warns(CacheWarning, match=reason) as record:
        rebuilt = fresh.encode_cached(TEXTS, cache)
    assert len(record) == 1 and str(path) in str(record[0].message)
    assert fresh.calls == 1  # re-encoded, the bad file never used
    np.testing.assert_array_equal(rebuilt, emb)
    assert path.read_bytes() != bad_bytes  # the file was replaced
    # ... by a good one: the next build loads it without a warning and without encoding.
    third = CountingEncoder()
    np.testing.assert_array_equal(third.encode_cached(TEXTS, cache), emb)
    assert third.calls == 0
    assert _files(cache.directory) == [path.name]


# ---------------------------------------------------------------------------- nothing half-written
def test_exception_during_encode_leaves_no_cache_file(tmp_path):
    class Failing(CountingEncoder):
        def encode(self, texts):
            raise RuntimeError("out of memory halfway through")

    with pytest.raises(RuntimeError, match="halfway"):
        Failing().encode_cached(TEXTS, EmbeddingCache(tmp_path / "cache"))
    assert _files(tmp_path / "cache") == []


def _read_only(monkeypatch, tmp_path):
    # A read-only folder, simulated: this suite may run as root, whom chmod does not stop.
    import tempfile

    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and str(dir).startswith(str(tmp_path)):
            raise PermissionError(13, "Permission denied", str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    return tmp_path / "cache"


def _full_disk(monkeypatch, tmp_path):
    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 partial")  # something reached the disk before the failure
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    return tmp_path / "cache"


def _path_is_a_file(monkeypatch, tmp_path):
    (tmp_path / "cache").write_text("not a folder")
    return tmp_path / "cache"


def _entry_is_a_folder(monkeypatch, tmp_path):
    key = cache_key(CountingEncoder().identity, TEXTS)
    EmbeddingCache(tmp_path / "cache").path(key).mkdir(parents=True)  # a folder where the file goes
    return tmp_path / "cache"


@pytest.mark.parametrize("failure", [_read_only, _full_disk, _path_is_a_file, _entry_is_a_folder])
def test_a_cache_that_cannot_be_written_warns_and_the_embeddings_are_used(tmp_path, monkeypatch, failure):
    cache_dir = failure(monkeypatch, tmp_path)
    files_before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    enc = CountingEncoder()
    with pytest.warns(CacheWarning) as warned:  # a folder in the entry's place is also reported as unusable
        emb = enc.encode_cached(TEXTS, cache_dir)
    written = [w for w in warned if issubclass(w.category, cache_module.CacheWriteWarning)]
    assert len(written) == 1 and "going on without caching" in str(written[0].message)
    assert str(cache_dir) in str(written[0].message)
    assert enc.calls == 1 and emb.shape == (len(TEXTS), 16)
    np.testing.assert_array_equal(emb, CountingEncoder().encode(TEXTS))
    # nothing half-written: no cache file and no temporary file appeared
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == files_before


def test_an_env_on_an_unwritable_cache_is_built_uncached(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.warns(cache_module.CacheWriteWarning):
        catalogue = Catalogue.from_texts(TEXTS, encoder=CountingEncoder(), cache_dir=tmp_path / "file")
    env = gym.make("AdvRec-v0", catalogue=catalogue)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (3 * 16 + 3,) and catalogue.embeddings.shape == (len(TEXTS), 16)


def test_save_itself_still_raises(tmp_path, monkeypatch):
    _full_disk(monkeypatch, tmp_path)
    with pytest.raises(OSError, match="No space left"):
        EmbeddingCache(tmp_path).save("k" * 64, np.eye(3, dtype=np.float32), "identity")
    assert _files(tmp_path) == []


def test_keyboard_interrupt_during_write_leaves_no_file(tmp_path, monkeypatch):
    def interrupted(f, **arrays):
        f.write(b"PK\x03\x04")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        EmbeddingCache(tmp_path).save("k" * 64, np.eye(3, dtype=np.float32), "identity")
    assert _files(tmp_path) == []


def test_bad_texts_are_rejected_before_anything_is_cached(tmp_path):
    enc = CountingEncoder()
    for texts, match in [
        ([], "at least one"),
        (["a", ""], r"empty at index \[1\]"),
        (["a", "b", "a"], "items 0 and 2"),
    ]:
        with pytest.raises(ValueError, match=match):
            Catalogue.from_texts(texts, encoder=enc, cache_dir=tmp_path)
    assert enc.calls == 0
    assert _files(tmp_path) == []
