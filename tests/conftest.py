"""Shared fixtures: tiny catalogues that need no language model, and one small real one.

``tiny_catalogue`` and ``make_tiny_catalogue`` build catalogues from hand-made embeddings (no model,
no cache, milliseconds). ``small_catalogue`` is a real synthetic catalogue encoded by the shipped
all-MiniLM-L6-v2 once per test session into a session-scoped temporary cache directory
(``small_catalogue_cache_dir``), so cache tests can rebuild it from there.

No test reads or writes the user's embedding cache (``~/.cache/advrec``): ``$ADVREC_CACHE_DIR``
points at one temporary folder for the whole session (subprocesses inherit it), so the default
1,000-item catalogue is encoded at most once per session, whichever test needs it first. Likewise
``$SB3_LOGDIR``: tests that build SB3 models with its default logger write its folder there, not
as an ``SB3-<date>`` folder per ``learn()`` in the machine's temp directory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
import pytest

from advrec_gym import Catalogue, UserModel
from advrec_gym.cache import CACHE_ENV_VAR

SMALL_CATALOGUE_ARGS = {"num_items": 60, "num_topics": 4, "seed": 0}


@pytest.fixture(scope="session", autouse=True)
def session_embedding_cache(tmp_path_factory):
    """``$ADVREC_CACHE_DIR`` (and ``$SB3_LOGDIR``) = temporary folders for the session (home and /tmp untouched)."""
    path = tmp_path_factory.mktemp("advrec-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV_VAR, str(path))
        patch.setenv("SB3_LOGDIR", str(tmp_path_factory.mktemp("sb3-log")))
        yield path


def tiny_catalogue_from_seed(num_items: int = 20, dim: int = 8, num_topics: int = 4, seed: int = 0) -> Catalogue:
    """A clustered catalogue from random embeddings: items of a topic lie near that topic's centre.

    Item ``i`` has topic ``i % num_topics`` and popularity proportional to ``1 / (1 + i)``.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((num_topics, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    topic = np.arange(num_items) % num_topics
    emb = centres[topic] + 0.35 * rng.standard_normal((num_items, dim)) / np.sqrt(dim)
    return Catalogue.from_embeddings(
        emb,
        topics=[f"topic {t}" for t in topic],
        popularity=1.0 / (1.0 + np.arange(num_items)),
    )


@pytest.fixture(scope="session")
def tiny_catalogue() -> Catalogue:
    """20 items, 8-d, 4 topics (a Catalogue is immutable, so one per session is safe)."""
    return tiny_catalogue_from_seed()


@pytest.fixture(scope="session")
def make_tiny_catalogue() -> Callable[..., Catalogue]:
    """Factory: ``make_tiny_catalogue(num_items=20, dim=8, num_topics=4, seed=0)``."""
    return tiny_catalogue_from_seed


@pytest.fixture(scope="session")
def long_user_model() -> UserModel:
    """Users whose budgets outlast the 100-step time limit for some episodes and not for others."""
    return UserModel(budget_range=(40.0, 250.0))


@contextlib.contextmanager
def _torch_threads(n: int):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def one_torch_thread():
    """Train small networks on one torch thread (faster for them, and fair to a shared machine)."""
    with _torch_threads(1):
        yield


@pytest.fixture(scope="module")
def one_torch_thread_per_module():
    """One torch thread for a whole module (folders whose conftest makes it autouse)."""
    with _torch_threads(1):
        yield


@pytest.fixture(scope="session")
def small_catalogue_args() -> dict:
    return dict(SMALL_CATALOGUE_ARGS)


@pytest.fixture(scope="session")
def small_catalogue_cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture(scope="session")
def small_catalogue(small_catalogue_cache_dir) -> Catalogue:
    """A real synthetic catalogue (60 items, 4 topics) encoded by the default model, cached per session."""
    return Catalogue.synthetic(**SMALL_CATALOGUE_ARGS, cache_dir=small_catalogue_cache_dir)
