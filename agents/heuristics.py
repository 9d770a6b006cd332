"""Training-free recommenders that read only the observation: what RL has to beat on AdvRec-v1.

:class:`NearestNeighbour` scores every item by its embedding's similarity to what the user liked, with
a fatigue penalty for near-repeats of what was just shown (the v0 heuristic that scored at PPO's
level), optionally steering away from what the user regretted and skipped, and away from texts that
read like clickbait (a zero-shot probe: the direction in which the language model moves a text when it
is written as clickbait, from a few generic sentences of no topic, never from the catalogue's labels).
Its weights are chosen by grid search on training users (``benchmarks/v1_dynamics.py``).
"""

from __future__ import annotations

import numpy as np

from advrec_gym import kernel as K
from advrec_gym._validation import check_float
from advrec_gym.catalogue import Catalogue

#: generic sentences for the zero-shot clickbait probe (no topic, no catalogue text)
CLICKBAIT_PROBES = (
    "You won't believe what happened next! The shocking truth everyone is talking about.",
    "This viral video will leave you speechless - click before it gets taken down!",
    "10 jaw-dropping facts that will blow your mind. Number 7 is insane!",
)
NEUTRAL_PROBES = (
    "A careful, well-researched account of the subject.",
    "An informative and balanced introduction to the topic.",
    "A detailed study written with care and accuracy.",
)


def clickbait_direction(encoder) -> np.ndarray:
    """Unit vector from the neutral probes' mean embedding to the clickbait probes' (zero-shot, no labels)."""
    bait = encoder.encode(list(CLICKBAIT_PROBES)).mean(axis=0)
    plain = encoder.encode(list(NEUTRAL_PROBES)).mean(axis=0)
    d = bait - plain
    return (d / np.linalg.norm(d)).astype(np.float32)


#: the heuristics' weights, chosen by grid search on training users (benchmarks/v1_dynamics.py, tuned.json):
#: the plain heuristic's best, and the best of the settings that use the clickbait probe
TUNED = {
    "nearest-neighbour": {"fatigue_weight": 2.0},
    "nn-filter": {"fatigue_weight": 2.0, "skip_weight": 0.5, "probe": True, "clickbait_weight": 0.5},
}


class NearestNeighbour:
    """Greedy: ``<liked - r*regretted - s*skipped, e_i> - f*fatigue_i - c*<e_i, clickbait> + w*log pop_i``.

    Args:
        catalogue: the items (their embeddings as the recommender sees them, and the popularity prior).
        fatigue_weight: ``f``, weight of ``max(0, <shown, e_i> - 0.5) / 0.5`` (the env's fatigue shape).
        regret_weight: ``r``; skip_weight: ``s`` (>= 0).
        clickbait: a unit direction (:func:`clickbait_direction`) and ``clickbait_weight`` ``c``.
        popularity_weight: ``w``, breaks ties (the empty history of a new user) toward popular items.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        fatigue_weight: float = 1.0,
        regret_weight: float = 0.0,
        skip_weight: float = 0.0,
        clickbait: np.ndarray | None = None,
        clickbait_weight: float = 0.0,
        popularity_weight: float = 0.01,
        slate_size: int = 1,
    ):
        self.embeddings = catalogue.embeddings
        self.dim = catalogue.dim
        self.f = check_float("fatigue_weight", fatigue_weight, low=0.0)
        self.r = check_float("regret_weight", regret_weight, low=0.0)
        self.s = check_float("skip_weight", skip_weight, low=0.0)
        self.c = check_float("clickbait_weight", clickbait_weight, low=0.0)
        self.w = check_float("popularity_weight", popularity_weight, low=0.0)
        self.item_prior = self.w * np.log(np.maximum(catalogue.popularity, 1e-12)).astype(np.float32)
        if clickbait is not None and self.c > 0:
            self.item_prior = self.item_prior - self.c * (catalogue.embeddings @ np.asarray(clickbait, np.float32))
        self.slate_size = slate_size

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = True):
        obs = np.asarray(observation, dtype=np.float32)
        single = obs.ndim == 1
        obs = obs[None] if single else obs
        d = self.dim
        blocks = obs[:, : K.NUM_BLOCKS * d].reshape(len(obs), K.NUM_BLOCKS, d)
        query = blocks[:, K.LIKED] - self.r * blocks[:, K.REGRETTED] - self.s * blocks[:, K.SKIPPED]
        scores = query @ self.embeddings.T + self.item_prior
        if self.f:
            scores -= self.f * np.maximum(blocks[:, K.SHOWN] @ self.embeddings.T - 0.5, 0.0) / 0.5
        k = self.slate_size
        if k == 1:
            actions = scores.argmax(axis=1).astype(np.int64)
        else:
            actions = np.argsort(-scores, axis=1)[:, :k].astype(np.int64)
        return (actions[0] if single else actions), state
