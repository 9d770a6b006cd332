"""Fixtures of the supervised-route tests: a 30-item catalogue, its AdvRec-v0 logs and a tiny encoder.

The item tower is the real all-MiniLM-L6-v2 with ``max_length=16`` (the texts are cut to 16
tokens), loaded once per session; every model copies it, so tests never change each other's encoder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from advrec_gym import Catalogue, TransformerEncoder
from agents.supervised.data import collect_env_logs, make_log_env, split_by_user
from agents.supervised.model import TwoTowerClickModel

MAX_LENGTH = 16
MOVIELENS_MINI = Path(__file__).resolve().parents[2] / "fixtures" / "ml-100k-mini"


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread(one_torch_thread_per_module):
    """One torch thread, as the design asks of runs sharing a machine (two threads ran 8x slower here)."""


@pytest.fixture(scope="session")
def movielens_mini() -> Path:
    """The hand-written ml-100k-format fixture (12 movies, 60 ratings by 8 users)."""
    return MOVIELENS_MINI


@pytest.fixture(scope="session")
def sup_cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("supervised-embedding-cache")


@pytest.fixture(scope="session")
def encoder16() -> TransformerEncoder:
    enc = TransformerEncoder(max_length=MAX_LENGTH)
    enc.load()
    return enc


@pytest.fixture(scope="session")
def cat30(sup_cache_dir) -> Catalogue:
    """30 synthetic items over 3 topics."""
    return Catalogue.synthetic(30, 3, 0, cache_dir=sup_cache_dir)


@pytest.fixture(scope="session")
def logs30(cat30):
    """1,500 interactions of AdvRec-v0 users with the seeded random logging policy."""
    return collect_env_logs(make_log_env(cat30, 16), steps=1500, policy="random", seed=0)


@pytest.fixture(scope="session")
def splits30(logs30):
    return split_by_user(logs30, (0.6, 0.2, 0.2), seed=0)


@pytest.fixture
def make_model(cat30, encoder16):
    """``make_model(**kwargs)``: a click model over ``cat30`` (dropout 0 unless given)."""

    def make(catalogue=None, **kwargs):
        kwargs.setdefault("dropout", 0.0)
        kwargs.setdefault("max_length", MAX_LENGTH)
        return TwoTowerClickModel.for_catalogue(catalogue or cat30, encoder=encoder16, device="cpu", **kwargs)

    return make


@pytest.fixture(scope="session")
def misaligned_catalogue(cat30) -> Catalogue:
    """``cat30``'s texts with tastes that ignore what the texts say.

    The env's item embeddings (which drive clicks and the observation) are 16-d vectors near 3
    random centres, assigned to the items by a seeded permutation unrelated to their text topics:
    the pretrained text geometry does not tell which items the same users click, fine-tuning must.
    """
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 16))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    taste = rng.permutation(np.arange(30) % 3)
    emb = centres[taste] + 0.3 * rng.standard_normal((30, 16)) / 4.0
    return Catalogue.from_embeddings(emb, topics=[f"taste {t}" for t in taste], texts=cat30.texts)
