"""The board's environment: which AdvRec (``AdvRec-v1`` by default) every entry is trained and scored on, and its seeds.

On ``AdvRec-MovieLens-v1`` (``EnvConfig(movielens=PATH)``, ``advrec leaderboard --movielens PATH``)
training draws from the folder's training users and every evaluation from its held-out users (the
by-user split of :mod:`advrec_gym.movielens_env`), on top of the seed ranges below.

Training and evaluation draw their users from disjoint seed ranges: a vector env reset with seed ``s``
seeds slot ``i`` with ``s + i``, so training seed ``k`` uses slot seeds ``[1000 k, 1000 k + num_envs)``
and evaluation seed ``k`` uses ``[EVAL_SEED_BASE + 1000 k, ...)``; with at most 1,000 slots and seeds
below 1,000,000 the two ranges never meet (checked by :class:`~benchmarks.leaderboard.protocol.BoardConfig`).
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import asdict, dataclass

import gymnasium as gym
import numpy as np

import advrec_gym  # noqa: F401  (registers the AdvRec ids)
from advrec_gym import Catalogue
from advrec_gym._validation import check_choice, check_int

SEED_STRIDE = 1000
EVAL_SEED_BASE = 1_000_000_000
MAX_SEED = 1_000_000


@dataclass(frozen=True)
class EnvConfig:
    """The env setting of a board.

    Attributes:
        env_id: the registered env, one of :data:`agents.training.config.ENV_IDS` (``"AdvRec-v1"``, the default, the
            frozen ``"AdvRec-v0"`` that the committed v0 boards name, or ``"AdvRec-MovieLens-v1"``,
            set by ``movielens``).
        movielens: an ml-100k folder: the board runs on ``AdvRec-MovieLens-v1`` over it, trained on
            its training users and scored on its held-out users; the synthetic catalogue's
            ``num_items``, ``num_topics`` and ``catalogue_seed`` are then unused.
        num_items: items in the synthetic catalogue.
        num_topics: topics in the synthetic catalogue.
        catalogue_seed: seed of the synthetic catalogue.
        random_embedding_dim: ``None`` (default) encodes the catalogue's texts with the language
            model, as ``gym.make(env_id)`` does. An int builds a catalogue of random clustered
            unit embeddings of that size instead, with no model (for tests and smoke runs only).
        max_episode_steps: the time limit (both ids register 100).
    """

    env_id: str = "AdvRec-v1"
    movielens: str | None = None
    num_items: int = 1000
    num_topics: int = 20
    catalogue_seed: int = 0
    random_embedding_dim: int | None = None
    max_episode_steps: int = 100

    def __post_init__(self):
        from agents.training.config import resolve_env_id

        env_id, movielens = resolve_env_id(self.env_id, self.movielens)
        if movielens is not None and self.random_embedding_dim is not None:
            raise ValueError(
                f"movielens={self.movielens!r} encodes the folder's films with the language model; "
                f"random_embedding_dim must be None, got {self.random_embedding_dim}."
            )
        object.__setattr__(self, "movielens", movielens)
        object.__setattr__(self, "env_id", env_id)
        check_int("num_items", self.num_items, low=2)
        check_int("num_topics", self.num_topics, low=1, high=self.num_items)
        check_int("catalogue_seed", self.catalogue_seed, low=0)
        if self.random_embedding_dim is not None:
            check_int("random_embedding_dim", self.random_embedding_dim, low=2)
        check_int("max_episode_steps", self.max_episode_steps, low=1)

    def to_dict(self) -> dict:
        return asdict(self)


def catalogue(env: EnvConfig) -> Catalogue | None:
    """The random-embedding catalogue of ``env``, or ``None`` for the language-model one (built by the env)."""
    if env.random_embedding_dim is None:
        return None
    return _random_catalogue(env.num_items, env.random_embedding_dim, env.num_topics, env.catalogue_seed)


@functools.lru_cache(maxsize=4)
def _random_catalogue(num_items: int, dim: int, num_topics: int, seed: int) -> Catalogue:
    """Items near random topic centres (item ``i`` has topic ``i % num_topics``), popularity ``1 / (1 + i)``."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((num_topics, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    topic = np.arange(num_items) % num_topics
    emb = centres[topic] + 0.35 * rng.standard_normal((num_items, dim)) / np.sqrt(dim)
    return Catalogue.from_embeddings(
        emb, topics=[f"topic {t}" for t in topic], popularity=1.0 / (1.0 + np.arange(num_items))
    )


def make_vec(env: EnvConfig, num_envs: int, split: str = "train") -> gym.vector.VectorEnv:
    """The native vector env (same-step autoreset) for ``env`` with ``num_envs`` slots.

    ``split`` (``"train"`` or ``"test"``) picks a MovieLens folder's training or held-out users; the
    synthetic envs separate training from evaluation by seed instead and ignore it.
    """
    check_choice("split", split, ("train", "test"))
    kwargs: dict = {"max_episode_steps": env.max_episode_steps}
    cat = catalogue(env)
    if env.movielens is not None:
        kwargs.update(path=env.movielens, split=split)
    elif cat is None:
        kwargs.update(num_items=env.num_items, num_topics=env.num_topics, catalogue_seed=env.catalogue_seed)
    else:
        kwargs["catalogue"] = cat
    return gym.make_vec(env.env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)


def train_env_seed(seed: int) -> int:
    """The reset seed of training (and of a learned adversary's training) for training seed ``seed``."""
    return SEED_STRIDE * int(seed)


def eval_env_seed(seed: int) -> int:
    """The reset seed of evaluation seed ``seed`` (disjoint from every training seed's users)."""
    return EVAL_SEED_BASE + SEED_STRIDE * int(seed)


def derive_seed(*parts: int | float | str) -> int:
    """A 32-bit seed from a tuple of ints, floats and names (stable across runs and machines)."""
    words = []
    for p in parts:
        if isinstance(p, str):
            words.append(zlib.crc32(p.encode()))
        elif isinstance(p, float):
            words.append(zlib.crc32(repr(p).encode()))
        else:
            words.append(int(p))
    return int(np.random.SeedSequence(words).generate_state(1)[0])
