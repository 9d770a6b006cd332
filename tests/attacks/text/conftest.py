"""Fixtures of the text-attack tests: real synthetic item texts and a bag-of-words encoder that needs no model.

``BagOfWordsEncoder`` embeds a text as the normalised sum of one fixed random vector per word (a
hash of the word seeds it), so similar texts get similar unit vectors, tests run in milliseconds,
and every call is logged (``calls``: the list of text lists it was asked to encode). It subclasses
:class:`~advrec_gym.TransformerEncoder` so that :class:`~advrec_gym.Catalogue` accepts it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from advrec_gym import Catalogue, TransformerEncoder
from advrec_gym.attacks.text import LinearItemScorer
from advrec_gym.attacks.text.edits import words
from advrec_gym.synthetic_text import generate_items

DIM = 32


def word_vector(word: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(DIM)


class BagOfWordsEncoder(TransformerEncoder):
    """A deterministic stand-in for the language model (see the module docstring)."""

    def __init__(self):  # no model to find or load
        self.pooling, self.max_length, self.model_name, self.model_ref = "mean", 128, "bow", "bow"
        self.calls: list[list[str]] = []

    @property
    def identity(self) -> str:
        return "bag-of-words-test-encoder"

    def encode(self, texts):
        texts = list(texts)
        self.calls.append(texts)
        out = np.stack([sum(word_vector(w) for w in words(t)) for t in texts])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def bow() -> BagOfWordsEncoder:
    return BagOfWordsEncoder()


@pytest.fixture
def make_catalogue(tmp_path):
    """``make_catalogue(encoder, texts=None, n=24)``: a catalogue of real synthetic (v1-styled) texts."""

    def make(encoder, texts=None, n: int = 24):
        if texts is None:
            kinds = ["clickbait", "quality", "regular"] * (n // 3 + 1)
            _, texts, _ = generate_items(n, 4, np.random.default_rng(0), kinds[:n])
        cat = Catalogue.from_texts(texts, topics=[f"t{i % 4}" for i in range(len(texts))], encoder=encoder,
                                   cache_dir=tmp_path)  # fmt: skip
        quality = np.where(np.arange(len(texts)) % 3 == 0, -0.8, 0.5).astype(np.float32)
        from dataclasses import replace

        return replace(cat, quality=quality)

    return make


def query_scorer(queries: np.ndarray, bias=None) -> LinearItemScorer:
    """A scorer whose "observations" are the query vectors themselves: ``score = <obs, e> + bias``."""
    n_items = len(bias) if bias is not None else 24
    return LinearItemScorer(lambda obs: obs, np.zeros(n_items) if bias is None else np.asarray(bias))
