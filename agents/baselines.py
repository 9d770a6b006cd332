"""Reference recommenders: random, popularity, and (by name) the heuristics and the two oracles.

Each has SB3's ``predict(observation, state=None, episode_start=None, deterministic=False)``
signature and works on a batch of observations, so evaluation code treats them like SB3 models.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from advrec_gym.catalogue import Catalogue
from agents.oracles import MyopicOracle, PlanningOracle

#: the planning oracle's value of a unit of budget, chosen by grid search on training users
#: (benchmarks/v1_dynamics.py)
PLANNER_BUDGET_VALUE = 0.1


def _batch_size(observation: np.ndarray) -> tuple[int, bool]:
    obs = np.asarray(observation)
    return (1, True) if obs.ndim == 1 else (obs.shape[0], False)


def _shape(actions: np.ndarray, single: bool, slate_size: int) -> np.ndarray:
    actions = actions if slate_size > 1 else actions[:, 0]
    return actions[0] if single else actions


class RandomPolicy:
    """Uniformly random items (a slate without repeats)."""

    #: attacks may read its scores (advrec_gym.attacks.ScoredPolicy): they ignore the observation
    attack_surface = frozenset({"scores"})

    def __init__(self, num_items: int, slate_size: int = 1, seed: int | None = None):
        self.num_items, self.slate_size = num_items, slate_size
        self.rng = np.random.default_rng(seed)

    def action_scores(self, observation: np.ndarray) -> np.ndarray:
        """Uniform scores (n, num_items): the observation does not enter (an observation attack cannot act)."""
        return np.zeros((_batch_size(observation)[0], self.num_items), dtype=np.float32)

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = False):
        n, single = _batch_size(observation)
        keys = self.rng.random((n, self.num_items))
        actions = np.argpartition(keys, self.slate_size - 1, axis=1)[:, : self.slate_size]
        return _shape(actions.astype(np.int64), single, self.slate_size), state


class PopularityPolicy:
    """Items drawn in proportion to the catalogue's popularity prior (``deterministic``: the top items).

    The deterministic version shows the same few items every step, which fatigue punishes; the
    sampled one is the default baseline.
    """

    attack_surface = frozenset({"scores"})

    def __init__(self, catalogue: Catalogue, slate_size: int = 1, seed: int | None = None):
        self.popularity, self.slate_size = catalogue.popularity, slate_size
        self.log_pop = np.log(np.maximum(catalogue.popularity, 1e-300))
        self.top = np.argsort(-catalogue.popularity)[:slate_size]
        self.rng = np.random.default_rng(seed)

    def action_scores(self, observation: np.ndarray) -> np.ndarray:
        """``log popularity`` (n, num_items), whose softmax is the sampling distribution; the observation does not enter."""
        return np.tile(self.log_pop.astype(np.float32), (_batch_size(observation)[0], 1))

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = False):
        n, single = _batch_size(observation)
        if deterministic:
            actions = np.tile(self.top, (n, 1))
        else:  # Gumbel top-k: k draws without replacement, proportional to popularity
            keys = self.log_pop + self.rng.gumbel(size=(n, len(self.log_pop)))
            actions = np.argpartition(-keys, self.slate_size - 1, axis=1)[:, : self.slate_size]
        return _shape(actions.astype(np.int64), single, self.slate_size), state


#: the myopic oracle, under the name the v0 results use
OraclePolicy = MyopicOracle

BASELINES = ("random", "popularity", "oracle")
#: every reference policy by name, with the note the tables print (ceilings read the hidden state)
REFERENCE_NOTES = {
    "random": "",
    "popularity": "",
    "nearest-neighbour": "training-free: liked history + fatigue",
    "nn-filter": "training-free: + a skip penalty and the zero-shot clickbait probe",
    "oracle": "myopic: maximises the next click, reads the hidden state",
    "planner": "planning oracle: one-step lookahead over the known dynamics, reads the hidden state",
}
REFERENCES = tuple(REFERENCE_NOTES)


def make_baseline(name: str, env, seed: int | None = None):
    """Build a reference policy by name for ``env`` (single or vector AdvRec env).

    ``"random"``, ``"popularity"`` and the myopic ``"oracle"`` work on every AdvRec version; the
    nearest-neighbour heuristics and the planning oracle read AdvRec-v1's observation and dynamics.
    """
    from advrec_gym._validation import check_choice

    check_choice("baseline", name, REFERENCES)
    unwrapped = env.unwrapped
    cat, k = unwrapped.catalogue, unwrapped.engine.slate_size
    if name == "random":
        return RandomPolicy(cat.num_items, k, seed)
    if name == "popularity":
        return PopularityPolicy(cat, k, seed)
    if name == "oracle":
        return MyopicOracle(env)
    if name == "planner":
        return PlanningOracle(env, PLANNER_BUDGET_VALUE)
    from agents.heuristics import TUNED, NearestNeighbour, clickbait_direction

    settings = dict(TUNED[name])
    if settings.pop("probe", False):
        from advrec_gym.encoder import TransformerEncoder

        settings["clickbait"] = clickbait_direction(TransformerEncoder(_encoder_of(cat)))
    return NearestNeighbour(cat, slate_size=k, **settings)


def _encoder_of(catalogue: Catalogue) -> str | None:
    """The model the catalogue was encoded with (``None``: the default), for the zero-shot probe."""
    import json

    if not catalogue.encoder_identity:
        return None
    model = json.loads(catalogue.encoder_identity).get("model")
    from advrec_gym.encoder import DEFAULT_MODEL_NAME

    return None if model in (None, DEFAULT_MODEL_NAME) else model


def action_space_size(space: spaces.Space) -> int:
    return int(space.n) if isinstance(space, spaces.Discrete) else int(space.nvec[0])
