"""Helpers shared by the attack tests (imported by name: pytest puts this folder on ``sys.path``)."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

# The tiny catalogue of tests/conftest.py (8-d): observations of size 3 * 8 + 3 = 27.
OBS_DIM, SLICE = 27, slice(0, 24)


class DirectionPolicy:
    """A black-box stand-in for a trained adversary: SB3's predict, seeded random directions
    (deliberately beyond [-1, 1], which the attackers must clip)."""

    def __init__(self, obs_dim: int, act_dim: int, seed: int = 0):
        self.observation_space = spaces.Box(-1.0, 1.0, (obs_dim,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (act_dim,), np.float32)
        self.rng = np.random.default_rng(seed)

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        obs = np.asarray(obs)
        return self.rng.uniform(-2.0, 2.0, (len(obs), self.action_space.shape[0])).astype(np.float32), state


class ConstantPolicy:
    """A non-torch recommender with SB3's predict: always item ``item``."""

    def __init__(self, item: int = 0):
        self.item = item

    def predict(self, obs, state=None, episode_start=None, deterministic=False):
        return np.full(len(np.atleast_2d(obs)), self.item, dtype=np.int64), state


# Small settings per named attack, so that property tests over every attack stay fast.
FAST = {
    "pgd": {"steps": 3},
    "pgd-action": {"steps": 3},
    "pgd-topk": {"steps": 3, "k": 3},
    "pgd-semantic": {"steps": 3},
    "pgd-kl": {"steps": 3},
    "pgd-eot": {"steps": 3},
    "mad": {"steps": 3},
    "critic": {"steps": 3},
    "critic-pgd": {"steps": 2},
    "query": {"queries": 40, "samples": 4},
    "spsa": {"queries": 40, "samples": 4},
    "pa-ad": {"steps": 3},
}
NEEDS_EMBEDDINGS = ("pgd-semantic", "pa-ad", "query", "spsa")


def named_attacker(name, victim, budget, embeddings, *, seed=0, fast=True):
    """The attacker ``name`` of ``make_attacker`` against ``victim``, with stand-in adversaries where it
    needs one (a random-direction policy for 'learned', and for 'pa-ad''s director)."""
    from advrec_gym.attacks import make_attacker

    kwargs = dict(FAST.get(name, {})) if fast else {}
    if name in NEEDS_EMBEDDINGS:
        kwargs["item_embeddings"] = embeddings
    adversary = None
    if name == "learned":
        adversary = DirectionPolicy(OBS_DIM, SLICE.stop, seed=seed)
    elif name == "pa-ad":
        adversary = DirectionPolicy(OBS_DIM, embeddings.shape[1], seed=seed)
    if name != "learned":
        kwargs["seed"] = seed
    return make_attacker(name, victim, budget, adversary=adversary, **kwargs)
